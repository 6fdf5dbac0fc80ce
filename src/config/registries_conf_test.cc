#include "config/registries_conf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/testing.h"

namespace execvm {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::vector<RegistryEndpoint> endpoints(const std::string& toml, const std::string& name) {
  TempDir dir;
  RegistriesConf conf = load_registries_conf({dir.write("registries.conf", toml)});
  return registry_endpoints(conf, parse_registry_ref(name));
}

std::vector<std::string> shown(const std::vector<RegistryEndpoint>& list) {
  std::vector<std::string> out;
  for (const auto& e : list)
    out.push_back(e.registry + "/" + e.repository + (e.insecure ? " insecure" : "") +
                  (e.mirror ? " mirror" : ""));
  return out;
}

TEST(RegistriesConf, WithoutAnEntryTheRegistryItself) {
  EXPECT_EQ(shown(endpoints("", "alpine")),
            std::vector<std::string>{"registry-1.docker.io/library/alpine"});
  EXPECT_EQ(shown(endpoints("", "localhost:5000/a/b:1")),
            std::vector<std::string>{"localhost:5000/a/b"});
}

TEST(RegistriesConf, MirrorsFirstThenTheRegistry) {
  std::string toml = R"(
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.example:5000/hub"
insecure = true
[[registry.mirror]]
location = "other.example"
)";
  EXPECT_EQ(shown(endpoints(toml, "alpine:3")),
            (std::vector<std::string>{"mirror.example:5000/hub/library/alpine insecure mirror",
                                      "other.example/library/alpine mirror",
                                      "registry-1.docker.io/library/alpine"}));
  EXPECT_EQ(shown(endpoints(toml, "index.docker.io/org/app")).back(),
            "registry-1.docker.io/org/app");
}

TEST(RegistriesConf, APrefixIsRewrittenToItsLocationAndTheLongestWins) {
  std::string toml = R"(
[[registry]]
prefix = "example.com/foo"
location = "internal.example/bar"
insecure = true
[[registry]]
location = "example.com"
)";
  EXPECT_EQ(shown(endpoints(toml, "example.com/foo/app:1")),
            std::vector<std::string>{"internal.example/bar/app insecure"});
  EXPECT_EQ(shown(endpoints(toml, "example.com/foobar/app")),
            std::vector<std::string>{"example.com/foobar/app"});
  EXPECT_EQ(shown(endpoints(toml, "example.com/foo")),
            std::vector<std::string>{"internal.example/bar insecure"});
}

TEST(RegistriesConf, WildcardsDigestOnlyMirrorsAndBlockedRegistries) {
  std::string toml = R"(
[[registry]]
prefix = "*.corp.example"
insecure = true
[[registry]]
location = "quay.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "cache.example"
[[registry]]
location = "evil.example"
blocked = true
)";
  EXPECT_EQ(shown(endpoints(toml, "reg.corp.example/team/x")),
            std::vector<std::string>{"reg.corp.example/team/x insecure"});
  EXPECT_EQ(shown(endpoints(toml, "quay.io/org/tool:3")),
            std::vector<std::string>{"quay.io/org/tool"});
  EXPECT_EQ(shown(endpoints(toml, "quay.io/org/tool@sha256:" + std::string(64, 'a'))),
            (std::vector<std::string>{"cache.example/org/tool mirror", "quay.io/org/tool"}));
  try {
    endpoints(toml, "evil.example/x");
    FAIL() << "a blocked registry was allowed";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("the registry evil.example is blocked in"));
  }
}

TEST(RegistriesConf, VersionOneLists) {
  std::string toml = R"(
[registries.insecure]
registries = ["localhost:5000"]
[registries.block]
registries = ["blocked.example"]
)";
  EXPECT_EQ(shown(endpoints(toml, "localhost:5000/app")),
            std::vector<std::string>{"localhost:5000/app insecure"});
  EXPECT_THROW(endpoints(toml, "blocked.example/app"), Error);
}

TEST(RegistriesConf, ADropInReplacesAnEntryOfTheSamePrefix) {
  TempDir dir;
  std::string a = dir.write("a.conf", "[[registry]]\nlocation = \"r.example\"\ninsecure = true\n");
  std::string b = dir.write("b.conf", "[[registry]]\nlocation = \"r.example\"\n");
  RegistriesConf conf = load_registries_conf({a, b, dir.path() + "/missing.conf"});
  ASSERT_EQ(conf.registries.size(), 1u);
  EXPECT_FALSE(conf.registries[0].insecure);
}

TEST(RegistriesConf, BadFilesNameTheFileAndTheLine) {
  TempDir dir;
  for (const auto& [toml, expected] : std::vector<std::pair<std::string, std::string>>{
           {"[[registry]]\nlocation = 5\n", "bad.conf:2: \"location\" must be a string"},
           {"[[registry]]\ninsecure = \"yes\"\nlocation = \"x\"\n",
            "bad.conf:2: \"insecure\" must be true or false"},
           {"[[registry]]\nblocked = true\n", "needs a \"location\" or a \"prefix\""},
           {"registry = 3\n", "\"registry\" must be a list of tables"},
           {"[[registry]\n", "bad.conf:1"},
       }) {
    std::string file = dir.write("bad.conf", toml);
    try {
      load_registries_conf({file});
      ADD_FAILURE() << "accepted: " << toml;
    } catch (const Error& e) {
      EXPECT_THAT(e.message(), HasSubstr(expected)) << toml;
    }
  }
}

TEST(RegistriesConf, TheEnvironmentNamesTheOnlyFile) {
  setenv("CONTAINERS_REGISTRIES_CONF", "/some/where.conf", 1);
  EXPECT_EQ(default_registries_conf_files(), std::vector<std::string>{"/some/where.conf"});
  unsetenv("CONTAINERS_REGISTRIES_CONF");
  std::vector<std::string> files = default_registries_conf_files();
  ASSERT_FALSE(files.empty());
  EXPECT_THAT(files[0], HasSubstr("registries.conf"));
}

}  // namespace
}  // namespace execvm
