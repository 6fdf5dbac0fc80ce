#include "image/source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "image/digest.h"
#include "image/image_fixtures.h"
#include "image/oci.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/testing.h"

namespace execvm {
namespace {

using nlohmann::json;
using testing::Layout;
using testing::TempDir;
using testing::tree_listing;

const json kPlatformAmd64 = {{"os", "linux"}, {"architecture", "amd64"}};

std::string error_of(const ImageRef& ref, const std::string& images_dir) {
  try {
    open_image(ref, images_dir);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    std::string m = e.message();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  return "";
}

class LayoutTest : public ::testing::Test {
 protected:
  // Writes LAYOUT into the scratch directory and returns its reference with TAG.
  ImageRef write(Layout& layout, const std::string& tag = "") {
    layout.write_to(dir_.mkdir("layout"));
    return ImageRef{ImageRef::Kind::kOciLayout, dir_ / "layout", tag,
                    "oci:layout" + (tag.empty() ? "" : ":" + tag)};
  }
  std::string images() const { return dir_ / "images"; }

  static std::vector<Layout::Layer> two_layers() {
    return {{testing::layer_tar({{"etc/hostname", "box\n"}, {"bin/hello", "#!/bin/sh\n"}}), "gzip"},
            {testing::layer_tar({{"etc/motd", "hi\n"}}), ""}};
  }

  TempDir dir_;
};

TEST_F(LayoutTest, OpensALayout) {
  Layout layout;
  json config = {{"Env", {"PATH=/usr/bin:/bin", "MY_VAR=x"}},
                 {"Cmd", {"/bin/sh"}},
                 {"WorkingDir", "/srv/app"},
                 {"User", "1000:1000"}};
  json manifest = layout.add_image(two_layers(), config);
  layout.list(manifest, "1.0");
  ImageRef ref = write(layout);
  auto before = tree_listing(dir_.path());
  Image image = open_image(ref, images());
  EXPECT_EQ(tree_listing(dir_.path()), before);  // nothing written, not even the images dir

  EXPECT_EQ(image.reference, "oci:layout");
  EXPECT_EQ(image.source, "oci-layout");
  EXPECT_EQ(image.location, dir_ / "layout");
  EXPECT_EQ(image.tag, "1.0");
  EXPECT_EQ(image.manifest_digest, manifest["digest"]);
  EXPECT_EQ(image.config_digest, layout.config_descriptor()["digest"]);
  EXPECT_EQ(image.platform, "linux/amd64");
  EXPECT_EQ(image.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(image.config.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "MY_VAR=x"}));
  EXPECT_EQ(image.config.cmd, (std::vector<std::string>{"/bin/sh"}));
  EXPECT_FALSE(image.config.entrypoint);
  EXPECT_EQ(image.config.working_dir, "/srv/app");
  EXPECT_EQ(image.config.user, "1000:1000");
  ASSERT_EQ(image.layers.size(), 2u);
  EXPECT_EQ(image.layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(image.layers[1].media_type, media_type::kOciLayer);
  for (size_t i = 0; i < 2; ++i) {
    const ImageLayer& l = image.layers[i];
    EXPECT_EQ(l.diff_id, layout.diff_ids()[i]);
    EXPECT_EQ(l.path, dir_ / "layout/blobs/sha256/" + l.digest.substr(7));
    EXPECT_EQ("sha256:" + sha256_file_hex(l.path), l.digest);
    uint64_t size = 0;
    EXPECT_TRUE(is_regular_file(l.path, &size));
    EXPECT_EQ(l.size, size);
    EXPECT_FALSE(l.verified);
  }
  // The second layer is plain: its digest is its diff ID.
  EXPECT_EQ(image.layers[1].digest, image.layers[1].diff_id);
  std::string chain = "sha256:" + sha256_hex(layout.diff_ids()[0] + " " + layout.diff_ids()[1]);
  EXPECT_EQ(image.chain_id, chain);
}

TEST_F(LayoutTest, FollowsANestedIndexToLinuxAmd64) {
  Layout layout;
  json arm = layout.add_image({{testing::layer_tar({{"arm", "1"}})}}, json::object(), "arm64");
  arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
  json amd = layout.add_image({{testing::layer_tar({{"amd", "1"}}), "zstd"}});
  amd["platform"] = kPlatformAmd64;
  // docker buildx's attestation manifest, for the amd64 one.
  json attestation = layout.add_blob("{}", "application/vnd.oci.image.manifest.v1+json");
  attestation["platform"] = {{"os", "unknown"}, {"architecture", "unknown"}};
  attestation["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"},
                                {"vnd.docker.reference.digest", amd["digest"]}};
  json inner = layout.add_index({attestation, arm, amd});
  json outer = layout.add_index(json::array({inner}));  // an index in an index in index.json
  layout.list(outer, "latest");
  Image image = open_image(write(layout), images());
  EXPECT_EQ(image.manifest_digest, amd["digest"]);
  EXPECT_EQ(image.tag, "latest");
  ASSERT_EQ(image.layers.size(), 1u);
  EXPECT_EQ(image.layers[0].media_type, media_type::kOciLayerZstd);
  EXPECT_EQ(image.chain_id, image.layers[0].diff_id);
}

TEST_F(LayoutTest, WithoutLinuxAmd64ListsThePlatforms) {
  Layout layout;
  json arm = layout.add_image({{testing::layer_tar({{"a", "1"}})}}, json::object(), "arm64");
  arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
  json armv7 = layout.add_image({{testing::layer_tar({{"b", "1"}})}}, json::object(), "arm");
  armv7["platform"] = {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v7"}};
  json amd_windows = layout.add_image({{testing::layer_tar({{"c", "1"}})}});
  amd_windows["platform"] = {{"os", "windows"}, {"architecture", "amd64"}};
  layout.list(layout.add_index({arm, armv7, amd_windows}));
  std::string m = error_of(write(layout), images());
  EXPECT_NE(m.find("has no linux/amd64 image; it has linux/arm64, linux/arm/v7, windows/amd64"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.rfind("image oci:layout: ", 0), 0u) << m;
}

TEST_F(LayoutTest, AnImageForAnotherArchitectureIsRefused) {
  Layout layout;
  layout.list(layout.add_image({{testing::layer_tar({{"a", "1"}})}}, json::object(), "arm64"));
  EXPECT_NE(error_of(write(layout), images()).find("the image is for linux/arm64, not linux/amd64"),
            std::string::npos);
}

TEST_F(LayoutTest, ChoosesByTag) {
  Layout layout;
  json one = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  json two = layout.add_image({{testing::layer_tar({{"v", "2"}})}});
  layout.list(one, "1.0");
  layout.list(two, "2.0");
  ImageRef ref = write(layout, "2.0");
  EXPECT_EQ(open_image(ref, images()).manifest_digest, two["digest"]);
  ref.tag = "1.0";
  EXPECT_EQ(open_image(ref, images()).manifest_digest, one["digest"]);

  ref.tag = "";
  std::string m = error_of(ref, images());
  EXPECT_NE(m.find("holds several images; name one by its tag: its tags are 1.0, 2.0"),
            std::string::npos)
      << m;
  ref.tag = "3.0";
  m = error_of(ref, images());
  EXPECT_NE(m.find("no image tagged \"3.0\": its tags are 1.0, 2.0"), std::string::npos) << m;
}

TEST_F(LayoutTest, UntaggedImagesAreAmbiguousAndPlatformsAreChosenFrom) {
  Layout layout;
  json one = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  json two = layout.add_image({{testing::layer_tar({{"v", "2"}})}}, json::object(), "arm64");
  layout.list(one);
  layout.list(two);
  ImageRef ref = write(layout);
  std::string m = error_of(ref, images());
  EXPECT_NE(m.find("holds several images; name one by its tag: they have no tags"),
            std::string::npos)
      << m;
  // The same entries with their platforms: a multi-platform index.json.
  layout.index()["manifests"][0]["platform"] = kPlatformAmd64;
  layout.index()["manifests"][1]["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
  layout.write_to(dir_.mkdir("multi"));
  ref.path = dir_ / "multi";
  EXPECT_EQ(open_image(ref, images()).manifest_digest, one["digest"]);
}

TEST_F(LayoutTest, ATagMayBeDockersFullName) {
  Layout layout;
  json one = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  one["annotations"] = {{"io.containerd.image.name", "docker.io/library/busybox:latest"},
                        {"org.opencontainers.image.ref.name", "latest"}};
  layout.list(one);
  EXPECT_EQ(open_image(write(layout, "busybox"), images()).manifest_digest, one["digest"]);
}

TEST_F(LayoutTest, AMalformedDigestIsRefusedBeforeAnyPathIsMade) {
  Layout layout;
  json manifest = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  // A file where the digest would lead, were it taken as a path.
  layout.files()["blobs/x"] = layout.blob(manifest);
  manifest["digest"] = "sha256:../x";
  layout.list(manifest);
  std::string m = error_of(write(layout), images());
  EXPECT_NE(m.find("index.json: manifests[0] has a malformed digest: \"sha256:../x\""),
            std::string::npos)
      << m;
}

TEST_F(LayoutTest, ACorruptManifestOrConfigIsFoundBeforeItIsParsed) {
  Layout layout;
  json manifest = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  layout.list(manifest);
  std::string& blob = layout.blob(manifest);
  blob[blob.size() - 2] = ' ';  // still JSON, other content
  std::string m = error_of(write(layout), images());
  EXPECT_NE(m.find("the manifest " + manifest["digest"].get<std::string>() +
                   " does not match its digest"),
            std::string::npos)
      << m;
}

TEST_F(LayoutTest, AWrongSizeIsRefused) {
  Layout layout;
  json manifest = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  manifest["size"] = manifest["size"].get<uint64_t>() + 1;
  layout.list(manifest);
  std::string m = error_of(write(layout), images());
  EXPECT_NE(m.find("bytes, not the"), std::string::npos) << m;
}

TEST_F(LayoutTest, AMissingBlobIsNamed) {
  Layout layout;
  json manifest = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  layout.list(manifest);
  std::string config_digest = layout.config_descriptor()["digest"];
  layout.files().erase("blobs/sha256/" + config_digest.substr(7));
  std::string m = error_of(write(layout), images());
  EXPECT_EQ(m, "image oci:layout: the config " + config_digest + " is missing from the layout");
}

TEST_F(LayoutTest, AMissingOrShortLayerIsNamed) {
  Layout layout;
  json manifest = layout.add_image(two_layers());
  layout.list(manifest);
  ImageRef ref = write(layout);
  json m = json::parse(layout.blob(manifest));
  std::string second = m["layers"][1]["digest"];
  std::string path = dir_ / "layout/blobs/sha256/" + second.substr(7);
  std::string content = read_file(path);
  write_file(path, content.substr(0, content.size() - 1));
  EXPECT_NE(error_of(ref, images()).find("layer 2 of 2 (" + second + ") has "), std::string::npos);
  ::unlink(path.c_str());
  EXPECT_EQ(error_of(ref, images()),
            "image oci:layout: layer 2 of 2 (" + second + ") is missing from the layout");
}

TEST_F(LayoutTest, DiffIdsMustMatchTheLayers) {
  Layout layout;
  layout.add_image(two_layers());
  // A config with one diff ID for two layers, and a manifest pointing at it.
  json config = json::parse(layout.blob(layout.config_descriptor()));
  config["rootfs"]["diff_ids"].erase(1);
  json config_desc = layout.add_blob(config.dump(), media_type::kOciConfig);
  json manifest = json::parse(layout.blob(layout.add_image(two_layers())));
  manifest["config"] = config_desc;
  layout.list(layout.add_blob(manifest.dump(), media_type::kOciManifest));
  std::string m = error_of(write(layout), images());
  EXPECT_NE(m.find("lists 1 diff IDs for 2 layers"), std::string::npos) << m;
}

TEST_F(LayoutTest, BadJsonNamesTheField) {
  Layout layout;
  json manifest = json::parse(layout.blob(layout.add_image(two_layers())));
  manifest["layers"][0]["mediaType"] = 7;
  layout.list(layout.add_blob(manifest.dump(), media_type::kOciManifest));
  std::string m = error_of(write(layout), images());
  EXPECT_NE(m.find("field \"layers[0].mediaType\" is not a string"), std::string::npos) << m;
}

TEST_F(LayoutTest, AManifestWithoutLayersIsRefused) {
  Layout layout;
  json manifest = json::parse(layout.blob(layout.add_image(two_layers())));
  manifest["layers"] = json::array();
  layout.list(layout.add_blob(manifest.dump(), media_type::kOciManifest));
  EXPECT_NE(error_of(write(layout), images()).find("has no layers"), std::string::npos);
}

TEST_F(LayoutTest, ADirectoryThatIsNotALayout) {
  dir_.mkdir("plain");
  ImageRef ref{ImageRef::Kind::kOciLayout, dir_ / "plain", "", "oci:plain"};
  EXPECT_NE(error_of(ref, images()).find("has no oci-layout file"), std::string::npos);
  dir_.write("plain/manifest.json", "[]");
  EXPECT_NE(error_of(ref, images()).find("unpacked docker-archive"), std::string::npos);
  ref.path = dir_ / "missing";
  EXPECT_NE(error_of(ref, images()).find("No such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace execvm
