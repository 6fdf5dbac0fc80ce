#include "guest/system.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "util/paths.h"
#include "util/testing.h"

namespace execvm::guest {
namespace {

using execvm::testing::TempDir;

std::string link_of(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// A /sys as the guest kernel shows virtio block devices, under a scratch root.
TEST(DiskLinks, NameEachVirtioDiskBySerial) {
  TempDir root;
  make_dirs(root / "sys/block/vda/vda1");
  make_dirs(root / "sys/block/vdb");
  make_dirs(root / "sys/block/vdc");
  make_dirs(root / "sys/block/sda");
  make_dirs(root / "dev");
  root.write("sys/block/vda/serial", "data.img\n");
  root.write("sys/block/vda/vda1/partition", "1\n");
  root.write("sys/block/vdb/serial", "odd name/x");
  root.write("sys/block/vdc/serial", "");  // no serial: no link
  root.write("sys/block/sda/serial", "not-virtio");
  make_disk_links(root.path());
  std::string by_id = root / "dev/disk/by-id";
  EXPECT_EQ(link_of(by_id + "/virtio-data.img"), "../../vda");
  EXPECT_EQ(link_of(by_id + "/virtio-data.img-part1"), "../../vda1");
  EXPECT_EQ(link_of(by_id + "/virtio-odd_name_x"), "../../vdb");
  EXPECT_EQ(::access((by_id + "/virtio-").c_str(), F_OK), -1);
  EXPECT_EQ(::access((by_id + "/virtio-not-virtio").c_str(), F_OK), -1);
}

TEST(DiskLinks, NoDisksNoDirectory) {
  TempDir root;
  make_dirs(root / "sys/block");
  make_dirs(root / "dev");
  make_disk_links(root.path());
  EXPECT_EQ(::access((root / "dev/disk").c_str(), F_OK), -1);
}

}  // namespace
}  // namespace execvm::guest
