#include "registry/pull.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <set>

#include "image/blob_store.h"
#include "image/image_fixtures.h"
#include "registry/http_testing.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/testing.h"

namespace execvm {
namespace {

using ::testing::HasSubstr;
using testing::layer_tar;
using testing::Layout;
using testing::TempDir;

// A registry of one repository, "team/app", serving the images of a layout in memory over the
// distribution API, with the faults and the authentication a test asks for.
class FakeRegistry {
 public:
  FakeRegistry() : server_([this](const std::string& r) { return answer(r); }) {}

  Layout layout;
  std::map<std::string, nlohmann::json> tags;  // tag -> descriptor

  // Faults and rules, set before a pull.
  std::string bearer;               // a token required ("" : none asked for)
  std::string token_credentials;    // "user:password" the token server requires ("" : anonymous)
  std::string drop_blob;            // a blob's digest whose first answer stops half-way
  std::string whole_on_range;       // a blob whose Range requests get the whole blob (200)
  std::string fail_once_blob;       // a blob whose first request gets a 503
  std::string corrupt_blob;         // a blob served with one byte changed
  bool rate_limited = false;        // manifests get a 429
  std::string wrong_digest_header;  // tag manifests carry this Docker-Content-Digest

  std::string host() const { return server_.host(); }
  std::string name(const std::string& tag) const { return host() + "/team/app:" + tag; }
  std::vector<std::string> requests() { return server_.requests(); }
  // How many GETs asked for blob DIGEST (or any blob, when empty).
  size_t blob_gets(const std::string& digest = "") {
    size_t n = 0;
    for (const auto& r : requests())
      if (r.starts_with("GET /v2/team/app/blobs/" + digest)) ++n;
    return n;
  }
  // Adds a tag for an image of LAYERS (file maps), returning the manifest's descriptor.
  nlohmann::json add(const std::string& tag,
                     const std::vector<std::map<std::string, std::string>>& layers,
                     const std::string& architecture = "amd64") {
    std::vector<Layout::Layer> ls;
    for (const auto& files : layers) ls.push_back({layer_tar(files), "gzip"});
    nlohmann::json d = layout.add_image(ls, {{"Cmd", {"/bin/app"}}}, architecture);
    d["platform"] = {{"os", "linux"}, {"architecture", architecture}};
    if (!tag.empty()) tags[tag] = d;
    return d;
  }

 private:
  std::string blob_of(const std::string& digest) {
    auto it = layout.files().find("blobs/sha256/" + digest.substr(7));
    return it == layout.files().end() ? "" : it->second;
  }

  std::string answer(const std::string& request) {
    auto reply = TestServer::reply;
    std::string path = TestServer::path_of(request);
    if (path.starts_with("/token")) {
      if (!token_credentials.empty() &&
          request.find("Authorization: Basic " + base64_encode(token_credentials)) ==
              std::string::npos)
        return reply("401 Unauthorized", "", R"({"errors":[{"code":"UNAUTHORIZED"}]})");
      if (path.find("scope=repository%3Ateam%2Fapp%3Apull") == std::string::npos)
        return reply("400 Bad Request", "", "no scope");
      return reply("200 OK", "Content-Type: application/json\r\n",
                   R"({"token":")" + bearer + R"("})");
    }
    if (!bearer.empty() && request.find("Authorization: Bearer " + bearer) == std::string::npos)
      return reply("401 Unauthorized",
                   "WWW-Authenticate: Bearer realm=\"http://" + host() +
                       "/token\",service=\"test\",scope=\"repository:team/app:pull\"\r\n",
                   R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
    const std::string manifests = "/v2/team/app/manifests/", blobs = "/v2/team/app/blobs/";
    if (path.starts_with(manifests)) {
      if (rate_limited)
        return reply(
            "429 Too Many Requests",
            "RateLimit-Limit: 100;w=21600\r\nRateLimit-Remaining: 0\r\nRetry-After: 30\r\n",
            R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})");
      std::string ref = path.substr(manifests.size());
      nlohmann::json d;
      std::string digest_header;
      if (tags.count(ref)) {
        d = tags[ref];
        digest_header = wrong_digest_header;
      } else if (!blob_of(ref).empty()) {
        d = {{"digest", ref},
             {"mediaType", nlohmann::json::parse(blob_of(ref)).value("mediaType", "")}};
      } else {
        return reply("404 Not Found", "",
                     R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
      }
      std::string digest = d["digest"];
      if (digest_header.empty()) digest_header = digest;
      return reply("200 OK",
                   "Content-Type: " + d["mediaType"].get<std::string>() +
                       "\r\nDocker-Content-Digest: " + digest_header + "\r\n",
                   blob_of(digest));
    }
    if (path.starts_with(blobs)) {
      std::string digest = path.substr(blobs.size());
      std::string data = blob_of(digest);
      if (data.empty())
        return reply("404 Not Found", "", R"({"errors":[{"code":"BLOB_UNKNOWN"}]})");
      if (digest == fail_once_blob) {
        fail_once_blob.clear();
        return reply("503 Service Unavailable", "", "busy");
      }
      if (digest == corrupt_blob) data[data.size() / 2] ^= 1;
      if (digest == drop_blob) {
        drop_blob.clear();
        // All of its headers, half of its body, and the connection closed.
        return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(data.size()) +
               "\r\nConnection: close\r\n\r\n" + data.substr(0, data.size() / 2);
      }
      auto range = request.find("\r\nRange: bytes=");
      if (range != std::string::npos && digest != whole_on_range) {
        size_t from = std::stoul(request.substr(range + 15));
        return reply("206 Partial Content", "", data.substr(from));
      }
      return reply("200 OK", "", data);
    }
    return reply("404 Not Found", "", "");
  }

  TestServer server_;
};

class PullTest : public ::testing::Test {
 protected:
  PullOptions options() {
    PullOptions o;
    o.registry.tls_verify = false;  // the fake registry speaks plain HTTP
    o.registry.backoff_ms = 1;
    o.registry.auth_file = dir.path() + "/no-auth.json";
    o.registry.note = [this](const std::string& n) { notes.push_back(n); };
    o.quiet = true;
    o.registries_conf_files = {dir.path() + "/no-registries.conf"};
    return o;
  }
  Image pull(const std::string& name, const PullOptions& o, PullStats* stats = nullptr) {
    return pull_image(parse_registry_ref(name), name, images(), o, stats);
  }
  std::string pull_error(const std::string& name, const PullOptions& o) {
    try {
      pull(name, o);
    } catch (const Error& e) {
      return e.message();
    }
    return "no error";
  }
  std::string images() const { return dir.path() + "/images"; }
  // Files of the blob store whose names start with '.': temporary ones left behind.
  std::vector<std::string> temporaries() const {
    std::vector<std::string> out;
    for (const auto& name : directory_names(images() + "/blobs/sha256"))
      if (name.starts_with(".")) out.push_back(name);
    return out;
  }

  TempDir dir;
  FakeRegistry registry;
  std::vector<std::string> notes;
};

TEST_F(PullTest, PullsATagAndUsesTheCacheAfterwards) {
  registry.add("1.0", {{{"bin/app", "v1"}}, {{"etc/conf", "x"}}});
  PullStats stats;
  Image image = pull(registry.name("1.0"), options(), &stats);
  EXPECT_TRUE(stats.asked_registry);
  EXPECT_EQ(stats.layers_fetched, 2u);
  EXPECT_EQ(image.source, "registry");
  EXPECT_EQ(image.location, registry.host() + "/team/app");
  EXPECT_EQ(image.tag, "1.0");
  EXPECT_EQ(image.config.cmd, std::vector<std::string>{"/bin/app"});
  ASSERT_EQ(image.layers.size(), 2u);
  for (const auto& l : image.layers) {
    EXPECT_TRUE(is_regular_file(l.path)) << l.path;
    EXPECT_TRUE(l.verified);
  }
  // Missing: the cache has it all, the registry is not asked.
  size_t asked = registry.requests().size();
  pull(registry.name("1.0"), options(), &stats);
  EXPECT_FALSE(stats.asked_registry);
  EXPECT_EQ(registry.requests().size(), asked);
  // Always: the tag's manifest again, no blob.
  PullOptions always = options();
  always.policy = PullPolicy::kAlways;
  size_t blobs = registry.blob_gets();
  pull(registry.name("1.0"), always, &stats);
  EXPECT_TRUE(stats.asked_registry);
  EXPECT_EQ(stats.layers_cached, 2u);
  EXPECT_EQ(registry.blob_gets(), blobs);
  // Never, for a tag never pulled.
  PullOptions never = options();
  never.policy = PullPolicy::kNever;
  EXPECT_THAT(pull_error(registry.name("2.0"), never), HasSubstr("not in the cache"));
  EXPECT_EQ(pull(registry.name("1.0"), never).config_digest, image.config_digest);
}

TEST_F(PullTest, ADigestReferenceIsVerifiedAndWorksOffline) {
  nlohmann::json d = registry.add("", {{{"a", "1"}}});
  std::string name = registry.host() + "/team/app@" + d["digest"].get<std::string>();
  Image image = pull(name, options());
  EXPECT_EQ(image.manifest_digest, d["digest"]);
  EXPECT_EQ(image.tag, d["digest"]);
  PullOptions never = options();
  never.policy = PullPolicy::kNever;
  EXPECT_EQ(pull(name, never).manifest_digest, d["digest"]);
  // A digest the registry has no manifest for.
  EXPECT_THAT(
      pull_error(registry.host() + "/team/app@sha256:" + std::string(64, 'c'), options()),
      HasSubstr("was not found in " + registry.host() + "/team/app (404, MANIFEST_UNKNOWN"));
}

TEST_F(PullTest, ChoosesThePlatformFromAnIndexAndSkipsAttestations) {
  nlohmann::json amd = registry.add("", {{{"arch", "amd64"}}});
  nlohmann::json arm = registry.add("", {{{"arch", "arm64"}}}, "arm64");
  nlohmann::json attestation = registry.layout.add_blob(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})",
      "application/vnd.oci.image.manifest.v1+json");
  attestation["platform"] = {{"os", "unknown"}, {"architecture", "unknown"}};
  attestation["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"}};
  registry.tags["multi"] =
      registry.layout.add_index(nlohmann::json::array({attestation, arm, amd}));
  Image image = pull(registry.name("multi"), options());
  EXPECT_EQ(image.manifest_digest, amd["digest"]);
  EXPECT_EQ(image.index_digest, registry.tags["multi"]["digest"]);
  EXPECT_EQ(image.platform, "linux/amd64");
  // The attestation's manifest and arm64's were never asked for.
  for (const auto& r : registry.requests()) {
    EXPECT_EQ(r.find(attestation["digest"].get<std::string>()), std::string::npos) << r;
    EXPECT_EQ(r.find(arm["digest"].get<std::string>()), std::string::npos) << r;
  }
  PullOptions arm64 = options();
  arm64.platform = "linux/arm64";
  EXPECT_EQ(pull(registry.name("multi"), arm64).manifest_digest, arm["digest"]);

  registry.tags["arm-only"] = registry.layout.add_index(nlohmann::json::array({arm}));
  EXPECT_THAT(pull_error(registry.name("arm-only"), options()),
              HasSubstr("has no linux/amd64 image; it has linux/arm64"));
}

TEST_F(PullTest, LayersTheCacheHasAreNotFetchedAgain) {
  std::map<std::string, std::string> base = {{"usr/lib/big", std::string(100000, 'b')}};
  registry.add("one", {base, {{"top", "1"}}});
  registry.add("two", {base, {{"top", "2"}}});
  pull(registry.name("one"), options());
  size_t before = registry.blob_gets();
  PullStats stats;
  pull(registry.name("two"), options(), &stats);
  EXPECT_EQ(stats.layers_fetched, 1u);
  EXPECT_EQ(stats.layers_cached, 1u);
  EXPECT_EQ(registry.blob_gets(), before + 2);  // its config and its top layer
}

TEST_F(PullTest, ABearerTokenIsFetchedWithTheCredentialsOfTheAuthFile) {
  registry.add("1", {{{"a", "1"}}});
  registry.bearer = "tok3n";
  registry.token_credentials = "ann:s3cret";
  // Without credentials: the token server refuses, and the message says what to do.
  EXPECT_THAT(pull_error(registry.name("1"), options()), HasSubstr("it needs credentials: log in"));
  std::string auth = dir.write("auth.json", R"({"auths":{")" + registry.host() + R"(":{"auth":")" +
                                                base64_encode("ann:s3cret") + "\"}}}");
  PullOptions o = options();
  o.registry.auth_file = auth;
  Image image = pull(registry.name("1"), o);
  EXPECT_EQ(image.layers.size(), 1u);
  // Wrong ones: the message names where they came from.
  dir.write("auth.json", R"({"auths":{")" + registry.host() + R"(":{"auth":")" +
                             base64_encode("ann:wrong") + "\"}}}");
  PullOptions again = o;
  again.policy = PullPolicy::kAlways;
  EXPECT_THAT(pull_error(registry.name("1"), again), HasSubstr("the credentials from " + auth));
}

TEST_F(PullTest, ACredentialHelperIsRunAndOneThatFailsFallsBackToAnonymous) {
  registry.add("1", {{{"a", "1"}}});
  registry.bearer = "tok3n";
  registry.token_credentials = "helped:pw";
  std::string bin = dir.mkdir("bin");
  dir.write("bin/docker-credential-test",
            "#!/bin/sh\nread server\n[ \"$server\" = \"" + registry.host() +
                "\" ] || exit 1\necho "
                "'{\"ServerURL\":\"x\",\"Username\":\"helped\",\"Secret\":\"pw\"}'\n",
            0755);
  dir.write("bin/docker-credential-broken", "#!/bin/sh\necho no such credentials >&2\nexit 3\n",
            0755);
  std::string old_path = getenv("PATH");
  setenv("PATH", (bin + ":" + old_path).c_str(), 1);
  PullOptions o = options();
  o.registry.auth_file =
      dir.write("config.json", R"({"credHelpers":{")" + registry.host() + R"(":"test"}})");
  EXPECT_NO_THROW(pull(registry.name("1"), o));
  // A helper that fails: a note, then the anonymous try (which this registry refuses).
  o.registry.auth_file = dir.write("broken.json", R"({"credsStore":"broken"})");
  o.policy = PullPolicy::kAlways;
  registry.token_credentials = "nobody:at-all";
  std::string error = pull_error(registry.name("1"), o);
  setenv("PATH", old_path.c_str(), 1);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0], HasSubstr("docker-credential-broken get failed (status 3)"));
  EXPECT_THAT(notes[0], HasSubstr("without credentials"));
  EXPECT_THAT(error, HasSubstr("it needs credentials"));
}

TEST_F(PullTest, ADroppedBlobIsResumedWithARangeRequest) {
  nlohmann::json d = registry.add("1", {{{"big", std::string(300000, 'x') + "end"}}});
  nlohmann::json manifest = nlohmann::json::parse(registry.layout.blob(d));
  std::string layer = manifest["layers"][0]["digest"];
  registry.drop_blob = layer;
  Image image = pull(registry.name("1"), options());
  EXPECT_TRUE(is_regular_file(image.layers[0].path));
  bool ranged = false;
  for (const auto& r : registry.requests())
    if (r.starts_with("GET /v2/team/app/blobs/" + layer) &&
        r.find("Range: bytes=") != std::string::npos)
      ranged = true;
  EXPECT_TRUE(ranged);
  EXPECT_TRUE(temporaries().empty());
}

TEST_F(PullTest, ARangeAnsweredWithTheWholeBlobStartsAgain) {
  nlohmann::json d = registry.add("1", {{{"big", std::string(300000, 'y')}}});
  std::string layer = nlohmann::json::parse(registry.layout.blob(d))["layers"][0]["digest"];
  registry.drop_blob = layer;
  registry.whole_on_range = layer;
  EXPECT_NO_THROW(pull(registry.name("1"), options()));
}

TEST_F(PullTest, TransientFailuresAreRetried) {
  nlohmann::json d = registry.add("1", {{{"a", "1"}}});
  registry.fail_once_blob = nlohmann::json::parse(registry.layout.blob(d))["layers"][0]["digest"];
  EXPECT_NO_THROW(pull(registry.name("1"), options()));
}

TEST_F(PullTest, ACorruptedBlobIsRefusedAndNothingIsKept) {
  nlohmann::json d = registry.add("1", {{{"a", std::string(5000, 'z')}}});
  std::string layer = nlohmann::json::parse(registry.layout.blob(d))["layers"][0]["digest"];
  registry.corrupt_blob = layer;
  EXPECT_THAT(pull_error(registry.name("1"), options()), HasSubstr("does not match its digest"));
  EXPECT_FALSE(BlobStore(images()).contains(parse_digest(layer, "layer")));
  EXPECT_TRUE(temporaries().empty());
  // No tag record either: a later run asks again.
  registry.corrupt_blob.clear();
  PullStats stats;
  pull(registry.name("1"), options(), &stats);
  EXPECT_EQ(stats.layers_fetched, 1u);
}

TEST_F(PullTest, A429QuotesTheRateLimitHeaders) {
  registry.add("1", {{{"a", "1"}}});
  registry.rate_limited = true;
  std::string error = pull_error(registry.name("1"), options());
  EXPECT_THAT(error, HasSubstr("429 too many requests"));
  EXPECT_THAT(error, HasSubstr("RateLimit-Limit: 100;w=21600"));
  EXPECT_THAT(error, HasSubstr("RateLimit-Remaining: 0"));
  EXPECT_THAT(error, HasSubstr("Retry-After: 30"));
}

TEST_F(PullTest, AManifestThatDisagreesWithItsDigestHeaderIsRefused) {
  registry.add("1", {{{"a", "1"}}});
  registry.wrong_digest_header = "sha256:" + std::string(64, '0');
  EXPECT_THAT(pull_error(registry.name("1"), options()),
              HasSubstr("does not match the digest the registry gives it"));
}

TEST_F(PullTest, MirrorsAreTriedFirstAndAFailingOneIsPassedOver) {
  registry.add("1", {{{"a", "1"}}});
  FakeRegistry mirror;
  mirror.add("1", {{{"a", "1"}}});
  PullOptions o = options();
  // The mirror holds the repository under a path of its own.
  o.registries_conf_files = {dir.write(
      "registries.conf", "[[registry]]\nlocation = \"" + registry.host() +
                             "\"\n[[registry.mirror]]\nlocation = \"127.0.0.1:1/nothing\"\n"
                             "[[registry.mirror]]\nlocation = \"" +
                             mirror.host() + "\"\n")};
  pull(registry.name("1"), o);
  EXPECT_GT(mirror.blob_gets(), 0u);
  EXPECT_EQ(registry.blob_gets(), 0u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0], HasSubstr("the mirror 127.0.0.1:1/nothing/team/app failed"));
}

TEST_F(PullTest, PlainHttpOnlyWhenAllowed) {
  registry.add("1", {{{"a", "1"}}});
  PullOptions o = options();
  o.registry.tls_verify.reset();
  EXPECT_THAT(pull_error(registry.name("1"), o), HasSubstr("--tls-verify=false"));
  o.registries_conf_files = {dir.write(
      "insecure.conf", "[[registry]]\nlocation = \"" + registry.host() + "\"\ninsecure = true\n")};
  EXPECT_NO_THROW(pull(registry.name("1"), o));
}

TEST_F(PullTest, InTheBackgroundLayersAreWaitedForOneByOne) {
  registry.add("1", {{{"a", std::string(200000, 'a')}}, {{"b", std::string(200000, 'b')}}});
  PullOptions o = options();
  o.background = true;
  Image image = pull(registry.name("1"), o);
  ASSERT_TRUE(image.pending);
  image.pending->wait(1);
  EXPECT_TRUE(is_regular_file(image.layers[1].path));
  image.pending->finish();
  EXPECT_TRUE(image.pending->done());
  // The tag is recorded once all are in: the cache alone serves it now.
  PullOptions never = options();
  never.policy = PullPolicy::kNever;
  EXPECT_FALSE(pull(registry.name("1"), never).pending);

  // A failing layer: waiting for it throws the pull's error, and nothing is left.
  registry.add("2", {{{"c", std::string(200000, 'c')}}});
  registry.corrupt_blob =
      nlohmann::json::parse(registry.layout.blob(registry.tags["2"]))["layers"][0]["digest"];
  Image broken = pull(registry.name("2"), o);
  try {
    broken.pending->wait(0);
    ADD_FAILURE() << "a corrupted layer was waited for";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("does not match its digest"));
  }
  broken.pending.reset();
  EXPECT_TRUE(temporaries().empty());
}

TEST(PullPolicy, ParsesDockersWords) {
  EXPECT_EQ(parse_pull_policy("missing"), PullPolicy::kMissing);
  EXPECT_EQ(parse_pull_policy("always"), PullPolicy::kAlways);
  EXPECT_EQ(parse_pull_policy("never"), PullPolicy::kNever);
  EXPECT_THROW(parse_pull_policy("sometimes"), Error);
}

}  // namespace
}  // namespace execvm
