// The readers against what the usual tools write: a layout made by hand, converted by skopeo to
// a docker-archive and an oci-archive, and a layout made by umoci.
#include <gtest/gtest.h>

#include "image/image_fixtures.h"
#include "image/oci.h"
#include "image/reference.h"
#include "image/source.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/process.h"
#include "util/sha256.h"
#include "util/testing.h"

namespace execvm {
namespace {

using nlohmann::json;
using testing::Layout;
using testing::TempDir;

void run(const std::vector<std::string>& argv, const std::string& cwd) {
  CapturedRun r = run_capture(argv, true, cwd);
  if (r.status != 0) throw Error(argv[0] + " failed: " + r.output);
}

TEST(ImageToolsTest, SkopeosArchivesReadAsTheLayoutTheyCameFrom) {
  if (!find_program("skopeo")) GTEST_SKIP() << "skopeo is not installed";
  TempDir dir;
  Layout layout;
  json config = {{"Env", {"PATH=/bin", "MY_VAR=hello"}},
                 {"Entrypoint", {"/bin/sh", "-c"}},
                 {"Cmd", {"echo $MY_VAR"}},
                 {"WorkingDir", "/srv/app"},
                 {"Labels", {{"org.example", "yes"}}}};
  layout.list(layout.add_image({{testing::layer_tar({{"bin/sh", "not really\n"}}), "gzip"},
                                {testing::layer_tar({{"srv/app/file", "data\n"}}), ""},
                                {testing::layer_tar({{"etc/motd", "hi\n"}}), "gzip"}},
                               config),
              "t");
  std::vector<std::string> diff_ids = layout.diff_ids();
  layout.write_to(dir.mkdir("layout"));
  run({"skopeo", "--insecure-policy", "copy", "oci:layout:t", "docker-archive:d.tar:foo/bar:t"},
      dir.path());
  run({"skopeo", "--insecure-policy", "copy", "oci:layout:t", "oci-archive:o.tar:t"}, dir.path());

  std::string images = dir / "images";
  Image from_layout = open_image(parse_image_ref("layout", dir.path()), images);
  Image from_docker = open_image(parse_image_ref("d.tar", dir.path()), images);
  Image from_oci = open_image(parse_image_ref("o.tar", dir.path()), images);
  EXPECT_EQ(from_docker.source, "docker-archive");
  EXPECT_EQ(from_oci.source, "oci-archive");
  EXPECT_EQ(from_docker.tag, "docker.io/foo/bar:t");
  EXPECT_EQ(from_oci.tag, "t");
  for (const Image* image : {&from_layout, &from_docker, &from_oci}) {
    SCOPED_TRACE(image->source);
    EXPECT_EQ(image->config.env, (std::vector<std::string>{"PATH=/bin", "MY_VAR=hello"}));
    EXPECT_EQ(image->config.cmd, std::vector<std::string>{"echo $MY_VAR"});
    EXPECT_EQ(image->config.working_dir, "/srv/app");
    ASSERT_EQ(image->layers.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(image->layers[i].diff_id, diff_ids[i]);
    EXPECT_EQ(image->chain_id, from_layout.chain_id);
  }
  // skopeo keeps the config, gzips every layer of an oci-archive (the plain one too) and
  // decompresses a docker-archive's.
  EXPECT_EQ(from_oci.config_digest, from_layout.config_digest);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(from_oci.layers[i].media_type, media_type::kOciLayerGzip);
    EXPECT_EQ("sha256:" + sha256_file_hex(from_oci.layers[i].path), from_oci.layers[i].digest);
    if (i != 1) {
      EXPECT_EQ(from_oci.layers[i].digest, from_layout.layers[i].digest);
    }
    EXPECT_EQ(from_docker.layers[i].media_type, media_type::kOciLayer);
    EXPECT_EQ(from_docker.layers[i].digest, diff_ids[i]);
    EXPECT_EQ("sha256:" + sha256_file_hex(from_docker.layers[i].path), diff_ids[i]);
  }
}

TEST(ImageToolsTest, AnUmociLayout) {
  if (!find_program("umoci")) GTEST_SKIP() << "umoci is not installed";
  TempDir dir;
  std::string tar = testing::layer_tar({{"etc/os-release", "ID=test\n"}});
  dir.write("layer.tar", tar);
  run({"umoci", "init", "--layout", "u"}, dir.path());
  run({"umoci", "new", "--image", "u:one"}, dir.path());
  run({"umoci", "raw", "add-layer", "--image", "u:one", "layer.tar"}, dir.path());
  run({"umoci", "config", "--image", "u:one", "--config.cmd=/bin/true", "--config.user=7"},
      dir.path());
  run({"umoci", "tag", "--image", "u:one", "two"}, dir.path());
  // Two tags of one image: no need to choose.
  EXPECT_EQ(open_image(parse_image_ref("u", dir.path()), dir / "images").tag, "one");
  run({"umoci", "new", "--image", "u:three"}, dir.path());
  run({"umoci", "raw", "add-layer", "--image", "u:three", "layer.tar"}, dir.path());

  std::string m;
  try {
    open_image(parse_image_ref("u", dir.path()), dir / "images");
  } catch (const Error& e) {
    m = e.message();
  }
  EXPECT_NE(m.find("its tags are one, two, three"), std::string::npos) << m;
  Image image = open_image(parse_image_ref("oci:u:one", dir.path()), dir / "images");
  ASSERT_EQ(image.layers.size(), 1u);
  EXPECT_EQ(image.layers[0].diff_id, testing::sha256_of(tar));
  EXPECT_EQ(image.chain_id, testing::sha256_of(tar));
  EXPECT_EQ(image.layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(image.config.cmd, std::vector<std::string>{"/bin/true"});
  EXPECT_EQ(image.config.user, "7");
}

}  // namespace
}  // namespace execvm
