#include "initramfs/initrd.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>

#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

struct Entry {
  mode_t mode = 0;
  int64_t uid = 0, gid = 0, ino = 0, nlink = 0, mtime = 0;
  std::string data, symlink;
  unsigned rdev_major = 0, rdev_minor = 0;
};

// The initramfs at PATH as libarchive reads it (any compression), by path; and the order.
std::map<std::string, Entry> read_initrd(const std::string& path,
                                         std::vector<std::string>* order = nullptr) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_cpio(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 10240), ARCHIVE_OK);
  std::map<std::string, Entry> out;
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Entry x;
    x.mode = archive_entry_mode(e);
    x.uid = archive_entry_uid(e);
    x.gid = archive_entry_gid(e);
    x.ino = archive_entry_ino64(e);
    x.nlink = archive_entry_nlink(e);
    x.mtime = archive_entry_mtime(e);
    if (archive_entry_symlink(e)) x.symlink = archive_entry_symlink(e);
    x.rdev_major = archive_entry_rdevmajor(e);
    x.rdev_minor = archive_entry_rdevminor(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) x.data.append(buf, n);
    std::string name = "/" + std::string(archive_entry_pathname(e));
    if (order) order->push_back(name);
    out.emplace(name, x);
  }
  archive_read_free(a);
  return out;
}

// A tarball at PATH (gzip), as a minirootfs has them.
void write_tarball(const std::string& path, bool with_hardlink = true) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  auto add = [&](const char* name, mode_t mode, int64_t uid, std::string data = "",
                 const char* link = nullptr, const char* hardlink = nullptr, unsigned maj = 0,
                 unsigned min = 0) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mode(e, mode);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, uid);
    archive_entry_set_mtime(e, 1600000000, 0);
    archive_entry_set_size(e, S_ISREG(mode) && !hardlink ? data.size() : 0);
    if (link) archive_entry_set_symlink(e, link);
    if (hardlink) archive_entry_set_hardlink(e, hardlink);
    if (S_ISCHR(mode)) archive_entry_set_rdev(e, makedev(maj, min));
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (!data.empty() && !hardlink) archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  };
  add("./", S_IFDIR | 0755, 0);
  add("./bin/", S_IFDIR | 0755, 0);
  add("./bin/busybox", S_IFREG | 0755, 0, "the busybox");
  add("./bin/sh", S_IFLNK | 0777, 0, "", "busybox");
  if (with_hardlink) add("./bin/ash", S_IFREG | 0755, 0, "", nullptr, "./bin/busybox");
  add("./dev/", S_IFDIR | 0755, 0);
  add("./dev/null", S_IFCHR | 0666, 0, "", nullptr, nullptr, 1, 3);
  add("./etc/", S_IFDIR | 0755, 0);
  add("./etc/hostname", S_IFREG | 0644, 0, "alpine\n");
  add("./home/", S_IFDIR | 0755, 0);
  add("./home/app/", S_IFDIR | 0700, 1000);
  add("./home/app/notes", S_IFREG | 0640, 1000, "mine");
  add("./run/fifo", S_IFIFO | 0600, 0);
  add("./tmp/", S_IFDIR | 01777, 0);
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

TEST(Initrd, TheAgentProgramsAndWhatAPid1Needs) {
  testing::TempDir dir;
  InitrdRequest request;
  request.output = dir / "initrd.gz";
  request.programs = {"sh"};
  request.search.path = "/usr/bin:/bin";
  write_initrd(request, "the agent");
  auto entries = read_initrd(request.output);
  ASSERT_TRUE(entries.count("/execvm"));
  EXPECT_EQ(entries["/execvm"].data, "the agent");
  EXPECT_EQ(entries["/execvm"].mode, S_IFREG | 0755);
  std::string sh = canonical_path("/bin/sh");
  ASSERT_TRUE(entries.count(sh)) << sh;  // at the host's path, with its loader
  EXPECT_TRUE(entries.count("/etc/ld.so.cache"));
  EXPECT_EQ(entries["/dev/console"].mode, S_IFCHR | 0600);
  EXPECT_EQ(entries["/dev/console"].rdev_major, 5u);
  EXPECT_EQ(entries["/tmp"].mode, S_IFDIR | 01777);
  for (const char* d : {"/proc", "/sys", "/run", "/dev"})
    EXPECT_EQ(entries[d].mode, S_IFDIR | 0755);
  // gzip, as its name says; the file is complete and nothing else is left in the directory.
  EXPECT_EQ(read_file(request.output).substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(directory_names(dir.path()), std::vector<std::string>{"initrd.gz"});
}

TEST(Initrd, Compressions) {
  testing::TempDir dir;
  for (auto [compression, magic] :
       {std::pair{CpioCompression::kNone, std::string("070701")},
        std::pair{CpioCompression::kZstd, std::string("\x28\xb5\x2f\xfd")},
        std::pair{CpioCompression::kGzip, std::string("\x1f\x8b")}}) {
    InitrdRequest request;
    request.output = dir / "initrd";
    request.compression = compression;
    write_initrd(request, "agent");
    EXPECT_EQ(read_file(request.output).substr(0, magic.size()), magic);
    EXPECT_EQ(read_initrd(request.output)["/execvm"].data, "agent");
  }
}

TEST(Initrd, ARootFilesystemFromATarball) {
  testing::TempDir dir;
  write_tarball(dir / "root.tar.gz");
  dir.mkdir("add");
  dir.write("add/hostname", "replaced\n", 0600);
  dir.mkdir("add/conf");
  dir.write("add/conf/a", "a");
  dir.symlink("add/conf/link", "a");
  InitrdRequest request;
  request.output = dir / "initrd";
  request.compression = CpioCompression::kNone;
  request.from_tar = dir / "root.tar.gz";
  request.adds = {parse_initrd_add(dir / "add/hostname:/etc/hostname", "/"),
                  parse_initrd_add("add/conf:/etc/conf", dir.path())};
  write_initrd(request, "agent");
  std::vector<std::string> order;
  auto entries = read_initrd(request.output, &order);
  EXPECT_EQ(order.front(), "/execvm");
  EXPECT_EQ(entries["/execvm"].data, "agent");
  // Modes, owners and times as the tarball has them.
  EXPECT_EQ(entries["/home/app"].mode, S_IFDIR | 0700);
  EXPECT_EQ(entries["/home/app"].uid, 1000);
  EXPECT_EQ(entries["/home/app/notes"].mode, S_IFREG | 0640);
  EXPECT_EQ(entries["/home/app/notes"].gid, 1000);
  EXPECT_EQ(entries["/home/app/notes"].data, "mine");
  EXPECT_EQ(entries["/home/app/notes"].mtime, 1600000000);
  EXPECT_EQ(entries["/tmp"].mode, S_IFDIR | 01777);
  EXPECT_EQ(entries["/bin/sh"].symlink, "busybox");
  EXPECT_EQ(entries["/dev/null"].mode, S_IFCHR | 0666);
  EXPECT_EQ(entries["/dev/null"].rdev_major, 1u);
  EXPECT_EQ(entries["/dev/null"].rdev_minor, 3u);
  EXPECT_EQ(entries["/run/fifo"].mode, S_IFIFO | 0600);
  // The hard link: one inode, two names, the data once.
  EXPECT_EQ(entries["/bin/ash"].ino, entries["/bin/busybox"].ino);
  EXPECT_EQ(entries["/bin/busybox"].nlink, 2);
  EXPECT_EQ(entries["/bin/ash"].nlink, 2);
  EXPECT_NE(entries["/bin/busybox"].ino, entries["/etc/hostname"].ino);
  EXPECT_EQ(entries["/bin/busybox"].data, "the busybox");
  EXPECT_EQ(entries["/bin/ash"].data, "");
  // --add replaces the tarball's file, root's and with the host's mode; a directory with a
  // symlink in it.
  EXPECT_EQ(entries["/etc/hostname"].data, "replaced\n");
  EXPECT_EQ(entries["/etc/hostname"].mode, S_IFREG | 0600);
  EXPECT_EQ(entries["/etc/hostname"].uid, 0);
  EXPECT_EQ(entries["/etc/conf/a"].data, "a");
  EXPECT_EQ(entries["/etc/conf/link"].symlink, "a");
  // The tarball's /dev had no console: there is one.
  EXPECT_EQ(entries["/dev/console"].mode, S_IFCHR | 0600);
}

TEST(Initrd, Refusals) {
  testing::TempDir dir;
  write_tarball(dir / "root.tar.gz");
  dir.write("x", "x");
  InitrdRequest request;
  request.output = dir / "initrd";
  request.from_tar = dir / "root.tar.gz";
  // A file with hard links to it cannot be replaced.
  request.adds = {parse_initrd_add(dir / "x:/bin/busybox", "/")};
  EXPECT_THROW(write_initrd(request, "agent"), Error);
  EXPECT_FALSE(is_regular_file(request.output));
  request.adds.clear();
  request.programs = {"no-such-program-xyz"};
  try {
    write_initrd(request, "agent");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitNotFound);
  }
  request.programs.clear();
  request.from_tar = dir / "x";
  EXPECT_THROW(write_initrd(request, "agent"), Error);
  EXPECT_EQ(directory_names(dir.path()), (std::vector<std::string>{"root.tar.gz", "x"}));
  EXPECT_THROW(parse_initrd_add("a:relative", "/"), Error);
  EXPECT_THROW(parse_initrd_add(":/x", "/"), Error);
  EXPECT_EQ(parse_initrd_add("a", "/w").guest, "/w/a");
  EXPECT_EQ(parse_initrd_add("/a:/b", "/w").guest, "/b");
}

}  // namespace
}  // namespace execvm
