#include "image/flatten.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/tar_testing.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::dir;
using testing::file;
using testing::hardlink;
using testing::make_image;
using testing::make_tar;
using testing::symlink;
using testing::TempDir;
using testing::TestEntry;
using testing::whiteout;
using testing::write_layer;

// A file capability (vfs_cap_data, revision 2): cap_net_raw permitted and effective.
const std::string kNetRawCap = std::string(
    "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00",
    20);

TestEntry with(TestEntry e, int64_t uid, int64_t gid, int64_t mtime) {
  e.uid = uid;
  e.gid = gid;
  e.mtime = mtime;
  return e;
}

TestEntry device(std::string name, mode_t type, unsigned major, unsigned minor) {
  TestEntry e;
  e.name = std::move(name);
  e.type = type;
  e.mode = type == S_IFIFO ? 0600 : 0666;
  e.dev_major = major;
  e.dev_minor = minor;
  return e;
}

// Three layers that use every rule of the OCI layer format, and what the image must hold.
std::vector<std::vector<TestEntry>> semantics_layers() {
  TestEntry ping = file("usr/bin/ping", "ping", 0755);
  ping.xattrs = {{"security.capability", kNetRawCap}, {"user.note", "kept"}};
  TestEntry acl = file("acl", "a");
  acl.xattrs = {{"system.posix_acl_access", std::string("\x02\x00\x00\x00", 4)}};
  std::vector<TestEntry> layer1 = {
      dir("etc"),
      file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
      dir("usr"),
      dir("usr/bin"),
      file("usr/bin/tool", "tool v1", 04755),
      hardlink("usr/bin/tool2", "usr/bin/tool"),
      ping,
      acl,
      dir("opaque"),
      file("opaque/old", "old"),
      dir("opaque/sub"),
      file("opaque/sub/old2", "old2"),
      file("gone", "x"),
      dir("dir2file"),
      file("dir2file/child", "c"),
      file("file2dir", "f"),
      symlink("lib", "usr/lib"),
      dir("dev"),
      device("dev/null", S_IFCHR, 1, 3),
      device("dev/loop0", S_IFBLK, 7, 0),
      device("dev/big", S_IFCHR, 4000, 300000),
      dir("run"),
      device("run/fifo", S_IFIFO, 0, 0),
      with(file("owned", "o", 0640), 1234, 5678, 1234567890),
      dir("tmp", 01777),
      file("setgid", "g", 02755),
      file("implicit/deep/x", "deep"),
      file("big", std::string(300000, 'b') + "end"),
      file("zeros", std::string(400000, '\0')),
  };
  std::vector<TestEntry> layer2 = {
      whiteout("", "gone"),
      dir("opaque"),
      whiteout("opaque", ""),
      file("opaque/new", "new"),
      file("dir2file", "now a file"),
      dir("file2dir"),
      file("file2dir/child", "c2"),
      hardlink("usr/bin/tool3", "usr/bin/tool"),
      with(dir("etc", 0700), 0, 0, 1700000100),
      file("etc/hosts", "127.0.0.1 localhost\n"),
      whiteout("nowhere/at/all", "x"),
  };
  std::vector<TestEntry> layer3 = {
      dir("dir2file"),
      file("dir2file/again", "back"),
      whiteout("usr/bin", "tool2"),
      file("/abs/path", "leading slash"),
      file("./dot/path", "leading dot"),
  };
  return {layer1, layer2, layer3};
}

Image semantics_image(const TempDir& tmp, std::vector<LayerCompression> kinds = {
                                              LayerCompression::kGzip, LayerCompression::kZstd,
                                              LayerCompression::kNone}) {
  auto layers = semantics_layers();
  return make_image({write_layer(tmp, make_tar(layers[0]), kinds[0]),
                     write_layer(tmp, make_tar(layers[1]), kinds[1]),
                     write_layer(tmp, make_tar(layers[2]), kinds[2])});
}

const std::vector<std::string> kSemanticsListing = {
    "/ d 0755 0:0 0 ",
    "/abs d 0755 0:0 0 ",
    "/abs/path - 0644 0:0 1700000000 'leading slash'",
    "/acl - 0644 0:0 1700000000 'a'",
    "/big - 0644 0:0 1700000000 300003:" +
        sha256_hex(std::string(300000, 'b') + "end").substr(0, 16),
    "/dev d 0755 0:0 1700000000 ",
    "/dev/big c 0666 0:0 1700000000 4000,300000",
    "/dev/loop0 b 0666 0:0 1700000000 7,0",
    "/dev/null c 0666 0:0 1700000000 1,3",
    "/dir2file d 0755 0:0 1700000000 ",
    "/dir2file/again - 0644 0:0 1700000000 'back'",
    "/dot d 0755 0:0 0 ",
    "/dot/path - 0644 0:0 1700000000 'leading dot'",
    "/etc d 0700 0:0 1700000100 ",
    "/etc/hosts - 0644 0:0 1700000000 '127.0.0.1 localhost\n'",
    "/etc/passwd - 0644 0:0 1700000000 'root:x:0:0::/root:/bin/sh\n'",
    "/file2dir d 0755 0:0 1700000000 ",
    "/file2dir/child - 0644 0:0 1700000000 'c2'",
    "/implicit d 0755 0:0 0 ",
    "/implicit/deep d 0755 0:0 0 ",
    "/implicit/deep/x - 0644 0:0 1700000000 'deep'",
    "/lib l 0777 0:0 1700000000 -> usr/lib",
    "/opaque d 0755 0:0 1700000000 ",
    "/opaque/new - 0644 0:0 1700000000 'new'",
    "/owned - 0640 1234:5678 1234567890 'o'",
    "/run d 0755 0:0 1700000000 ",
    "/run/fifo p 0600 0:0 1700000000 ",
    "/setgid - 2755 0:0 1700000000 'g'",
    "/tmp d 1777 0:0 1700000000 ",
    "/usr d 0755 0:0 1700000000 ",
    "/usr/bin d 0755 0:0 1700000000 ",
    "/usr/bin/ping - 0755 0:0 1700000000 'ping' security.capability=" + hex(kNetRawCap) +
        " user.note=" + hex("kept"),
    "/usr/bin/tool - 4755 0:0 1700000000 'tool v1'",
    "/usr/bin/tool3 - 4755 0:0 1700000000 'tool v1' link=/usr/bin/tool",
    "/zeros - 0644 0:0 1700000000 400000:" + sha256_hex(std::string(400000, '\0')).substr(0, 16),
};

TEST(Flatten, AppliesLayersAsTheOciSpecSays) {
  TempDir tmp;
  Image image = semantics_image(tmp);
  std::vector<FlattenProgress> seen;
  FlattenResult r = flatten_image(image, tmp / "root.squashfs",
                                  [&](const FlattenProgress& p) { seen.push_back(p); });
  EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"), kSemanticsListing);
  EXPECT_EQ(r.files, kSemanticsListing.size() - 1);
  uint64_t size = 0;
  ASSERT_TRUE(is_regular_file(tmp / "root.squashfs", &size));
  EXPECT_EQ(r.image_bytes, size);
  EXPECT_EQ(size % 4096, 0u);
  ASSERT_FALSE(seen.empty());
  uint64_t blobs = 0;
  for (const ImageLayer& l : image.layers) blobs += l.size;
  EXPECT_EQ(seen.back().bytes_done, blobs);
  EXPECT_EQ(seen.back().bytes_total, blobs);
}

// The same image as the kernel mounts it (root only: a loop mount).
TEST(Flatten, TheKernelReadsTheImage) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a loop mount";
  TempDir tmp;
  Image image = semantics_image(tmp);
  flatten_image(image, tmp / "root.squashfs", nullptr);
  std::string mnt = tmp.mkdir("mnt");
  auto mounted =
      run_capture({"mount", "-t", "squashfs", "-o", "loop,ro", tmp / "root.squashfs", mnt}, true);
  if (mounted.status != 0) GTEST_SKIP() << "cannot loop-mount here: " << mounted.output;
  std::vector<std::string> listing;
  try {
    listing = testing::list_tree(mnt);
  } catch (...) {
    ::umount(mnt.c_str());
    throw;
  }
  ::umount(mnt.c_str());
  EXPECT_EQ(listing, kSemanticsListing);
}

// The same image as umoci (the OCI project's own tool) unpacks it as root: the listings agree
// but for the directories that no layer names (umoci makes them when it unpacks) and the root.
TEST(Flatten, AgreesWithUmoci) {
  if (::geteuid() != 0 || !find_program("umoci")) GTEST_SKIP() << "needs umoci, as root";
  TempDir tmp;
  // umoci 0.4.7 reads no zstd layers.
  Image image = semantics_image(
      tmp, {LayerCompression::kGzip, LayerCompression::kGzip, LayerCompression::kNone});
  std::string layout = tmp.mkdir("layout");
  tmp.mkdir("layout/blobs");
  tmp.mkdir("layout/blobs/sha256");
  auto blob = [&](const std::string& data) {
    std::string digest = "sha256:" + sha256_hex(data);
    tmp.write("layout/blobs/sha256/" + digest.substr(7), data);
    return nlohmann::json{{"digest", digest}, {"size", data.size()}};
  };
  nlohmann::json config = {{"architecture", "amd64"},
                           {"os", "linux"},
                           {"config", nlohmann::json::object()},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
  nlohmann::json layers = nlohmann::json::array();
  for (const ImageLayer& l : image.layers) {
    config["rootfs"]["diff_ids"].push_back(l.diff_id);
    nlohmann::json d = blob(read_file(l.path));
    d["mediaType"] = l.media_type;
    layers.push_back(d);
  }
  nlohmann::json config_d = blob(config.dump());
  config_d["mediaType"] = "application/vnd.oci.image.config.v1+json";
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"config", config_d},
                             {"layers", layers}};
  nlohmann::json manifest_d = blob(manifest.dump());
  manifest_d["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
  manifest_d["annotations"] = {{"org.opencontainers.image.ref.name", "latest"}};
  tmp.write("layout/index.json",
            nlohmann::json{{"schemaVersion", 2}, {"manifests", {manifest_d}}}.dump());
  tmp.write("layout/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  auto unpacked =
      run_capture({"umoci", "unpack", "--image", layout + ":latest", tmp / "bundle"}, true);
  ASSERT_EQ(unpacked.status, 0) << unpacked.output;

  flatten_image(image, tmp / "root.squashfs", nullptr);
  auto mask = [](std::vector<std::string> lines) {
    for (std::string& line : lines) {
      for (const char* made : {"/ ", "/abs ", "/dot ", "/implicit ", "/implicit/deep "}) {
        if (starts_with(line, made)) line = made + std::string("(made)");
      }
    }
    return lines;
  };
  std::vector<std::string> umoci = testing::list_tree(tmp / "bundle/rootfs");
  EXPECT_EQ(umoci.size(), kSemanticsListing.size());
  EXPECT_EQ(mask(umoci), mask(testing::list_squashfs(tmp / "root.squashfs")));
}

// One layer as tar2sqfs (squashfs-tools-ng's own converter) packs it: sqfsdiff finds the same
// entries, contents, owners, modes, timestamps and xattrs.
TEST(Flatten, AgreesWithTar2sqfs) {
  if (!find_program("tar2sqfs") || !find_program("sqfsdiff")) GTEST_SKIP() << "needs tar2sqfs";
  TempDir tmp;
  std::string tar = make_tar(semantics_layers()[0]);
  std::string tar_path = tmp.write("layer.tar", tar);
  flatten_image(make_image({write_layer(tmp, tar)}), tmp / "mine.squashfs", nullptr);
  auto packed = run_capture(
      {"sh", "-c", "tar2sqfs -q -c lz4 \"$1\" < \"$2\" 2>&1", "sh", tmp / "ref.squashfs", tar_path},
      true);
  ASSERT_EQ(packed.status, 0) << packed.output;
  auto diff = run_capture(
      {"sqfsdiff", "-T", "-a", tmp / "ref.squashfs", "-b", tmp / "mine.squashfs"}, true);
  EXPECT_EQ(diff.status, 0) << diff.output;
  // sqfsdiff must see a difference where there is one.
  flatten_image(make_image({write_layer(tmp, make_tar(semantics_layers()[2]))}),
                tmp / "other.squashfs", nullptr);
  EXPECT_EQ(
      run_capture({"sqfsdiff", "-a", tmp / "ref.squashfs", "-b", tmp / "other.squashfs"}, true)
          .status,
      1);
}

TEST(Flatten, CompressedFormatsHoldTheSameTree) {
  for (auto c : {SquashfsWriter::Compression::kLz4, SquashfsWriter::Compression::kZstd}) {
    TempDir tmp;
    FlattenOptions options;
    options.compression = c;
    flatten_image(semantics_image(tmp), tmp / "root.squashfs", nullptr, options);
    EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"), kSemanticsListing);
  }
}

// The same layers make the same bytes, so that an entry can be checked against another build.
TEST(Flatten, IsDeterministic) {
  TempDir tmp;
  Image image = semantics_image(tmp);
  FlattenOptions one_worker;
  one_worker.workers = 1;
  flatten_image(image, tmp / "a.squashfs", nullptr);
  flatten_image(image, tmp / "b.squashfs", nullptr, one_worker);
  EXPECT_TRUE(read_file(tmp / "a.squashfs") == read_file(tmp / "b.squashfs"));
}

// A file that a later layer adds again unchanged (a chmod or chown in a Dockerfile does that)
// is stored once.
TEST(Flatten, StoresIdenticalFilesOnce) {
  TempDir tmp;
  std::string data(1 << 20, 'd');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096);
  Image once = make_image({write_layer(tmp, make_tar({file("f", data)}))});
  Image twice = make_image({write_layer(tmp, make_tar({file("f", data)})),
                            write_layer(tmp, make_tar({file("f", data, 0755), file("g", data)}))});
  uint64_t a = flatten_image(once, tmp / "once.squashfs", nullptr).image_bytes;
  uint64_t b = flatten_image(twice, tmp / "twice.squashfs", nullptr).image_bytes;
  EXPECT_LT(b, a + 8192);
  EXPECT_EQ(testing::list_squashfs(tmp / "twice.squashfs"),
            (std::vector<std::string>{"/ d 0755 0:0 0 ",
                                      "/f - 0755 0:0 1700000000 " + testing::describe_data(data),
                                      "/g - 0644 0:0 1700000000 " + testing::describe_data(data)}));
}

TEST(Flatten, AnEmptyImageIsAnEmptyRoot) {
  TempDir tmp;
  FlattenResult r = flatten_image(make_image({}), tmp / "root.squashfs", nullptr);
  EXPECT_EQ(r.files, 0u);
  EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"),
            std::vector<std::string>{"/ d 0755 0:0 0 "});
}

TEST(Flatten, ARootEntrySetsTheRootsMetadata) {
  TempDir tmp;
  Image image = make_image(
      {write_layer(tmp, make_tar({with(dir("./", 0750), 5, 6, 1600000000), file("a", "1")}))});
  flatten_image(image, tmp / "root.squashfs", nullptr);
  EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"),
            (std::vector<std::string>{"/ d 0750 5:6 1600000000 ", "/a - 0644 0:0 1700000000 '1'"}));
}

TEST(Flatten, AWhiteoutLeavesThisLayersEntryAlone) {
  TempDir tmp;
  Image image = make_image({write_layer(tmp, make_tar({file("a", "lower"), file("b", "lower")})),
                            write_layer(tmp, make_tar({file("a", "upper"), whiteout("", "a"),
                                                       whiteout("", "b"), file("b", "again")}))});
  flatten_image(image, tmp / "root.squashfs", nullptr);
  EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"),
            (std::vector<std::string>{"/ d 0755 0:0 0 ", "/a - 0644 0:0 1700000000 'upper'",
                                      "/b - 0644 0:0 1700000000 'again'"}));
}

TEST(Flatten, AnOpaqueDirectoryKeepsThisLayersEntriesUnderLowerDirectories) {
  TempDir tmp;
  Image image = make_image(
      {write_layer(tmp, make_tar({dir("d"), dir("d/x"), file("d/x/old", "o"), file("d/y", "o")})),
       write_layer(tmp, make_tar({file("d/x/new", "n"), whiteout("d", "")}))});
  flatten_image(image, tmp / "root.squashfs", nullptr);
  EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"),
            (std::vector<std::string>{"/ d 0755 0:0 0 ", "/d d 0755 0:0 1700000000 ",
                                      "/d/x d 0755 0:0 1700000000 ",
                                      "/d/x/new - 0644 0:0 1700000000 'n'"}));
}

TEST(Flatten, ReplacingOneNameOfAHardlinkLeavesTheOther) {
  TempDir tmp;
  Image image = make_image(
      {write_layer(tmp, make_tar({file("a", "shared"), hardlink("b", "a"), hardlink("c", "a")})),
       write_layer(tmp, make_tar({file("a", "new a"), hardlink("c", "b")}))});
  flatten_image(image, tmp / "root.squashfs", nullptr);
  EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"),
            (std::vector<std::string>{"/ d 0755 0:0 0 ", "/a - 0644 0:0 1700000000 'new a'",
                                      "/b - 0644 0:0 1700000000 'shared'",
                                      "/c - 0644 0:0 1700000000 'shared' link=/b"}));
}

// A directory entry over a symlink replaces the symlink; it never changes what the link
// points to (CVE-2021-32760: a chmod through a symlink).
TEST(Flatten, ADirectoryOverASymlinkReplacesTheLink) {
  TempDir tmp;
  Image image =
      make_image({write_layer(tmp, make_tar({dir("target", 0755), symlink("link", "target")})),
                  write_layer(tmp, make_tar({dir("link", 0777)}))});
  flatten_image(image, tmp / "root.squashfs", nullptr);
  EXPECT_EQ(testing::list_squashfs(tmp / "root.squashfs"),
            (std::vector<std::string>{"/ d 0755 0:0 0 ", "/link d 0777 0:0 1700000000 ",
                                      "/target d 0755 0:0 1700000000 "}));
}

TEST(Flatten, TheOutputMustBeNew) {
  TempDir tmp;
  tmp.write("root.squashfs", "mine");
  EXPECT_THROW(flatten_image(make_image({}), tmp / "root.squashfs", nullptr), Error);
  EXPECT_EQ(read_file(tmp / "root.squashfs"), "mine");
}

// ---- Hostile and broken layers: refused with one line naming the layer and the entry, the
// output removed, and nothing else written.

struct Refusal {
  std::string message;
  int exit_code = 0;
};

Refusal refuse(const TempDir& tmp, const Image& image, const FlattenOptions& options = {}) {
  std::set<std::string> before = testing::tree_listing(tmp.path());
  Refusal r;
  try {
    flatten_image(image, tmp / "root.squashfs", nullptr, options);
    ADD_FAILURE() << "flatten_image accepted the image";
  } catch (const Error& e) {
    r.message = e.message();
    r.exit_code = e.exit_code();
  }
  EXPECT_EQ(testing::tree_listing(tmp.path()), before) << "something was left beside the output";
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
  return r;
}

// The layer's short digest, as the message must name it.
std::string short_id(const ImageLayer& layer) {
  return layer.digest.substr(7, 12);
}

void expect_refused(const std::vector<TestEntry>& entries, const std::string& entry,
                    const std::string& why) {
  TempDir tmp;
  ImageLayer layer = write_layer(tmp, make_tar(entries));
  Refusal r = refuse(tmp, make_image({layer}));
  EXPECT_NE(r.message.find("image layer " + short_id(layer) + " (1 of 1)"), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("entry '" + entry + "'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(why), std::string::npos) << r.message;
}

TEST(FlattenRefuses, DotDotComponents) {
  TempDir scratch;
  std::string escape = "execvm-escape-" + std::to_string(::getpid());
  expect_refused({file("a/../../../../" + escape, "x")}, "a/../../../../" + escape, "'..'");
  expect_refused({file("/../" + escape, "x")}, "/../" + escape, "'..'");
  expect_refused({file("a/..", "x")}, "a/..", "'..'");
  expect_refused({symlink("ok", "x"), hardlink("h", "../x")}, "h", "'..'");
  EXPECT_FALSE(is_regular_file("/" + escape));
  EXPECT_FALSE(is_regular_file(parent_directory(scratch.path()) + "/" + escape));
}

TEST(FlattenRefuses, ASymlinkOrFileAsTheRoot) {
  expect_refused({symlink(".", "/elsewhere")}, ".", "replace the root");
  expect_refused({symlink("/", "/elsewhere")}, "/", "replace the root");
  expect_refused({symlink("./", "/elsewhere")}, "./", "replace the root");
  expect_refused({file("a", "x"), hardlink(".", "a")}, ".", "replace the root");
}

TEST(FlattenRefuses, AnEntryUnderASymlink) {
  expect_refused({symlink("etc", "/etc"), file("etc/passwd", "x")}, "etc/passwd",
                 "'etc', which is a symlink");
  expect_refused({dir("real"), symlink("real/link", "/"), dir("real/link/root")}, "real/link/root/",
                 "'real/link', which is a symlink");
  // Across layers too.
  TempDir tmp;
  ImageLayer lower = write_layer(tmp, make_tar({symlink("lnk", "/")}));
  ImageLayer upper = write_layer(tmp, make_tar({file("lnk/etc/shadow", "x")}));
  Refusal r = refuse(tmp, make_image({lower, upper}));
  EXPECT_NE(r.message.find("image layer " + short_id(upper) + " (2 of 2), entry 'lnk/etc/shadow'"),
            std::string::npos)
      << r.message;
}

TEST(FlattenRefuses, AnEntryUnderAFile) {
  expect_refused({file("f", "x"), file("f/g", "y")}, "f/g", "'f', which is not a directory");
}

TEST(FlattenRefuses, BadHardlinks) {
  expect_refused({hardlink("h", "missing")}, "h", "not in the image");
  expect_refused({hardlink("h", "later"), file("later", "x")}, "h", "not in the image");
  expect_refused({hardlink("h", "/etc/shadow")}, "h", "not in the image");
  expect_refused({dir("d"), hardlink("h", "d")}, "h", "a hardlink to a directory");
  expect_refused({hardlink("h", ".")}, "h", "a hardlink to a directory");
  expect_refused({dir("real"), file("real/f", "x"), symlink("lnk", "real"), hardlink("h", "lnk/f")},
                 "h", "'lnk', which is a symlink");
  expect_refused({file("h", "x"), hardlink("h", "h")}, "h", "a hardlink to itself");
}

// CVE-2021-29136: a whiteout that names the parent or the root.
TEST(FlattenRefuses, WhiteoutsOfTheRootOrParents) {
  expect_refused({file("a/b", "x"), file("a/.wh..", "")}, "a/.wh..", "a whiteout of '.'");
  expect_refused({file(".wh..", "")}, ".wh..", "a whiteout of '.'");
  expect_refused({file("a/b", "x"), file("a/.wh...", "")}, "a/.wh...", "a whiteout of '..'");
  expect_refused({file("a/.wh.", "")}, "a/.wh.", "a whiteout of ''");
  expect_refused({file("../.wh.etc", "")}, "../.wh.etc", "'..'");
  expect_refused({symlink("lnk", "/"), file("lnk/.wh.etc", "")}, "lnk/.wh.etc",
                 "'lnk', which is a symlink");
  expect_refused({symlink("lnk", "/"), file("lnk/.wh..wh..opq", "")}, "lnk/.wh..wh..opq",
                 "'lnk', which is a symlink");
}

// CVE-2025-62518: a PAX size that a reader taking the ustar size would read otherwise.
TEST(FlattenRefuses, APaxHeaderThatReadsTwoWays) {
  using testing::pax_header;
  using testing::pax_record;
  using testing::raw_file;
  using testing::RawHeader;
  TempDir tmp;
  // The outer entry says 0 bytes in PAX and 1536 in ustar: inside hides another tar.
  std::string inner = raw_file("smuggled", "evil");
  RawHeader outer;
  outer.name = "cover";
  outer.size = inner.size();
  std::string tar = pax_header(pax_record("size", "0")) + testing::raw_header(outer) + inner +
                    testing::end_of_archive();
  ImageLayer layer = write_layer(tmp, tar);
  Refusal r = refuse(tmp, make_image({layer}));
  EXPECT_NE(r.message.find("entry 'cover': a PAX size that differs from the header's size"),
            std::string::npos)
      << r.message;

  TempDir tmp2;
  std::string dup = pax_header(pax_record("path", "a") + pax_record("path", "b")) +
                    raw_file("x", "1") + testing::end_of_archive();
  ImageLayer layer2 = write_layer(tmp2, dup);
  r = refuse(tmp2, make_image({layer2}));
  EXPECT_NE(r.message.find("gives 'path' twice"), std::string::npos) << r.message;
}

TEST(FlattenRefuses, ALayerLargerThanTheFreeSpace) {
  TempDir tmp;
  ImageLayer layer = write_layer(tmp, make_tar({file("big", std::string(4 << 20, 'x'))}));
  FlattenOptions options;
  options.free_space = [] { return uint64_t(1) << 20; };
  options.reserve = 0;
  Refusal r = refuse(tmp, make_image({layer}), options);
  EXPECT_NE(r.message.find("image layer " + short_id(layer) +
                           " (1 of 1): the layer decompresses "
                           "to more than the 1.0 MiB free"),
            std::string::npos)
      << r.message;
}

TEST(FlattenRefuses, AFilesystemThatFillsUp) {
  TempDir tmp;
  ImageLayer layer = write_layer(tmp, make_tar({file("big", std::string(40 << 20, 'x'))}));
  FlattenOptions options;
  uint64_t calls = 0;
  options.free_space = [&] { return ++calls > 1 ? uint64_t(1) << 20 : uint64_t(1) << 40; };
  Refusal r = refuse(tmp, make_image({layer}), options);
  EXPECT_NE(r.message.find("nearly full"), std::string::npos) << r.message;
}

TEST(FlattenRefuses, MoreEntriesThanTheTreeMayHold) {
  TempDir tmp;
  ImageLayer one = write_layer(tmp, make_tar({file("a", "1"), file("b", "2")}));
  ImageLayer two = write_layer(tmp, make_tar({file("c", "3"), file("d", "4")}));
  FlattenOptions options;
  options.max_entries = 3;  // across the layers: the fourth entry is one too many
  Refusal r = refuse(tmp, make_image({one, two}), options);
  EXPECT_NE(r.message.find("image layer " + short_id(two) +
                           " (2 of 2): the image has more than 3 entries"),
            std::string::npos)
      << r.message;
  options.max_entries = 4;
  TempDir out;
  EXPECT_NO_THROW(flatten_image(make_image({one, two}), out / "root.sqfs", nullptr, options));
}

// CVE-2017-14992: a layer that expands without bound.
TEST(FlattenRefuses, ADecompressionBomb) {
  for (auto c : {LayerCompression::kGzip, LayerCompression::kZstd}) {
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, make_tar({file("zeros", std::string(16 << 20, '\0'))}), c);
    FlattenOptions options;
    options.limits.max_ratio = 100;
    options.limits.allowance = 1 << 20;
    Refusal r = refuse(tmp, make_image({layer}), options);
    EXPECT_NE(r.message.find("expands more than 100 times"), std::string::npos) << r.message;
  }
}

TEST(FlattenRefuses, BlobsThatAreNotWhatTheirDigestsSay) {
  {
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, make_tar({file("a", "1")}));
    layer.digest = "sha256:" + std::string(64, 'a');
    Refusal r = refuse(tmp, make_image({layer}));
    EXPECT_NE(r.message.find("image layer aaaaaaaaaaaa (1 of 1): the blob does not match its "
                             "digest"),
              std::string::npos)
        << r.message;
  }
  {
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, make_tar({file("a", "1")}));
    layer.diff_id = "sha256:" + std::string(64, 'b');
    Refusal r = refuse(tmp, make_image({layer}));
    EXPECT_NE(r.message.find("does not match its diff ID"), std::string::npos) << r.message;
  }
  {
    // A verified blob is not hashed again, but its tar still is.
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, make_tar({file("a", "1")}));
    layer.digest = "sha256:" + std::string(64, 'a');
    layer.verified = true;
    flatten_image(make_image({layer}), tmp / "root.squashfs", nullptr);
  }
  {
    // A damaged blob says so, not that its tar is hostile.
    TempDir tmp;
    std::string tar = make_tar({file("a", std::string(100000, 'a'))});
    ImageLayer layer = write_layer(tmp, tar, LayerCompression::kNone);
    tar[600] = 'X';
    write_file(layer.path, tar);
    Refusal r = refuse(tmp, make_image({layer}));
    EXPECT_NE(r.message.find("the blob does not match its digest"), std::string::npos) << r.message;
  }
}

TEST(FlattenRefuses, TruncatedAndCorruptBlobs) {
  for (auto c : {LayerCompression::kGzip, LayerCompression::kZstd, LayerCompression::kNone}) {
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, make_tar({file("a", std::string(50000, 'a'))}), c);
    std::string blob = read_file(layer.path);
    write_file(layer.path, blob.substr(0, blob.size() / 2));
    layer.size = 0;
    layer.verified = true;
    Refusal r = refuse(tmp, make_image({layer}));
    // A plain tar cut short is found by its diff ID before its last entry is blamed.
    EXPECT_NE(
        r.message.find(c == LayerCompression::kNone ? "does not match its diff ID" : "truncated"),
        std::string::npos)
        << r.message;
  }
  TempDir tmp;
  ImageLayer layer = write_layer(tmp, make_tar({file("a", "1")}));
  layer.media_type = "application/vnd.oci.image.config.v1+json";
  Refusal r = refuse(tmp, make_image({layer}));
  EXPECT_NE(r.message.find("unknown media type"), std::string::npos) << r.message;
  layer.media_type = testing::media_type(LayerCompression::kGzip);
  layer.path = tmp / "missing";
  r = refuse(tmp, make_image({layer}));
  EXPECT_NE(r.message.find("cannot open the layer blob"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace execvm
