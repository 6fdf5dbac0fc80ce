#include "host/disks.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "host/qemu.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::TempDir;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

DiskOption disk(const std::string& text, const std::string& base = "/images") {
  return parse_disk_option(text, base, "--disk " + text);
}

TEST(DiskOption, ParsesTheFileAndItsSuffixes) {
  EXPECT_EQ(disk("data.img"), (DiskOption{"data.img", "/images/data.img", false, "data.img"}));
  EXPECT_EQ(disk("/d/x.img:ro"), (DiskOption{"/d/x.img:ro", "/d/x.img", true, "x.img"}));
  EXPECT_EQ(disk("x:rw").readonly, false);
  EXPECT_EQ(disk("x.img:serial=scratch").serial, "scratch");
  EXPECT_EQ(disk("x.img:ro:serial=s1"),
            (DiskOption{"x.img:ro:serial=s1", "/images/x.img", true, "s1"}));
  EXPECT_EQ(disk("x.img:serial=s1:ro"),
            (DiskOption{"x.img:serial=s1:ro", "/images/x.img", true, "s1"}));
  // A colon that starts no known suffix belongs to the file's name.
  EXPECT_EQ(disk("a:b.img"), (DiskOption{"a:b.img", "/images/a:b.img", false, "a_b.img"}));
  // The default serial: the name, cut to 20 bytes, with what a serial cannot hold made '_'.
  EXPECT_EQ(disk("a-very-long-name-of-a-disk.img").serial, "a-very-long-name-of-");
  EXPECT_EQ(disk("my disk\xc3\xa9.img").serial, "my_disk__.img");
}

TEST(DiskOption, RefusesWhatItCannotAttach) {
  for (std::string bad : {"", ":ro", "x:ro:ro", "x:ro:rw", "x:serial=", "x:serial=a:serial=b",
                          "x:serial=has space", "x:serial=123456789012345678901"}) {
    std::string m = message_of([&] { disk(bad); });
    EXPECT_EQ(m.rfind("--disk " + bad + ": ", 0), 0u) << bad << ": " << m;
  }
  EXPECT_NE(message_of([] { disk("x:serial=123456789012345678901"); }).find("1 to 20 bytes"),
            std::string::npos);
}

TEST(Disks, OpensEachFileAsTheGuestUsesIt) {
  TempDir dir;
  dir.write("a.img", std::string(4096, 'a'));
  dir.write("b.img", std::string(4096, 'b'));
  Disks disks({disk("a.img", dir.path()), disk("b.img:ro:serial=bee", dir.path())});
  ASSERT_EQ(disks.size(), 2u);
  std::vector<int> fds = disks.fds();
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(::fcntl(fds[0], F_GETFL) & O_ACCMODE, O_RDWR);
  EXPECT_EQ(::fcntl(fds[1], F_GETFL) & O_ACCMODE, O_RDONLY);
  std::vector<std::string> expected = {
      "-drive",
      "file=/proc/self/fd/" + std::to_string(fds[0]) +
          ",format=raw,if=none,id=disk-0,readonly=off,cache=writeback",
      "-device",
      "virtio-blk-device,drive=disk-0,serial=a.img",
      "-drive",
      "file=/proc/self/fd/" + std::to_string(fds[1]) +
          ",format=raw,if=none,id=disk-1,readonly=on,cache=writeback",
      "-device",
      "virtio-blk-device,drive=disk-1,serial=bee"};
  EXPECT_EQ(disks.qemu_args(), expected);
  disks.vm_started();
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);
}

TEST(Disks, RefusesMissingAndOddFiles) {
  TempDir dir;
  dir.mkdir("d");
  EXPECT_NE(message_of([&] {
              Disks({disk("none.img", dir.path())});
            }).find("cannot open " + dir / "none.img" + " for writing: No such file"),
            std::string::npos);
  EXPECT_NE(message_of([&] { Disks({disk("d", dir.path())}); }).find("is not a file"),
            std::string::npos);
  if (::geteuid() != 0) {
    dir.write("ro.img", "x", 0444);
    EXPECT_NE(message_of([&] {
                Disks({disk("ro.img", dir.path())});
              }).find("attach it read-only with :ro"),
              std::string::npos);
    EXPECT_EQ(message_of([&] { Disks({disk("ro.img:ro", dir.path())}); }), "");
  }
}

TEST(Disks, AFileWrittenByOneDiskIsAttachedOnce) {
  TempDir dir;
  dir.write("a.img", "a");
  dir.symlink("link.img", dir / "a.img");
  auto attach = [&](std::vector<std::string> texts) {
    std::vector<DiskOption> options;
    int i = 0;
    for (auto& t : texts)
      options.push_back(disk(t + ":serial=s" + std::to_string(i++), dir.path()));
    return message_of([&] { Disks{options}; });
  };
  EXPECT_NE(attach({"a.img", "a.img"}).find("one of them writes to it"), std::string::npos);
  EXPECT_NE(attach({"a.img:ro", "link.img"}).find("one of them writes to it"), std::string::npos);
  EXPECT_NE(attach({"a.img", "link.img:ro"}).find("one of them writes to it"), std::string::npos);
  EXPECT_EQ(attach({"a.img:ro", "link.img:ro"}), "");
}

TEST(Disks, RefusesTwoDisksWithOneSerial) {
  TempDir dir;
  dir.mkdir("x");
  dir.write("x/data.img", "1");
  dir.write("data.img", "2");
  std::string m = message_of([&] {
    Disks({disk("data.img", dir.path()), disk("x/data.img", dir.path())});
  });
  EXPECT_NE(m.find("have the same serial data.img: give one of them :serial=NAME"),
            std::string::npos)
      << m;
}

TEST(VirtioSlots, CountsTheRunsDevicesAndSaysHowManyDisksFit) {
  VmConfig config;
  config.qemu = "qemu";
  config.devices = {"-fsdev",  "local,id=root,path=/",
                    "-device", "virtio-9p-device,fsdev=root",
                    "-device", "virtio-9p-device,fsdev=share0"};
  std::vector<std::string> argv = qemu_argv(config, 3, 4);
  // The channel's virtio-serial device (its port is on its bus), the rng, two shares.
  EXPECT_EQ(virtio_mmio_devices(argv), 4u);
  for (int i = 0; i < 4; ++i)
    argv.insert(argv.end(), {"-device", "virtio-blk-device,drive=disk-" + std::to_string(i)});
  EXPECT_EQ(message_of([&] { check_virtio_slots(argv, 4); }), "");
  argv.insert(argv.end(), {"-device", "virtio-blk-device,drive=disk-4"});
  std::string m = message_of([&] { check_virtio_slots(argv, 5); });
  EXPECT_NE(m.find("too many disks: microvm has 8 virtio-mmio slots"), std::string::npos) << m;
  EXPECT_NE(m.find("take 4, so 4 --disk fit, not 5"), std::string::npos) << m;
}

}  // namespace
}  // namespace execvm
