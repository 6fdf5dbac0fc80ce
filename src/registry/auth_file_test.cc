#include "registry/auth_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/strings.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::TempDir;

std::string auth(const std::string& user, const std::string& password) {
  return base64_encode(user + ":" + password);
}

// {"auths": {KEY: {"auth": base64(USER:pw)}}}
std::string auths_file(const std::vector<std::pair<std::string, std::string>>& key_user) {
  std::string out = "{\"auths\": {";
  for (size_t i = 0; i < key_user.size(); ++i)
    out += (i ? "," : "") + std::string("\"") + key_user[i].first + "\": {\"auth\": \"" +
           auth(key_user[i].second, "pw-" + key_user[i].second) + "\"}";
  return out + "}}";
}

std::string user_for(const std::string& image, const std::vector<std::string>& files) {
  auto c = find_credentials(parse_registry_ref(image), files);
  return c ? c->username : "(none)";
}

std::string error_of(const std::string& image, const std::vector<std::string>& files) {
  try {
    find_credentials(parse_registry_ref(image), files);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    return e.message();
  }
  return "";
}

TEST(AuthFileTest, EveryKeyForm) {
  TempDir dir;
  struct Case {
    std::string key, image;
  } cases[] = {
      {"ghcr.io", "ghcr.io/org/app"},
      {"GHCR.io", "ghcr.io/org/app"},
      {"localhost:5000", "localhost:5000/app"},
      {"https://registry.example", "registry.example/team/app"},
      {"http://registry.example/v1/", "registry.example/team/app"},
      {"https://registry.example:5000/v2/", "registry.example:5000/team/app"},
      {"https://index.docker.io/v1/", "alpine"},
      {"index.docker.io", "alpine"},
      {"docker.io", "library/alpine"},
      {"registry-1.docker.io", "docker.io/foo/bar"},
      {"quay.io/org", "quay.io/org/tool:3"},
      {"quay.io/org/tool", "quay.io/org/tool@sha256:" + std::string(64, 'a')},
      {"docker.io/library/alpine", "alpine"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key + " for " + c.image);
    std::string f = dir.write("config.json", auths_file({{c.key, "u"}}));
    auto got = find_credentials(parse_registry_ref(c.image), {f});
    ASSERT_TRUE(got);
    EXPECT_EQ(got->username, "u");
    EXPECT_EQ(got->password, "pw-u");
    EXPECT_EQ(got->helper, "");
    EXPECT_EQ(got->source, f + " (auths \"" + c.key + "\")");
  }
}

TEST(AuthFileTest, KeysOfOtherRegistriesDoNotMatch) {
  TempDir dir;
  for (std::pair<std::string, std::string> c : {
           std::pair<std::string, std::string>{"ghcr.io", "ghcr.io.evil.example/app"},
           {"localhost:5000", "localhost:5001/app"},
           {"localhost:5000", "localhost/app"},
           {"localhost", "localhost:5000/app"},
           {"https://index.docker.io/v1/", "ghcr.io/org/app"},
           {"docker.io", "quay.io/library/alpine"},
           {"quay.io/org", "quay.io/organization/tool"},
           {"quay.io/org/tool", "quay.io/org/tool2"},
           {"quay.io/org/tool/sub", "quay.io/org/tool"},
           {"ghcr.io", "localhost/ghcr.io"},
       }) {
    SCOPED_TRACE(c.first + " for " + c.second);
    std::string f = dir.write("config.json", auths_file({{c.first, "u"}}));
    EXPECT_EQ(user_for(c.second, {f}), "(none)");
  }
}

TEST(AuthFileTest, MostSpecificKeyWins) {
  TempDir dir;
  std::string f = dir.write("auth.json", auths_file({{"https://quay.io", "scheme"},
                                                     {"quay.io", "host"},
                                                     {"quay.io/org", "namespace"},
                                                     {"quay.io/org/tool", "repo"}}));
  EXPECT_EQ(user_for("quay.io/org/tool", {f}), "repo");
  EXPECT_EQ(user_for("quay.io/org/tool/sub", {f}), "repo");
  EXPECT_EQ(user_for("quay.io/org/other", {f}), "namespace");
  EXPECT_EQ(user_for("quay.io/else/x", {f}), "host");
  f = dir.write("auth.json",
                auths_file({{"https://index.docker.io/v1/", "legacy"}, {"docker.io", "host"}}));
  EXPECT_EQ(user_for("alpine", {f}), "host");
  f = dir.write("auth.json", auths_file({{"https://index.docker.io/v1/", "legacy"}}));
  EXPECT_EQ(user_for("alpine", {f}), "legacy");
}

TEST(AuthFileTest, FieldsOfAnEntry) {
  TempDir dir;
  std::string f = dir.write("a.json", R"({"auths": {
      "one.example": {"username": "alice", "password": "s3cret:with:colons"},
      "two.example": {"auth": ")" + auth("bob", "p:w") +
                                          R"(", "identitytoken": "refresh-tok"},
      "three.example": {"identitytoken": "only-token"},
      "four.example": {}}})");
  auto one = find_credentials(parse_registry_ref("one.example/x"), {f});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->username, "alice");
  EXPECT_EQ(one->password, "s3cret:with:colons");
  auto two = find_credentials(parse_registry_ref("two.example/x"), {f});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->username, "bob");
  EXPECT_EQ(two->password, "p:w");
  EXPECT_EQ(two->identity_token, "refresh-tok");
  auto three = find_credentials(parse_registry_ref("three.example/x"), {f});
  ASSERT_TRUE(three);
  EXPECT_EQ(three->identity_token, "only-token");
  EXPECT_EQ(three->username, "");
  // An empty entry gives nothing.
  EXPECT_FALSE(find_credentials(parse_registry_ref("four.example/x"), {f}));
}

TEST(AuthFileTest, PrecedenceAcrossFiles) {
  TempDir dir;
  std::string registry_auth = dir.write("registry-auth.json", auths_file({{"ghcr.io", "first"}}));
  dir.mkdir("containers");
  std::string containers = dir.write(
      "containers/auth.json", auths_file({{"ghcr.io", "second"}, {"localhost:5000", "second"}}));
  std::string docker =
      dir.write("config.json", auths_file({{"ghcr.io", "third"},
                                           {"localhost:5000", "third"},
                                           {"https://index.docker.io/v1/", "third"}}));
  std::vector<std::string> files = {registry_auth, containers, docker};
  EXPECT_EQ(user_for("ghcr.io/a/b", files), "first");
  EXPECT_EQ(user_for("localhost:5000/app", files), "second");
  EXPECT_EQ(user_for("alpine", files), "third");
  EXPECT_EQ(user_for("quay.io/a/b", files), "(none)");
  // A missing file is skipped.
  EXPECT_EQ(user_for("ghcr.io/a/b", {dir / "missing.json", docker}), "third");
  EXPECT_FALSE(find_credentials(parse_registry_ref("alpine"), {}));
  auto c = find_credentials(parse_registry_ref("localhost:5000/app"), files);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->source, containers + " (auths \"localhost:5000\")");
}

TEST(AuthFileTest, Helpers) {
  TempDir dir;
  std::string f = dir.write("config.json", R"({
      "auths": {"ghcr.io": {"auth": ")" + auth("u", "p") +
                                               R"("},
                "https://index.docker.io/v1/": {}},
      "credHelpers": {"gcr.io": "gcloud", "https://index.docker.io/v1/": "hub"},
      "credsStore": "desktop"})");
  auto gcr = find_credentials(parse_registry_ref("gcr.io/proj/img"), {f});
  ASSERT_TRUE(gcr);
  EXPECT_EQ(gcr->helper, "gcloud");
  EXPECT_EQ(gcr->username, "");
  EXPECT_EQ(gcr->source, f + " (credHelpers \"gcr.io\")");
  auto hub = find_credentials(parse_registry_ref("alpine"), {f});
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->helper, "hub");
  // credsStore holds the credentials of every other registry (Docker's rule), its auths entries
  // included.
  auto ghcr = find_credentials(parse_registry_ref("ghcr.io/org/app"), {f});
  ASSERT_TRUE(ghcr);
  EXPECT_EQ(ghcr->helper, "desktop");
  EXPECT_EQ(ghcr->source, f + " (credsStore)");
  // Without a credsStore the auths entry is read; an empty helper name is none.
  f = dir.write("config.json", R"({"auths": {"ghcr.io": {"auth": ")" + auth("u", "p") +
                                   R"("}}, "credHelpers": {"ghcr.io": ""}, "credsStore": ""})");
  EXPECT_EQ(user_for("ghcr.io/org/app", {f}), "u");
}

TEST(AuthFileTest, MalformedFilesAreOneClearError) {
  TempDir dir;
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"{\"auths\": {", "is not valid JSON"},
      {"[]", "has its top level that is not an object"},
      {R"({"auths": []})", "has auths that is not an object"},
      {R"({"auths": {"ghcr.io": "x"}})", "has auths.\"ghcr.io\" that is not an object"},
      {R"({"auths": {"ghcr.io": {"auth": 5}}})", "has auths.\"ghcr.io\".auth that is not a string"},
      {R"({"auths": {"ghcr.io": {"auth": "not base64!"}}})",
       "auths.\"ghcr.io\".auth that is not base64 of \"user:password\""},
      {R"({"auths": {"ghcr.io": {"auth": ")" + base64_encode("nocolon") + R"("}}})",
       "auths.\"ghcr.io\".auth that is not base64"},
      {R"({"auths": {"ghcr.io": {"username": ["u"]}}})", "auths.\"ghcr.io\".username"},
      {R"({"credHelpers": {"ghcr.io": 1}})", "has credHelpers.\"ghcr.io\" that is not a string"},
      {R"({"credHelpers": "x"})", "has credHelpers that is not an object"},
      {R"({"credsStore": {}})", "has credsStore that is not a string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    std::string f = dir.write("config.json", c.text);
    std::string message = error_of("ghcr.io/org/app", {f});
    EXPECT_NE(message.find("the auth file " + f + " "), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // An empty file is an empty configuration, as podman reads it.
  std::string empty = dir.write("empty.json", "\n");
  EXPECT_EQ(user_for("ghcr.io/org/app", {empty}), "(none)");
  // A file that cannot be read is an error, not skipped.
  std::string unreadable = dir.mkdir("a-directory");
  EXPECT_NE(error_of("ghcr.io/org/app", {unreadable}).find(unreadable), std::string::npos);
}

TEST(AuthFileTest, DefaultFiles) {
  struct Env {
    const char* name;
    std::string saved;
    bool was_set;
  };
  std::vector<Env> env;
  for (const char* name : {"REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG", "HOME"}) {
    const char* v = getenv(name);
    env.push_back({name, v ? v : "", v != nullptr});
  }
  setenv("REGISTRY_AUTH_FILE", "/a/auth.json", 1);
  setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
  unsetenv("DOCKER_CONFIG");
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_auth_files(),
            (std::vector<std::string>{"/a/auth.json", "/run/user/7/containers/auth.json",
                                      "/home/u/.docker/config.json"}));
  unsetenv("REGISTRY_AUTH_FILE");
  setenv("XDG_RUNTIME_DIR", "", 1);
  setenv("DOCKER_CONFIG", "/etc/dockercfg", 1);
  EXPECT_EQ(default_auth_files(), (std::vector<std::string>{"/etc/dockercfg/config.json"}));
  for (const Env& e : env) {
    if (e.was_set)
      setenv(e.name, e.saved.c_str(), 1);
    else
      unsetenv(e.name);
  }
}

}  // namespace
}  // namespace execvm
