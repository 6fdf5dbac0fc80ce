#include "image/rootfs_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "image/tar_testing.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"

namespace execvm {
namespace {

using testing::file;
using testing::make_image;
using testing::make_tar;
using testing::TempDir;
using testing::write_layer;

Image small_image(const TempDir& tmp) {
  return make_image(
      {write_layer(tmp, make_tar({file("a", "one"), file("big", std::string(3 << 20, 'b'))})),
       write_layer(tmp, make_tar({file("b", "two")}), LayerCompression::kZstd)});
}

const std::vector<std::string> kSmallListing = {
    "/ d 0755 0:0 0 ", "/a - 0644 0:0 1700000000 'one'", "/b - 0644 0:0 1700000000 'two'",
    "/big - 0644 0:0 1700000000 3145728:" + sha256_hex(std::string(3 << 20, 'b')).substr(0, 16)};

TEST(RootfsCache, ConvertsOnceAndReusesTheEntry) {
  TempDir tmp;
  Image image = small_image(tmp);
  std::string images = tmp.mkdir("images");
  RootfsEntry first = rootfs_for(image, images, nullptr);
  EXPECT_TRUE(first.built);
  EXPECT_EQ(first.fstype, "squashfs");
  EXPECT_EQ(first.path, images + "/rootfs/" + image.chain_id.substr(7) + ".v" +
                            std::to_string(kRootfsFormatVersion) + ".squashfs");
  EXPECT_EQ(first.path, rootfs_path(image, images));
  uint64_t size = 0;
  ASSERT_TRUE(is_regular_file(first.path, &size));
  EXPECT_EQ(first.size, size);
  EXPECT_EQ(testing::list_squashfs(first.path), kSmallListing);

  RootfsEntry again = rootfs_for(image, images, nullptr);
  EXPECT_FALSE(again.built);
  EXPECT_EQ(again.path, first.path);
  EXPECT_EQ(again.size, first.size);
}

// Each way an entry can be left incomplete: it is noticed and converted again.
TEST(RootfsCache, RebuildsADamagedEntry) {
  TempDir tmp;
  Image image = small_image(tmp);
  std::string images = tmp.mkdir("images");
  std::string path = rootfs_for(image, images, nullptr).path;
  std::string whole = read_file(path);

  auto damage_and_check = [&](const char* what, const std::function<void()>& damage) {
    SCOPED_TRACE(what);
    damage();
    RootfsEntry e = rootfs_for(image, images, nullptr);
    EXPECT_TRUE(e.built);
    EXPECT_EQ(read_file(path), whole);
    EXPECT_FALSE(rootfs_for(image, images, nullptr).built);
  };
  damage_and_check("truncated by half",
                   [&] { ASSERT_EQ(::truncate(path.c_str(), whole.size() / 2), 0); });
  damage_and_check("cut by a few bytes",
                   [&] { ASSERT_EQ(::truncate(path.c_str(), whole.size() - 5), 0); });
  damage_and_check("emptied", [&] { ASSERT_EQ(::truncate(path.c_str(), 0), 0); });
  damage_and_check("a byte of its tables changed", [&] {
    std::string bad = whole;
    uint64_t inode_table = 0;  // the superblock's inode_table_start, at offset 64
    std::memcpy(&inode_table, bad.data() + 64, sizeof inode_table);
    ASSERT_LT(inode_table + 1, bad.size());
    bad[inode_table + 1] ^= 1;
    write_file(path, bad);
  });
  damage_and_check("its superblock changed", [&] {
    std::string bad = whole;
    bad[8] ^= 1;  // the modification time
    write_file(path, bad);
  });
  damage_and_check("without its record", [&] { ASSERT_EQ(::unlink((path + ".ok").c_str()), 0); });
  damage_and_check("removed", [&] { ASSERT_EQ(::unlink(path.c_str()), 0); });
  damage_and_check("a leftover of a killed conversion beside it", [&] {
    ASSERT_EQ(::unlink(path.c_str()), 0);
    tmp.write("images/rootfs/." + base_name(path) + ".tmp.99999", "partial");
  });
  EXPECT_FALSE(is_regular_file(images + "/rootfs/." + base_name(path) + ".tmp.99999"));
}

// Whether some process waits for an flock on the file at PATH (/proc/locks shows it as "->").
bool lock_waited_on(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return false;
  std::string needle = ":" + std::to_string(st.st_ino) + " ";
  for (const std::string& line : split(read_file("/proc/locks"), '\n')) {
    if (line.find("->") != std::string::npos && line.find(needle) != std::string::npos) return true;
  }
  return false;
}

// Two first runs at once: the second waits on the lock while the first converts, then finds
// the entry made.
TEST(RootfsCache, TwoConcurrentFirstRunsConvertOnce) {
  TempDir tmp;
  Image image = small_image(tmp);
  std::string images = tmp.mkdir("images");
  std::string lock_path = rootfs_path(image, images) + ".lock";
  int go[2], results[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(results), 0);

  auto child = [&](bool first) {
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    char c = 0;
    int code = 0;
    try {
      if (!first && ::read(go[0], &c, 1) != 1) ::_exit(90);
      std::function<void()> hook;
      if (first) {
        hook = [&] {
          // Let the second run start, and convert only once it waits on the lock.
          if (::write(go[1], "g", 1) != 1) ::_exit(91);
          for (int i = 0; i < 2000 && !lock_waited_on(lock_path); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          c = lock_waited_on(lock_path) ? 'w' : 'n';
        };
      }
      RootfsEntry e = rootfs_for(image, images, nullptr, FlattenOptions{}, hook);
      std::string report = std::string(first ? "A" : "B") + (e.built ? "built" : "found") +
                           (first ? std::string(1, c) : "") + "\n";
      if (::write(results[1], report.data(), report.size()) < 0) code = 92;
    } catch (const Error& e) {
      code = 93;
    }
    ::_exit(code);
  };
  pid_t a = child(true);
  pid_t b = child(false);
  ::close(results[1]);
  int status_a = 0, status_b = 0;
  ::waitpid(a, &status_a, 0);
  ::waitpid(b, &status_b, 0);
  EXPECT_EQ(status_a, 0);
  EXPECT_EQ(status_b, 0);
  std::string out = read_all(results[0]);
  ::close(results[0]);
  ::close(go[0]);
  ::close(go[1]);
  // A converted while B waited on the lock ('w'); B found A's entry.
  EXPECT_NE(out.find("Abuiltw\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Bfound\n"), std::string::npos) << out;
  EXPECT_EQ(testing::list_squashfs(rootfs_path(image, images)), kSmallListing);
}

TEST(RootfsCache, AFailedConversionLeavesNoEntry) {
  TempDir tmp;
  Image image = make_image({write_layer(tmp, make_tar({file("../escape", "x")}))});
  std::string images = tmp.mkdir("images");
  EXPECT_THROW(rootfs_for(image, images, nullptr), Error);
  std::string name = base_name(rootfs_path(image, images));
  EXPECT_EQ(testing::tree_listing(images),
            (std::set<std::string>{"rootfs/", "rootfs/" + name + ".lock 0"}));
}

TEST(RootfsCache, RemovesAnEntry) {
  TempDir tmp;
  Image image = small_image(tmp);
  std::string images = tmp.mkdir("images");
  EXPECT_FALSE(remove_rootfs(image, images));
  std::string path = rootfs_for(image, images, nullptr).path;
  EXPECT_TRUE(remove_rootfs(image, images));
  EXPECT_FALSE(is_regular_file(path));
  EXPECT_FALSE(is_regular_file(path + ".ok"));
  EXPECT_FALSE(remove_rootfs(image, images));
  EXPECT_TRUE(rootfs_for(image, images, nullptr).built);
}

TEST(RootfsCache, EachFormatHasItsOwnEntry) {
  TempDir tmp;
  Image image = small_image(tmp);
  std::string images = tmp.mkdir("images");
  FlattenOptions lz4;
  lz4.compression = SquashfsWriter::Compression::kLz4;
  RootfsEntry plain = rootfs_for(image, images, nullptr);
  RootfsEntry compressed = rootfs_for(image, images, nullptr, lz4);
  EXPECT_TRUE(compressed.built);
  EXPECT_NE(plain.path, compressed.path);
  EXPECT_TRUE(
      compressed.path.ends_with(".v" + std::to_string(kRootfsFormatVersion) + "-lz4.squashfs"));
  EXPECT_LT(compressed.size, plain.size);
  EXPECT_EQ(testing::list_squashfs(compressed.path), kSmallListing);
  EXPECT_FALSE(rootfs_for(image, images, nullptr).built);
  EXPECT_TRUE(remove_rootfs(image, images));
  EXPECT_FALSE(is_regular_file(plain.path));
  EXPECT_FALSE(is_regular_file(compressed.path));
}

TEST(RootfsCache, RefusesAMalformedChainId) {
  Image image;
  for (std::string id : {std::string(), std::string("sha256:../../x"),
                         "sha256:" + std::string(64, 'A'), "sha512:" + std::string(64, 'a')}) {
    image.chain_id = id;
    EXPECT_THROW(rootfs_path(image, "/nonexistent"), Error) << id;
  }
}

}  // namespace
}  // namespace execvm
