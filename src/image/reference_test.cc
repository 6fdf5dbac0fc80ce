#include "image/reference.h"

#include <gtest/gtest.h>

#include "image/image_fixtures.h"
#include "util/error.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::TempDir;

std::string error_of(const std::string& text, const std::string& base) {
  try {
    parse_image_ref(text, base);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    return e.message();
  }
  return "";
}

TEST(ImageRefTest, PrefixedForms) {
  TempDir dir;
  dir.mkdir("layout");
  ImageRef r = parse_image_ref("oci:layout", dir.path());
  EXPECT_EQ(r.kind, ImageRef::Kind::kOciLayout);
  EXPECT_EQ(r.path, dir / "layout");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.text, "oci:layout");

  r = parse_image_ref("oci:./layout:1.2", dir.path());
  EXPECT_EQ(r.path, dir / "layout");
  EXPECT_EQ(r.tag, "1.2");

  r = parse_image_ref("oci-archive:/x/app.tar:v1", dir.path());
  EXPECT_EQ(r.kind, ImageRef::Kind::kOciArchive);
  EXPECT_EQ(r.path, "/x/app.tar");
  EXPECT_EQ(r.tag, "v1");

  r = parse_image_ref("docker-archive:app.tar:docker.io/foo/bar:1", dir.path());
  EXPECT_EQ(r.kind, ImageRef::Kind::kDockerArchive);
  EXPECT_EQ(r.path, dir / "app.tar");
  EXPECT_EQ(r.tag, "docker.io/foo/bar:1");

  r = parse_image_ref("docker-archive:app.tar:@2", dir.path());
  EXPECT_EQ(r.tag, "@2");
  EXPECT_EQ(parse_image_ref("docker-archive:app.tar", dir.path()).tag, "");
}

TEST(ImageRefTest, APathWithAColonIsFoundByWhatExists) {
  TempDir dir;
  dir.mkdir("a:b");
  ImageRef r = parse_image_ref("oci:a:b", dir.path());
  EXPECT_EQ(r.path, dir / "a:b");
  EXPECT_EQ(r.tag, "");
  r = parse_image_ref("oci:a:b:latest", dir.path());
  EXPECT_EQ(r.path, dir / "a:b");
  EXPECT_EQ(r.tag, "latest");
}

TEST(ImageRefTest, MalformedSuffixes) {
  TempDir dir;
  EXPECT_NE(error_of("oci:layout:", dir.path()).find("empty or malformed tag"), std::string::npos);
  EXPECT_NE(error_of("oci:", dir.path()).find("names no directory"), std::string::npos);
  EXPECT_NE(error_of("docker-archive:x.tar:@x", dir.path()).find("malformed index"),
            std::string::npos);
  EXPECT_NE(error_of("oci:layout:a b", dir.path()).find("malformed"), std::string::npos);
}

TEST(ImageRefTest, PlainPathsByWhatTheyHold) {
  TempDir dir;
  dir.mkdir("layout");
  EXPECT_EQ(parse_image_ref("layout", dir.path()).kind, ImageRef::Kind::kOciLayout);
  EXPECT_EQ(parse_image_ref(dir / "layout", "/").path, dir / "layout");

  using testing::make_tar;
  dir.write("docker.tar", make_tar({{"manifest.json", "[]"}, {"repositories", "{}"}}));
  // Current Docker writes an OCI layout with a manifest.json beside it: a docker-archive.
  dir.write("docker25.tar",
            make_tar({{"oci-layout", "{}"}, {"index.json", "{}"}, {"manifest.json", "[]"}}));
  dir.write("oci.tar", make_tar({{"./oci-layout", "{}"}, {"./index.json", "{}"}}));
  dir.write("other.tar", make_tar({{"hello", "world"}}));
  dir.write("gz.tar.gz", make_tar({{"manifest.json", "[]"}}, "gzip"));
  dir.write("text", "this is not an archive\n");
  EXPECT_EQ(parse_image_ref("docker.tar", dir.path()).kind, ImageRef::Kind::kDockerArchive);
  EXPECT_EQ(parse_image_ref("docker25.tar", dir.path()).kind, ImageRef::Kind::kDockerArchive);
  EXPECT_EQ(parse_image_ref("oci.tar", dir.path()).kind, ImageRef::Kind::kOciArchive);
  EXPECT_EQ(parse_image_ref("gz.tar.gz", dir.path()).kind, ImageRef::Kind::kDockerArchive);
  EXPECT_NE(error_of("other.tar", dir.path()).find("neither a manifest.json nor an oci-layout"),
            std::string::npos);
  EXPECT_NE(error_of("text", dir.path()).find("is not a tar archive"), std::string::npos);
}

TEST(ImageRefTest, RegistryNamesAndMissingPaths) {
  TempDir dir;
  struct Case {
    std::string text, path, tag;
  };
  for (const Case& c : std::vector<Case>{
           {"alpine", "docker.io/library/alpine", "latest"},
           {"alpine:3.19", "docker.io/library/alpine", "3.19"},
           {"docker.io/library/alpine:latest", "docker.io/library/alpine", "latest"},
           {"docker://alpine", "docker.io/library/alpine", "latest"},
           {"docker://localhost:5000/a/b:1", "localhost:5000/a/b", "1"},
           {"ghcr.io/org/app@sha256:" + std::string(64, 'a'), "ghcr.io/org/app",
            "sha256:" + std::string(64, 'a')},
       }) {
    ImageRef ref = parse_image_ref(c.text, dir.path());
    EXPECT_EQ(ref.kind, ImageRef::Kind::kRegistry) << c.text;
    EXPECT_EQ(ref.path, c.path) << c.text;
    EXPECT_EQ(ref.tag, c.tag) << c.text;
    EXPECT_EQ(ref.text, c.text);
  }
  // A name that is a directory here is that directory.
  dir.mkdir("alpine");
  EXPECT_EQ(parse_image_ref("alpine", dir.path()).kind, ImageRef::Kind::kOciLayout);
  // What is neither a path nor a valid name says how to write one.
  std::string bad = error_of("Not A Name", dir.path());
  EXPECT_NE(bad.find("lowercase"), std::string::npos) << bad;
  std::string missing = error_of("./missing", dir.path());
  EXPECT_NE(missing.find(dir / "missing"), std::string::npos) << missing;
  EXPECT_NE(missing.find("No such file or directory"), std::string::npos) << missing;
  EXPECT_NE(error_of("", dir.path()).find("empty"), std::string::npos);
}

TEST(ImageRefTest, NormalizesDockerNames) {
  EXPECT_EQ(normalize_docker_name("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(normalize_docker_name("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(normalize_docker_name("docker.io/library/busybox:1.36"),
            "docker.io/library/busybox:1.36");
  EXPECT_EQ(normalize_docker_name("index.docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(normalize_docker_name("foo/bar:1"), "docker.io/foo/bar:1");
  EXPECT_EQ(normalize_docker_name("docker.io/foo/bar:1"), "docker.io/foo/bar:1");
  EXPECT_EQ(normalize_docker_name("localhost:5000/x"), "localhost:5000/x:latest");
  EXPECT_EQ(normalize_docker_name("localhost/x:2"), "localhost/x:2");
  EXPECT_EQ(normalize_docker_name("quay.io/a/b/c"), "quay.io/a/b/c:latest");
  std::string d = "@sha256:" + std::string(64, 'a');
  EXPECT_EQ(normalize_docker_name("busybox" + d), "docker.io/library/busybox" + d);
}

}  // namespace
}  // namespace execvm
