#include "registry/reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/error.h"

namespace execvm {
namespace {

const std::string kHex(64, 'f');
const std::string kDigest = "sha256:" + kHex;

std::string error_of(std::string_view text) {
  try {
    RegistryRef r = parse_registry_ref(text);
    ADD_FAILURE() << "\"" << text << "\" parsed as " << r.registry << " " << r.name();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure) << text;
    EXPECT_EQ(e.message().find('\n'), std::string::npos) << text;
    return e.message();
  }
  return "";
}

std::string many_a() {
  std::string s;
  for (int i = 0; i < 127; ++i) s += "a/";
  return s + "a";
}

struct Case {
  std::string input, registry, repository, tag, digest;
};

// Transcribed from distribution/reference's TestReferenceParse, TestParseRepositoryInfo and
// TestParseDockerRef, with Docker Hub's domain as the registry it is pulled from.
TEST(RegistryRefTest, DockersValidCases) {
  const std::string hub = "registry-1.docker.io";
  std::vector<Case> cases = {
      {"test_com", hub, "library/test_com", "latest", ""},
      {"test.com:tag", hub, "library/test.com", "tag", ""},
      {"test.com:5000", hub, "library/test.com", "5000", ""},
      {"test.com/repo:tag", "test.com", "repo", "tag", ""},
      {"test:5000/repo", "test:5000", "repo", "latest", ""},
      {"test:5000/repo:tag", "test:5000", "repo", "tag", ""},
      {"test:5000/repo@" + kDigest, "test:5000", "repo", "", kDigest},
      {"test:5000/repo:tag@" + kDigest, "test:5000", "repo", "tag", kDigest},
      {"lowercase:Uppercase", hub, "library/lowercase", "Uppercase", ""},
      // 127 "a/" and an "a": a 255-character path, at the limit.
      {many_a() + ":tag-puts-this-over-max", hub, many_a(), "tag-puts-this-over-max", ""},
      {"sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", "latest", ""},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux",
       "some-long-tag", ""},
      {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
       "test.example.com", ""},
      {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", ""},
      {"xn--7o8h.com/myimage:xn--7o8h.com@" + kDigest, "xn--7o8h.com", "myimage", "xn--7o8h.com",
       kDigest},
      {"foo_bar.com:8080", hub, "library/foo_bar.com", "8080", ""},
      {"foo/foo_bar.com:8080", hub, "foo/foo_bar.com", "8080", ""},
      {"192.168.1.1", hub, "library/192.168.1.1", "latest", ""},
      {"192.168.1.1:5000", hub, "library/192.168.1.1", "5000", ""},
      {"192.168.1.1/repo", "192.168.1.1", "repo", "latest", ""},
      {"192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", "latest", ""},
      {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", ""},
      {"[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest", ""},
      {"[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", ""},
      {"[2001:db8::1]:5000/repo@" + kDigest, "[2001:db8::1]:5000", "repo", "", kDigest},
      {"[::1]:5000/repo", "[::1]:5000", "repo", "latest", ""},
      {"example.com/" + std::string(255, 'a') + ":tag", "example.com", std::string(255, 'a'), "tag",
       ""},
      // TestValidateReferenceName / TestValidateRemoteName
      {"docker/docker", hub, "docker/docker", "latest", ""},
      {"localhost/library/debian", "localhost", "library/debian", "latest", ""},
      {"localhost/debian", "localhost", "debian", "latest", ""},
      {"LOCALDOMAIN/debian", "localdomain", "debian", "latest", ""},
      {"Docker/docker", "docker", "docker", "latest", ""},
      {"docker.io/debian", hub, "library/debian", "latest", ""},
      {"index.docker.io/docker/docker", hub, "docker/docker", "latest", ""},
      {"index.docker.io/debian", hub, "library/debian", "latest", ""},
      {"127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", "latest", ""},
      {"127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "latest", ""},
      {"[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian",
       "latest", ""},
      {"docker.io/" + std::string(64, 'a'), hub, "library/" + std::string(64, 'a'), "latest", ""},
      {"docker-rules/docker", hub, "docker-rules/docker", "latest", ""},
      {"docker---rules/docker", hub, "docker---rules/docker", "latest", ""},
      {"d/docker", hub, "d/docker", "latest", ""},
      {"jess/t", hub, "jess/t", "latest", ""},
      {"dock__er/docker", hub, "dock__er/docker", "latest", ""},
      {"library/foo/bar", hub, "library/foo/bar", "latest", ""},
      {"other/library", hub, "other/library", "latest", ""},
      // TestParseDockerRef
      {"busybox", hub, "library/busybox", "latest", ""},
      {"busybox:latest", hub, "library/busybox", "latest", ""},
      {"library/busybox", hub, "library/busybox", "latest", ""},
      {"docker.io/library/busybox:latest", hub, "library/busybox", "latest", ""},
      {"gcr.io/library/busybox", "gcr.io", "library/busybox", "latest", ""},
      {"gcr.io/library/busybox:latest@" + kDigest, "gcr.io", "library/busybox", "latest", kDigest},
      // Ports, hosts written in capitals, sha512.
      {"localhost:5000/app", "localhost:5000", "app", "latest", ""},
      {"Registry.Example:5000/team/app", "registry.example:5000", "team/app", "latest", ""},
      {"quay.io/org/tool:3", "quay.io", "org/tool", "3", ""},
      {"alpine@sha512:" + std::string(128, '0'), hub, "library/alpine", "",
       "sha512:" + std::string(128, '0')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    RegistryRef r;
    ASSERT_NO_THROW(r = parse_registry_ref(c.input));
    EXPECT_EQ(r.registry, c.registry);
    EXPECT_EQ(r.repository, c.repository);
    EXPECT_EQ(r.tag, c.tag);
    EXPECT_EQ(r.digest, c.digest);
    EXPECT_EQ(r.text, c.input);
  }
}

TEST(RegistryRefTest, DockersInvalidCases) {
  std::vector<std::string> invalid = {
      "",
      ":justtag",
      "@" + kDigest,
      "repo@sha256:ffffffffffffffffffffffffffffffffff",
      "validname@invaliddigest:" + kHex,
      "Uppercase:tag",
      "test:5000/Uppercase/lowercase:tag",
      "domain/" + std::string(256, 'a') + ":tag",
      "aa/asdf$$^/aa",
      "[2001:db8::1]",
      "[2001:db8::1]:5000",
      "[2001:db8::1]:tag",
      "[fe80::1%eth0]:5000/repo",
      "[fe80::1%@invalidzone]:5000/repo",
      "https://github.com/docker/docker",
      "docker/Docker",
      "-docker",
      "-docker/docker",
      "-docker.io/docker/docker",
      "docker///docker",
      "docker.io/docker/Docker",
      "docker.io/docker///docker",
      "[fc00::1]",
      "[fc00::1]:5000",
      "fc00::1:5000/debian",
      "[2001:db8:3:4::192.0.2.33]:5000/debian",
      "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
      "docker-/docker",
      "-docker-/docker",
      "____/____",
      "_docker/_docker",
      "dock..er/docker",
      "dock_.er/docker",
      "dock-.er/docker",
      "docker/",
      std::string(256, 'a') + "/docker",
      // Beyond docker's tables.
      "alpine:",
      "alpine:-x",
      "alpine:.x",
      "alpine:" + std::string(129, 't'),
      "localhost:/app",
      "localhost:50a0/app",
      "alpine@",
      "alpine@sha256:" + std::string(64, 'F'),
      "alpine@sha256:" + kHex + ":x",
      "bad..host.com/app",
      "host.com//app",
      "alpine foo",
  };
  for (const std::string& text : invalid) {
    SCOPED_TRACE(text);
    EXPECT_NE(error_of(text), "");
  }
}

TEST(RegistryRefTest, ErrorsSayWhatIsWrong) {
  EXPECT_NE(error_of("Alpine").find("uppercase letters in its repository name \"library/Alpine\""),
            std::string::npos)
      << error_of("Alpine");
  EXPECT_NE(error_of("ghcr.io/Org/app").find("uppercase"), std::string::npos);
  EXPECT_NE(error_of("alpine:-x").find("malformed tag \"-x\""), std::string::npos);
  EXPECT_NE(error_of("alpine@sha256:abc").find("malformed digest"), std::string::npos);
  EXPECT_NE(error_of("alpine@md5:" + kHex).find("unsupported algorithm"), std::string::npos);
  EXPECT_NE(error_of("-x.io/app").find("registry host \"-x.io\""), std::string::npos);
  EXPECT_NE(error_of(std::string(64, 'a')).find("image ID"), std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("a/" + std::string(300, 'b')).find("longer than 255"), std::string::npos);
  // Every message tells what to write.
  EXPECT_NE(error_of("a b").find("write [HOST[:PORT]/]NAME[:TAG][@DIGEST]"), std::string::npos);
}

TEST(RegistryRefTest, NameIsDockersFullForm) {
  EXPECT_EQ(parse_registry_ref("alpine").name(), "docker.io/library/alpine:latest");
  EXPECT_EQ(parse_registry_ref("index.docker.io/foo/bar:1").name(), "docker.io/foo/bar:1");
  EXPECT_EQ(parse_registry_ref("busybox@" + kDigest).name(),
            "docker.io/library/busybox@" + kDigest);
  EXPECT_EQ(parse_registry_ref("ghcr.io/org/app:1.2@" + kDigest).name(),
            "ghcr.io/org/app:1.2@" + kDigest);
  EXPECT_EQ(parse_registry_ref("LOCALHOST:5000/x").name(), "localhost:5000/x:latest");
  EXPECT_EQ(parse_registry_ref("localhost/fooo/bar").name(), "localhost/fooo/bar:latest");
  EXPECT_EQ(parse_registry_ref("127.0.0.1:8000/private/moonbase").name(),
            "127.0.0.1:8000/private/moonbase:latest");
  EXPECT_TRUE(parse_registry_ref("docker.io/alpine").docker_hub());
  EXPECT_FALSE(parse_registry_ref("localhost/alpine").docker_hub());
  EXPECT_EQ(parse_registry_ref("alpine").domain(), "docker.io");
}

TEST(RegistryRefTest, FamiliarAndFullFormsAgree) {
  // TestParseRepositoryInfo: the familiar, full and ambiguous spellings name one image.
  std::vector<std::vector<std::string>> same = {
      {"fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar"},
      {"ubuntu", "docker.io/library/ubuntu", "library/ubuntu"},
      {"ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base",
       "index.docker.io/library/ubuntu-12.04-base"},
      {"foo", "docker.io/library/foo", "docker.io/foo"},
  };
  for (const auto& forms : same) {
    std::string expected = parse_registry_ref(forms[0]).name();
    for (const std::string& f : forms) EXPECT_EQ(parse_registry_ref(f).name(), expected) << f;
  }
}

}  // namespace
}  // namespace execvm
