#include "image/archive.h"

#include <gtest/gtest.h>

#include <thread>

#include "image/blob_store.h"
#include "image/digest.h"
#include "image/image_fixtures.h"
#include "image/oci.h"
#include "image/source.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/testing.h"

namespace execvm {
namespace {

using nlohmann::json;
using testing::Layout;
using testing::make_tar;
using testing::TarMember;
using testing::TempDir;
using testing::tree_listing;

// Bytes that do not compress away, so that a layer is as large as it says.
std::string noise(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  for (char& c : out) {
    seed = seed * 1664525 + 1013904223;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

class ArchiveTest : public ::testing::Test {
 protected:
  std::string images() const { return dir_ / "images"; }
  std::string blobs() const { return dir_ / "images/blobs/sha256"; }

  ImageRef ref(ImageRef::Kind kind, const std::string& file, const std::string& tag = "") {
    std::string text = std::string(kind_name(kind)) + ":" + file + (tag.empty() ? "" : ":" + tag);
    return ImageRef{kind, dir_ / file, tag, text};
  }

  std::string error_of(const ImageRef& r) {
    try {
      open_image(r, images());
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kExitFailure);
      std::string m = e.message();
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      return m;
    }
    return "";
  }

  // Everything in the scratch directory but the images dir.
  std::set<std::string> outside_images() const {
    auto all = tree_listing(dir_.path());
    std::set<std::string> out;
    for (const auto& p : all)
      if (p.rfind("images/", 0) != 0) out.insert(p);
    return out;
  }

  // An image of a small gzip layer and a large plain one (read in a pass of its own).
  static json add_two_layer_image(Layout& layout, json config = json::object()) {
    return layout.add_image({{testing::layer_tar({{"etc/hostname", "box\n"}}), "gzip"},
                             {testing::layer_tar({{"data/big", noise(3 << 20, 7)}}), ""}},
                            config);
  }

  TempDir dir_;
};

TEST_F(ArchiveTest, OciArchiveImportsItsBlobsVerified) {
  Layout layout;
  json manifest = add_two_layer_image(layout, {{"Cmd", {"/bin/true"}}});
  layout.list(manifest, "v1");
  dir_.write("app.tar", make_tar(layout.members()));
  auto outside = outside_images();
  Image image = open_image(ref(ImageRef::Kind::kOciArchive, "app.tar"), images());
  EXPECT_EQ(outside_images(), outside);
  EXPECT_EQ(image.source, "oci-archive");
  EXPECT_EQ(image.location, dir_ / "app.tar");
  EXPECT_EQ(image.tag, "v1");
  EXPECT_EQ(image.manifest_digest, manifest["digest"]);
  EXPECT_EQ(image.config.cmd, std::vector<std::string>{"/bin/true"});
  ASSERT_EQ(image.layers.size(), 2u);
  BlobStore store(images());
  for (const ImageLayer& l : image.layers) {
    EXPECT_TRUE(l.verified);
    EXPECT_EQ(l.path, store.path(parse_digest(l.digest, "")));
    EXPECT_EQ("sha256:" + sha256_file_hex(l.path), l.digest);
  }
  EXPECT_EQ(image.layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(image.layers[1].size, image.layers[1].size);
  // The store holds the two layers, the manifest and the config: nothing else.
  EXPECT_EQ(tree_listing(blobs()).size(), 4u);
  EXPECT_TRUE(store.contains(parse_digest(manifest["digest"].get<std::string>(), "")));
  EXPECT_TRUE(store.contains(parse_digest(image.config_digest, "")));

  // Again: the layers the store has are not read again, and nothing is written.
  auto all = tree_listing(dir_.path());
  Image again = open_image(ref(ImageRef::Kind::kOciArchive, "app.tar"), images());
  EXPECT_EQ(tree_listing(dir_.path()), all);
  EXPECT_EQ(again.chain_id, image.chain_id);
  EXPECT_EQ(again.layers[1].path, image.layers[1].path);
  EXPECT_FALSE(again.layers[1].verified);
}

TEST_F(ArchiveTest, TwoFirstOpensAtOnceBothSucceed) {
  Layout layout;
  layout.list(add_two_layer_image(layout));
  dir_.write("app.tar", make_tar(layout.members()));
  Image images_opened[2];
  std::string errors[2];
  auto open = [&](int i) {
    try {
      images_opened[i] = open_image(ref(ImageRef::Kind::kOciArchive, "app.tar"), images());
    } catch (const Error& e) {
      errors[i] = e.message();
    }
  };
  std::thread a(open, 0), b(open, 1);
  a.join();
  b.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  ASSERT_EQ(images_opened[0].layers.size(), 2u);
  ASSERT_EQ(images_opened[1].layers.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    // Whether each one imported a layer or found it imported depends on timing; not the result.
    EXPECT_EQ(images_opened[0].layers[i].path, images_opened[1].layers[i].path);
    EXPECT_EQ("sha256:" + sha256_file_hex(images_opened[0].layers[i].path),
              images_opened[0].layers[i].digest);
  }
  EXPECT_EQ(tree_listing(blobs()).size(), 4u);  // no temporary file left
}

TEST_F(ArchiveTest, OciArchiveTags) {
  Layout layout;
  json one = layout.add_image({{testing::layer_tar({{"v", "1"}})}});
  json two = layout.add_image({{testing::layer_tar({{"v", "2"}})}});
  layout.list(one, "1");
  layout.list(two, "2");
  dir_.write("app.tar", make_tar(layout.members()));
  EXPECT_EQ(open_image(ref(ImageRef::Kind::kOciArchive, "app.tar", "2"), images()).manifest_digest,
            two["digest"]);
  std::string m = error_of(ref(ImageRef::Kind::kOciArchive, "app.tar"));
  EXPECT_NE(m.find("its tags are 1, 2"), std::string::npos) << m;
}

// A docker-archive as skopeo writes it: <diffid>.tar layers, <id>/layer.tar symlinks to them,
// <hex>.json configs, RepoTags with docker.io/.
struct LegacyImage {
  std::vector<std::string> layers;  // plain tars, or compressed
  std::vector<std::string> diff_ids;
  std::vector<std::string> repo_tags;
  json config = json::object();
};

std::vector<TarMember> legacy_archive(const std::vector<LegacyImage>& images,
                                      bool symlinks = true) {
  std::vector<TarMember> members;
  json manifest = json::array();
  std::set<std::string> written;
  for (const LegacyImage& image : images) {
    json diff_ids = json::array();
    for (const auto& d : image.diff_ids) diff_ids.push_back(d);
    json config = {{"architecture", "amd64"},
                   {"os", "linux"},
                   {"config", image.config},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    std::string config_text = config.dump();
    std::string config_name = sha256_hex(config_text) + ".json";
    members.push_back({config_name, config_text});
    json layers = json::array();
    for (size_t i = 0; i < image.layers.size(); ++i) {
      std::string file = sha256_hex(image.layers[i]) + ".tar";
      if (written.insert(file).second) members.push_back({file, image.layers[i]});
      if (symlinks) {
        std::string id = sha256_hex(file + config_text);
        members.push_back({id, "", TarMember::Type::kDirectory});
        members.push_back({id + "/layer.tar", "", TarMember::Type::kSymlink, "../" + file});
        layers.push_back(id + "/layer.tar");
      } else {
        layers.push_back(file);
      }
    }
    manifest.push_back(
        {{"Config", config_name}, {"RepoTags", image.repo_tags}, {"Layers", layers}});
  }
  members.push_back({"manifest.json", manifest.dump()});
  return members;
}

LegacyImage plain_image(const std::vector<std::string>& tars, std::vector<std::string> tags) {
  LegacyImage image;
  image.layers = tars;
  for (const auto& t : tars) image.diff_ids.push_back(testing::sha256_of(t));
  image.repo_tags = std::move(tags);
  return image;
}

TEST_F(ArchiveTest, LegacyDockerArchive) {
  std::string small = testing::layer_tar({{"etc/hostname", "box\n"}});
  std::string big = testing::layer_tar({{"data/big", noise(3 << 20, 3)}});
  LegacyImage image = plain_image({small, big}, {"docker.io/foo/bar:t"});
  image.config = {{"Env", {"A=b"}}, {"Entrypoint", {"/bin/sh", "-c"}}};
  dir_.write("d.tar", make_tar(legacy_archive({image})));
  auto outside = outside_images();
  Image opened = open_image(ref(ImageRef::Kind::kDockerArchive, "d.tar"), images());
  EXPECT_EQ(outside_images(), outside);
  EXPECT_EQ(opened.source, "docker-archive");
  EXPECT_EQ(opened.tag, "docker.io/foo/bar:t");
  EXPECT_EQ(opened.manifest_digest, "");  // the legacy form has no manifest
  EXPECT_EQ(opened.config.env, std::vector<std::string>{"A=b"});
  EXPECT_EQ(opened.config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  ASSERT_EQ(opened.layers.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const ImageLayer& l = opened.layers[i];
    EXPECT_EQ(l.media_type, media_type::kOciLayer);
    EXPECT_EQ(l.digest, image.diff_ids[i]);
    EXPECT_EQ(l.diff_id, image.diff_ids[i]);
    EXPECT_EQ(l.size, image.layers[i].size());
    EXPECT_TRUE(l.verified);
    EXPECT_EQ(read_file(l.path), image.layers[i]);
  }
  EXPECT_EQ(opened.chain_id, "sha256:" + sha256_hex(image.diff_ids[0] + " " + image.diff_ids[1]));
  // The layers and the config, nothing else.
  EXPECT_EQ(tree_listing(blobs()).size(), 3u);
  EXPECT_TRUE(BlobStore(images()).contains(parse_digest(opened.config_digest, "")));

  // By name, with or without docker.io/, and by index; again reading nothing new.
  auto all = tree_listing(dir_.path());
  for (std::string tag : {"foo/bar:t", "docker.io/foo/bar:t", "@0"}) {
    Image again = open_image(ref(ImageRef::Kind::kDockerArchive, "d.tar", tag), images());
    EXPECT_EQ(again.chain_id, opened.chain_id) << tag;
    EXPECT_EQ(again.layers[1].media_type, media_type::kOciLayer);
  }
  EXPECT_EQ(tree_listing(dir_.path()), all);
  std::string m = error_of(ref(ImageRef::Kind::kDockerArchive, "d.tar", "foo/bar:u"));
  EXPECT_NE(m.find("has no image named \"foo/bar:u\": its images are docker.io/foo/bar:t"),
            std::string::npos)
      << m;
  m = error_of(ref(ImageRef::Kind::kDockerArchive, "d.tar", "@1"));
  EXPECT_NE(m.find("holds 1 images, no @1"), std::string::npos) << m;
}

TEST_F(ArchiveTest, LegacyDockerArchiveWithSeveralImages) {
  LegacyImage a = plain_image({testing::layer_tar({{"a", "1"}})}, {"a:1"});
  LegacyImage b = plain_image({testing::layer_tar({{"b", "1"}})}, {"b:2", "b:latest"});
  LegacyImage c = plain_image({testing::layer_tar({{"c", "1"}})}, {});
  dir_.write("d.tar", make_tar(legacy_archive({a, b, c}, false)));
  std::string m = error_of(ref(ImageRef::Kind::kDockerArchive, "d.tar"));
  EXPECT_NE(m.find("holds 3 images; name one with docker-archive:FILE:NAME:TAG or :@N: its images "
                   "are a:1, b:2, @2"),
            std::string::npos)
      << m;
  auto open = [&](const std::string& tag) {
    return open_image(ref(ImageRef::Kind::kDockerArchive, "d.tar", tag), images());
  };
  EXPECT_EQ(open("b").layers[0].diff_id, b.diff_ids[0]);  // b:latest
  EXPECT_EQ(open("b").tag, "b:latest");
  EXPECT_EQ(open("docker.io/library/a:1").layers[0].diff_id, a.diff_ids[0]);
  EXPECT_EQ(open("@2").layers[0].diff_id, c.diff_ids[0]);
  EXPECT_EQ(open("@2").tag, "");
}

TEST_F(ArchiveTest, LegacyCompressedLayersAreToldByTheirMagic) {
  std::string plain = testing::layer_tar({{"a", "1"}});
  std::string gz = Layout::recompress(plain, "gzip");
  std::string zst = Layout::recompress(plain, "zstd");
  // A plain tar whose first name reads as bzip2's magic is still plain.
  std::string bzh = testing::layer_tar({{"BZh91AY&SY", "1"}});
  LegacyImage image;
  image.layers = {gz, zst, bzh};
  image.diff_ids = {testing::sha256_of(plain), testing::sha256_of(plain), testing::sha256_of(bzh)};
  dir_.write("d.tar", make_tar(legacy_archive({image})));
  Image opened = open_image(ref(ImageRef::Kind::kDockerArchive, "d.tar"), images());
  EXPECT_EQ(opened.layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(opened.layers[0].digest, testing::sha256_of(gz));
  EXPECT_EQ(opened.layers[1].media_type, media_type::kOciLayerZstd);
  EXPECT_EQ(opened.layers[1].digest, testing::sha256_of(zst));
  EXPECT_EQ(opened.layers[1].diff_id, testing::sha256_of(plain));
  EXPECT_EQ(opened.layers[2].media_type, media_type::kOciLayer);
  // Again, from the store.
  Image again = open_image(ref(ImageRef::Kind::kDockerArchive, "d.tar"), images());
  EXPECT_EQ(again.layers[2].media_type, media_type::kOciLayer);
  EXPECT_FALSE(again.layers[2].verified);
}

TEST_F(ArchiveTest, LegacyLayerThatIsNotItsDiffIdLeavesNothing) {
  LegacyImage image = plain_image({testing::layer_tar({{"a", "1"}})}, {"x:1"});
  image.diff_ids[0] = testing::sha256_of("something else");
  dir_.write("d.tar", make_tar(legacy_archive({image})));
  std::string m = error_of(ref(ImageRef::Kind::kDockerArchive, "d.tar"));
  EXPECT_NE(m.find("layer 1 of 1 (\"" + sha256_hex(image.layers[0]) +
                   ".tar\") does not match its diff ID " + image.diff_ids[0]),
            std::string::npos)
      << m;
  EXPECT_EQ(tree_listing(blobs()), std::set<std::string>{});
}

TEST_F(ArchiveTest, DockerArchiveWithAnOciLayout) {
  // What Docker 25+ writes: an OCI layout, and a manifest.json whose paths are its blobs.
  Layout layout;
  json manifest = add_two_layer_image(layout, {{"Cmd", {"sh"}}});
  manifest["annotations"] = {{"io.containerd.image.name", "docker.io/library/app:1"},
                             {"org.opencontainers.image.ref.name", "1"}};
  layout.list(manifest);
  json m = json::parse(layout.blob(manifest));
  json docker = json::array(
      {{{"Config", "blobs/sha256/" + m["config"]["digest"].get<std::string>().substr(7)},
        {"RepoTags", {"app:1"}},
        {"Layers", json::array()}}});
  for (const auto& l : m["layers"])
    docker[0]["Layers"].push_back("blobs/sha256/" + l["digest"].get<std::string>().substr(7));
  std::vector<TarMember> members = layout.members();
  members.push_back({"manifest.json", docker.dump()});
  members.push_back({"repositories", R"({"app":{"1":"x"}})"});
  dir_.write("d.tar", make_tar(members));
  Image opened = open_image(parse_image_ref("d.tar", dir_.path()), images());
  EXPECT_EQ(opened.source, "docker-archive");
  EXPECT_EQ(opened.tag, "app:1");
  EXPECT_EQ(opened.manifest_digest, manifest["digest"]);  // read through the OCI manifest
  EXPECT_EQ(opened.layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(opened.layers[1].media_type, media_type::kOciLayer);
  EXPECT_EQ(opened.config.cmd, std::vector<std::string>{"sh"});
  EXPECT_TRUE(opened.layers[0].verified);
  EXPECT_EQ(tree_listing(blobs()).size(), 4u);
}

TEST_F(ArchiveTest, DockerArchiveOfAllPlatformsWithTheBlobsOfOne) {
  // Docker's containerd store saves the image's whole index, with only its own platform's blobs.
  Layout layout;
  json arm = layout.add_image({{testing::layer_tar({{"arm", "1"}})}}, json::object(), "arm64");
  arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
  layout.files().erase("blobs/sha256/" + arm["digest"].get<std::string>().substr(7));
  json amd = add_two_layer_image(layout);
  amd["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  std::string config = layout.config_descriptor()["digest"];
  json index = layout.add_index({arm, amd});
  index["annotations"] = {{"io.containerd.image.name", "docker.io/library/app:1"}};
  layout.list(index);
  json m = json::parse(layout.blob(amd));
  json docker = json::array(
      {{{"Config", "blobs/sha256/" + config.substr(7)}, {"RepoTags", {"app:1"}}, {"Layers", {}}}});
  for (const auto& l : m["layers"])
    docker[0]["Layers"].push_back("blobs/sha256/" + l["digest"].get<std::string>().substr(7));
  std::vector<TarMember> members = layout.members();
  members.push_back({"manifest.json", docker.dump()});
  dir_.write("d.tar", make_tar(members));
  Image opened = open_image(ref(ImageRef::Kind::kDockerArchive, "d.tar", "app:1"), images());
  EXPECT_EQ(opened.manifest_digest, amd["digest"]);
  EXPECT_EQ(opened.config_digest, config);
  EXPECT_EQ(opened.layers[0].media_type, media_type::kOciLayerGzip);
}

TEST_F(ArchiveTest, ACompressedArchive) {
  Layout layout;
  layout.list(add_two_layer_image(layout));
  dir_.write("app.tar.gz", make_tar(layout.members(), "gzip"));
  Image opened = open_image(parse_image_ref("app.tar.gz", dir_.path()), images());
  EXPECT_EQ(opened.source, "oci-archive");
  EXPECT_EQ(opened.layers.size(), 2u);
}

TEST_F(ArchiveTest, ATruncatedArchiveIsOneLineAndLeavesNothing) {
  Layout layout;
  layout.list(add_two_layer_image(layout));
  std::string tar = make_tar(layout.members());
  for (auto [name, data] :
       {std::pair<std::string, std::string>{"cut.tar", tar.substr(0, tar.size() / 2)},
        {"cut.tar.gz", make_tar(layout.members(), "gzip")}}) {
    if (name == "cut.tar.gz") data.resize(data.size() / 2);
    dir_.write(name, data);
    std::string m = error_of(ref(ImageRef::Kind::kOciArchive, name));
    EXPECT_NE(m.find("truncated or damaged"), std::string::npos) << m;
    EXPECT_EQ(tree_listing(images()), std::set<std::string>{}) << name;
  }
}

TEST_F(ArchiveTest, ACorruptLayerLeavesNothingInTheStore) {
  Layout layout;
  json manifest = add_two_layer_image(layout);
  layout.list(manifest);
  json m = json::parse(layout.blob(manifest));
  std::string& big = layout.blob(m["layers"][1]);
  big[big.size() / 2] ^= 1;
  dir_.write("app.tar", make_tar(layout.members()));
  std::string e = error_of(ref(ImageRef::Kind::kOciArchive, "app.tar"));
  EXPECT_NE(e.find("layer 2 of 2 (" + m["layers"][1]["digest"].get<std::string>() +
                   ") does not match its digest"),
            std::string::npos)
      << e;
  // The first layer passed and stays (its digest matched); the bad one and the image's JSON not.
  auto left = tree_listing(blobs());
  EXPECT_EQ(left, std::set<std::string>{m["layers"][0]["digest"].get<std::string>().substr(7) +
                                        " " + std::to_string(m["layers"][0]["size"].get<int>())});
}

TEST_F(ArchiveTest, AMissingLayerIsNamed) {
  Layout layout;
  json manifest = add_two_layer_image(layout);
  layout.list(manifest);
  json m = json::parse(layout.blob(manifest));
  std::string digest = m["layers"][0]["digest"];
  layout.files().erase("blobs/sha256/" + digest.substr(7));
  dir_.write("app.tar", make_tar(layout.members()));
  std::string e = error_of(ref(ImageRef::Kind::kOciArchive, "app.tar"));
  EXPECT_EQ(e, "image oci-archive:app.tar: layer 1 of 2 (" + digest + ") (\"blobs/sha256/" +
                   digest.substr(7) + "\" in the archive) is missing from the archive");
  EXPECT_EQ(tree_listing(images()), std::set<std::string>{});
}

TEST_F(ArchiveTest, MemberNamesThatLeaveTheArchiveAreRefused) {
  for (std::string bad : {"../evil", "/etc/evil", "blobs/../../evil"}) {
    dir_.write("bad.tar", make_tar({{"manifest.json", "[]"}, {bad, "x"}}));
    std::string m = error_of(ref(ImageRef::Kind::kDockerArchive, "bad.tar"));
    EXPECT_NE(m.find("absolute or with \"..\"; it is refused"), std::string::npos)
        << bad << ": " << m;
  }
  dir_.write("link.tar", make_tar({{"manifest.json", "[]"},
                                   {"x", "", TarMember::Type::kHardlink, "../../etc/passwd"}}));
  EXPECT_NE(error_of(ref(ImageRef::Kind::kDockerArchive, "link.tar")).find("hard link"),
            std::string::npos);
}

TEST_F(ArchiveTest, SymlinksAreFollowedWithinTheArchiveOnly) {
  std::string layer = testing::layer_tar({{"a", "1"}});
  LegacyImage image = plain_image({layer}, {"x:1"});
  std::vector<TarMember> members = legacy_archive({image});
  // The layer member points out of the archive, at a file that exists there on the host.
  dir_.mkdir("sub");
  dir_.write(sha256_hex(layer) + ".tar", layer);
  for (auto& m : members)
    if (m.type == TarMember::Type::kSymlink) m.link = "../../" + sha256_hex(layer) + ".tar";
  members.erase(
      std::remove_if(members.begin(), members.end(),
                     [&](const TarMember& m) { return m.name == sha256_hex(layer) + ".tar"; }),
      members.end());
  dir_.write("sub/d.tar", make_tar(members));
  std::string m = error_of(ref(ImageRef::Kind::kDockerArchive, "sub/d.tar"));
  EXPECT_NE(m.find("leads out of the archive"), std::string::npos) << m;

  // A symlink loop.
  for (auto& member : members)
    if (member.type == TarMember::Type::kSymlink) member.link = "layer.tar";
  dir_.write("sub/loop.tar", make_tar(members));
  EXPECT_NE(error_of(ref(ImageRef::Kind::kDockerArchive, "sub/loop.tar")).find("loop of links"),
            std::string::npos);
}

TEST_F(ArchiveTest, HardLinkedAndAbsoluteSymlinkedMembers) {
  std::string layer = testing::layer_tar({{"a", "1"}});
  std::string file = sha256_hex(layer) + ".tar";
  json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"rootfs",
       {{"type", "layers"}, {"diff_ids", {testing::sha256_of(layer), testing::sha256_of(layer)}}}}};
  // The same layer twice: through a hard link and through an absolute symlink.
  json manifest = json::array(
      {{{"Config", "c.json"}, {"RepoTags", {"x:1"}}, {"Layers", {"dir/hard.tar", "dir/abs.tar"}}}});
  std::string text = make_tar({{"c.json", config.dump()},
                               {file, layer},
                               {"dir/hard.tar", "", TarMember::Type::kHardlink, file},
                               {"dir/abs.tar", "", TarMember::Type::kSymlink, "/" + file},
                               {"manifest.json", manifest.dump()}});
  dir_.write("d.tar", text);
  Image opened = open_image(ref(ImageRef::Kind::kDockerArchive, "d.tar"), images());
  ASSERT_EQ(opened.layers.size(), 2u);
  EXPECT_EQ(opened.layers[0].path, opened.layers[1].path);
  EXPECT_EQ(read_file(opened.layers[0].path), layer);
  // A config not named by its digest is kept by the digest of its content.
  EXPECT_EQ(opened.config_digest, testing::sha256_of(config.dump()));
}

TEST_F(ArchiveTest, NamesInMessagesAreOneLine) {
  LegacyImage image = plain_image({testing::layer_tar({{"a", "1"}})}, {"x:1\n\x1b[2Jevil"});
  dir_.write("d.tar", make_tar(legacy_archive({image})));
  std::string m = error_of(ref(ImageRef::Kind::kDockerArchive, "d.tar", "y:1"));
  EXPECT_NE(m.find("x:1??[2Jevil"), std::string::npos) << m;
}

TEST_F(ArchiveTest, AMemberTwiceIsRefused) {
  dir_.write("d.tar", make_tar({{"manifest.json", "[]"}, {"manifest.json", "[{}]"}}));
  EXPECT_NE(error_of(ref(ImageRef::Kind::kDockerArchive, "d.tar")).find("more than once"),
            std::string::npos);
}

TEST_F(ArchiveTest, TheWrongKindSaysWhichItIs) {
  Layout layout;
  layout.list(add_two_layer_image(layout));
  dir_.write("app.tar", make_tar(layout.members()));
  EXPECT_NE(error_of(ref(ImageRef::Kind::kDockerArchive, "app.tar")).find("write oci-archive:"),
            std::string::npos);
  dir_.write("d.tar",
             make_tar(legacy_archive({plain_image({testing::layer_tar({{"a", "1"}})}, {})})));
  EXPECT_NE(error_of(ref(ImageRef::Kind::kOciArchive, "d.tar")).find("write docker-archive:"),
            std::string::npos);
  dir_.mkdir("dir");
  EXPECT_NE(error_of(ref(ImageRef::Kind::kOciArchive, "dir")).find("not a regular file"),
            std::string::npos);
}

}  // namespace
}  // namespace execvm
