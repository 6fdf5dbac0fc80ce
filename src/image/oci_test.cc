#include "image/oci.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace execvm {
namespace {

using nlohmann::json;

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    return e.message();
  }
  return "";
}

json config_json(json config) {
  return {{"architecture", "amd64"},
          {"os", "linux"},
          {"created", "2024-01-02T03:04:05Z"},
          {"config", config},
          {"rootfs", {{"type", "layers"}, {"diff_ids", {kA, kB}}}}};
}

json manifest_json() {
  return {{"schemaVersion", 2},
          {"config", {{"mediaType", media_type::kOciConfig}, {"digest", kA}, {"size", 10}}},
          {"layers", {{{"mediaType", media_type::kOciLayerGzip}, {"digest", kB}, {"size", 20}}}}};
}

TEST(OciTest, ParsesTheConfig) {
  json c = config_json({{"Env", {"PATH=/bin", "A=b"}},
                        {"Entrypoint", nullptr},
                        {"Cmd", json::array()},
                        {"WorkingDir", "/src"},
                        {"User", "1000:1000"},
                        {"Hostname", "box"},
                        {"ExposedPorts", {{"80/tcp", json::object()}, {"53/udp", json::object()}}},
                        {"Labels", {{"b", "2"}, {"a", "1"}}}});
  ParsedConfig p = parse_config(c.dump(), "the config");
  EXPECT_EQ(p.config.env, (std::vector<std::string>{"PATH=/bin", "A=b"}));
  EXPECT_FALSE(p.config.entrypoint);
  ASSERT_TRUE(p.config.cmd);  // [] is not null
  EXPECT_TRUE(p.config.cmd->empty());
  EXPECT_EQ(p.config.working_dir, "/src");
  EXPECT_EQ(p.config.user, "1000:1000");
  EXPECT_EQ(p.config.hostname, "box");
  EXPECT_EQ(p.config.exposed_ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
  EXPECT_EQ(p.config.labels,
            (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(p.os, "linux");
  EXPECT_EQ(p.architecture, "amd64");
  EXPECT_EQ(p.created, "2024-01-02T03:04:05Z");
  ASSERT_EQ(p.diff_ids.size(), 2u);
  EXPECT_EQ(p.diff_ids[1].str(), kB);

  json absent = config_json(json::object());
  absent.erase("config");
  ParsedConfig q = parse_config(absent.dump(), "the config");
  EXPECT_EQ(q.config, ImageConfig{});
  EXPECT_FALSE(q.config.cmd);
  json entry = config_json({{"Entrypoint", {"/bin/sh", "-c"}}});
  EXPECT_EQ(*parse_config(entry.dump(), "c").config.entrypoint,
            (std::vector<std::string>{"/bin/sh", "-c"}));
}

TEST(OciTest, ABadConfigFieldIsNamed) {
  auto bad = [](json c) { return error_of([&] { parse_config(c.dump(), "the config"); }); };
  EXPECT_EQ(bad(config_json({{"Env", "A=b"}})),
            "the config: field \"config.Env\" is not a list of strings");
  EXPECT_EQ(bad(config_json({{"Cmd", {"sh", 1}}})),
            "the config: field \"config.Cmd\" is not a list of strings");
  EXPECT_EQ(bad(config_json({{"WorkingDir", 5}})),
            "the config: field \"config.WorkingDir\" is not a string");
  EXPECT_EQ(bad(config_json({{"Labels", {{"a", 1}}}})),
            "the config: field \"config.Labels.a\" is not a string");
  json c = config_json(json::object());
  c["rootfs"]["diff_ids"][1] = "sha256:../../etc";
  EXPECT_NE(bad(c).find("rootfs.diff_ids[1] has a malformed digest"), std::string::npos);
  c.erase("rootfs");
  EXPECT_EQ(bad(c), "the config: field \"rootfs\" is missing");
  EXPECT_EQ(error_of([] { parse_config("{\"os\":", "the config"); }),
            "the config is not valid JSON");
}

TEST(OciTest, TellsIndexesAndManifestsApart) {
  json m = manifest_json();
  Document d = parse_document(m.dump(), "", "the manifest");
  EXPECT_EQ(d.kind, Document::Kind::kManifest);
  EXPECT_EQ(d.manifest.media_type, media_type::kOciManifest);
  EXPECT_EQ(d.manifest.config.digest.str(), kA);
  ASSERT_EQ(d.manifest.layers.size(), 1u);
  EXPECT_EQ(d.manifest.layers[0].size, 20u);
  EXPECT_EQ(parse_document(m.dump(), media_type::kDockerManifest, "m").manifest.media_type,
            media_type::kDockerManifest);

  json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"mediaType", media_type::kOciManifest},
                   {"digest", kA},
                   {"size", 5},
                   {"platform", {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v7"}}},
                   {"annotations", {{"k", "v"}}}}}}};
  Document i = parse_document(index.dump(), "", "the index");
  EXPECT_EQ(i.kind, Document::Kind::kIndex);
  ASSERT_EQ(i.index.manifests.size(), 1u);
  EXPECT_EQ(i.index.manifests[0].platform->str(), "linux/arm/v7");
  EXPECT_EQ(i.index.manifests[0].annotations.at("k"), "v");

  json both = m;
  both["manifests"] = json::array();
  EXPECT_NE(error_of([&] {
              parse_document(both.dump(), "", "x");
            }).find("reads both as an image index and as a manifest"),
            std::string::npos);
  json says = m;
  says["mediaType"] = media_type::kOciIndex;
  EXPECT_NE(error_of([&] {
              parse_document(says.dump(), media_type::kOciManifest, "x");
            }).find("but is listed as"),
            std::string::npos);
  json schema1 = {{"schemaVersion", 1}, {"fsLayers", json::array()}};
  EXPECT_NE(error_of([&] { parse_document(schema1.dump(), "", "x"); }).find("schema 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_document("{}", "", "x"); }).find("neither"), std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_document(m.dump(), "application/vnd.oci.artifact.manifest.v1+json", "x");
            }).find("unsupported media type"),
            std::string::npos);
}

TEST(OciTest, RefusesManifestsItCannotRun) {
  auto bad = [](json m) { return error_of([&] { parse_document(m.dump(), "", "the manifest"); }); };
  json m = manifest_json();
  m["layers"] = json::array();
  EXPECT_EQ(bad(m), "the manifest has no layers");
  m = manifest_json();
  m["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+bzip2";
  EXPECT_NE(bad(m).find("layers[0] has the unsupported media type"), std::string::npos);
  m = manifest_json();
  m["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json";
  EXPECT_NE(bad(m).find("is not a container image"), std::string::npos);
  m = manifest_json();
  m["layers"][0]["size"] = -1;
  EXPECT_EQ(bad(m), "the manifest: field \"layers[0].size\" is not a size in bytes");
  m = manifest_json();
  m["layers"][0]["digest"] = "sha256:../../../etc/passwd";
  EXPECT_NE(bad(m).find("the manifest: layers[0] has a malformed digest"), std::string::npos);
  m = manifest_json();
  m.erase("config");
  EXPECT_EQ(bad(m), "the manifest: field \"config\" is missing");
}

TEST(OciTest, LayerCompressionByMediaType) {
  EXPECT_EQ(layer_compression(media_type::kOciLayer), LayerCompression::kNone);
  EXPECT_EQ(layer_compression(media_type::kOciLayerGzip), LayerCompression::kGzip);
  EXPECT_EQ(layer_compression(media_type::kOciLayerZstd), LayerCompression::kZstd);
  EXPECT_EQ(layer_compression(media_type::kDockerLayerGzip), LayerCompression::kGzip);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"),
            LayerCompression::kZstd);
  EXPECT_FALSE(layer_compression("application/vnd.oci.image.layer.v1.tar+xz"));
  EXPECT_FALSE(layer_compression(""));
}

TEST(OciTest, ParsesDockerArchiveManifests) {
  json j = {{{"Config", "c.json"}, {"RepoTags", {"a:1", "b:2"}}, {"Layers", {"l/layer.tar"}}},
            {{"Config", "d.json"}, {"RepoTags", nullptr}, {"Layers", json::array()}}};
  auto images = parse_docker_archive_manifest(j.dump(), "manifest.json");
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0].config, "c.json");
  EXPECT_EQ(images[0].repo_tags, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(images[0].layers, std::vector<std::string>{"l/layer.tar"});
  EXPECT_TRUE(images[1].repo_tags.empty());
  EXPECT_EQ(error_of([] { parse_docker_archive_manifest("[{\"Layers\":[]}]", "manifest.json"); }),
            "manifest.json: field \"[0].Config\" is missing");
  EXPECT_EQ(error_of([] { parse_docker_archive_manifest("[]", "manifest.json"); }),
            "manifest.json lists no images");
}

TEST(OciTest, ChecksTheLayoutVersion) {
  EXPECT_NO_THROW(check_oci_layout(R"({"imageLayoutVersion":"1.0.0"})", "oci-layout"));
  EXPECT_THROW(check_oci_layout(R"({"imageLayoutVersion":"2.0.0"})", "oci-layout"), Error);
  EXPECT_THROW(check_oci_layout("{}", "oci-layout"), Error);
}

TEST(OciTest, ParsesPlatformsAsDockerWritesThem) {
  EXPECT_EQ(parse_platform("linux/amd64").str(), "linux/amd64");
  EXPECT_EQ(parse_platform("linux/arm64/v8").variant, "v8");
  for (const char* bad : {"amd64", "linux/", "/amd64", "linux/amd64/v8/x", "Linux/AMD64", ""})
    EXPECT_THROW(parse_platform(bad), Error) << bad;
}
}  // namespace
}  // namespace execvm
