#include "initramfs/cpio.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fd.h"
#include "util/process.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

// One entry as libarchive's reader sees it.
struct ReadEntry {
  std::string name;
  mode_t type = 0;
  mode_t perm = 0;
  std::string data;
  std::string symlink;
  unsigned rdev_major = 0, rdev_minor = 0;
  int64_t uid = -1, gid = -1, mtime = -1;
};

Fd memfd() {
  Fd fd(memfd_create("cpio-test", MFD_CLOEXEC));
  if (!fd) throw_errno("memfd_create");
  return fd;
}

std::string contents(int fd) {
  if (::lseek(fd, 0, SEEK_SET) < 0) throw_errno("lseek");
  return read_all(fd);
}

std::vector<ReadEntry> read_back(int fd) {
  if (::lseek(fd, 0, SEEK_SET) < 0) throw_errno("lseek");
  archive* a = archive_read_new();
  archive_read_support_format_cpio(a);
  EXPECT_EQ(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK) << archive_error_string(a);
  std::vector<ReadEntry> out;
  archive_entry* entry;
  int r;
  while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
    ReadEntry e;
    e.name = archive_entry_pathname(entry);
    e.type = archive_entry_filetype(entry);
    e.perm = archive_entry_perm(entry);
    if (const char* link = archive_entry_symlink(entry)) e.symlink = link;
    e.rdev_major = archive_entry_rdevmajor(entry);
    e.rdev_minor = archive_entry_rdevminor(entry);
    e.uid = archive_entry_uid(entry);
    e.gid = archive_entry_gid(entry);
    e.mtime = archive_entry_mtime(entry);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) e.data.append(buf, n);
    EXPECT_GE(n, 0) << archive_error_string(a);
    out.push_back(e);
  }
  EXPECT_EQ(r, ARCHIVE_EOF) << archive_error_string(a);
  archive_read_free(a);
  return out;
}

std::vector<std::string> names(const std::vector<ReadEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

const ReadEntry& find(const std::vector<ReadEntry>& entries, const std::string& name) {
  for (const auto& e : entries)
    if (e.name == name) return e;
  throw Error("no entry " + name);
}

TEST(Cpio, WritesEveryKindOfEntry) {
  Fd fd = memfd();
  CpioWriter w(fd.get());
  w.add_directory("/etc", 0700);
  w.add_file("/etc/hostname", "guest\n", 0640);
  w.add_symlink("/bin", "usr/bin");
  w.add_char_device("/dev/console", 5, 1, 0600);
  w.add_file("/empty", "", 0644);
  w.finish();

  auto entries = read_back(fd.get());
  EXPECT_EQ(names(entries), (std::vector<std::string>{"etc", "etc/hostname", "bin", "dev",
                                                      "dev/console", "empty"}));
  EXPECT_EQ(find(entries, "etc").type, AE_IFDIR);
  EXPECT_EQ(find(entries, "etc").perm, 0700u);
  EXPECT_EQ(find(entries, "etc/hostname").type, AE_IFREG);
  EXPECT_EQ(find(entries, "etc/hostname").perm, 0640u);
  EXPECT_EQ(find(entries, "etc/hostname").data, "guest\n");
  EXPECT_EQ(find(entries, "bin").type, AE_IFLNK);
  EXPECT_EQ(find(entries, "bin").symlink, "usr/bin");
  EXPECT_EQ(find(entries, "dev").type, AE_IFDIR);
  EXPECT_EQ(find(entries, "dev").perm, 0755u);
  const auto& console = find(entries, "dev/console");
  EXPECT_EQ(console.type, AE_IFCHR);
  EXPECT_EQ(console.perm, 0600u);
  EXPECT_EQ(console.rdev_major, 5u);
  EXPECT_EQ(console.rdev_minor, 1u);
  EXPECT_EQ(find(entries, "empty").data, "");
  for (const auto& e : entries) {
    EXPECT_EQ(e.uid, 0) << e.name;
    EXPECT_EQ(e.gid, 0) << e.name;
    EXPECT_EQ(e.mtime, 0) << e.name;
  }
}

TEST(Cpio, AddsMissingParentsBeforeChildren) {
  Fd fd = memfd();
  CpioWriter w(fd.get());
  w.add_file("/usr/lib/x86_64-linux-gnu/libc.so.6", "elf", 0755);
  w.add_directory("/usr/lib", 0700);  // already added as a parent: first wins
  w.add_file("/usr/bin/wc", "wc", 0755);
  w.finish();
  auto entries = read_back(fd.get());
  EXPECT_EQ(names(entries), (std::vector<std::string>{"usr", "usr/lib", "usr/lib/x86_64-linux-gnu",
                                                      "usr/lib/x86_64-linux-gnu/libc.so.6",
                                                      "usr/bin", "usr/bin/wc"}));
  EXPECT_EQ(find(entries, "usr/lib").perm, 0755u);
  EXPECT_TRUE(w.contains("/usr"));
  EXPECT_TRUE(w.contains("/usr/lib/"));
  EXPECT_TRUE(w.contains("/usr/bin/wc"));
  EXPECT_TRUE(w.contains("/"));
  EXPECT_FALSE(w.contains("/usr/sbin"));
  EXPECT_FALSE(w.contains("usr"));
}

TEST(Cpio, ASymlinkServesAsAParent) {
  Fd fd = memfd();
  CpioWriter w(fd.get());
  w.add_symlink("/lib", "usr/lib");
  w.add_file("/lib/x", "x", 0644);
  w.finish();
  EXPECT_EQ(names(read_back(fd.get())), (std::vector<std::string>{"lib", "lib/x"}));
}

TEST(Cpio, TheFirstEntryAtAPathWins) {
  Fd fd = memfd();
  CpioWriter w(fd.get());
  w.add_file("/a", "first", 0644);
  w.add_file("/a", "second", 0600);
  w.add_symlink("/a", "elsewhere");
  w.add_directory("/d");
  w.add_directory("/d", 0700);
  w.add_symlink("/l", "one");
  w.add_symlink("/l", "two");
  w.finish();
  auto entries = read_back(fd.get());
  EXPECT_EQ(names(entries), (std::vector<std::string>{"a", "d", "l"}));
  EXPECT_EQ(find(entries, "a").data, "first");
  EXPECT_EQ(find(entries, "a").perm, 0644u);
  EXPECT_EQ(find(entries, "d").perm, 0755u);
  EXPECT_EQ(find(entries, "l").symlink, "one");
}

TEST(Cpio, CopiesHostFilesFollowingSymlinks) {
  testing::TempDir dir;
  std::string big(3 * 65536 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  dir.write("big", big, 0750);
  dir.symlink("link", dir / "big");
  Fd fd = memfd();
  CpioWriter w(fd.get());
  w.add_host_file("/opt/big", dir / "big");
  w.add_host_file("/opt/via-link", dir / "link");
  w.finish();
  auto entries = read_back(fd.get());
  EXPECT_EQ(find(entries, "opt/big").data, big);
  EXPECT_EQ(find(entries, "opt/big").perm, 0750u);
  EXPECT_EQ(find(entries, "opt/via-link").type, AE_IFREG);
  EXPECT_EQ(find(entries, "opt/via-link").data, big);
}

TEST(Cpio, ErrorsNameThePath) {
  testing::TempDir dir;
  Fd fd = memfd();
  CpioWriter w(fd.get());
  try {
    w.add_host_file("/x", dir / "missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "missing"), std::string::npos) << e.what();
  }
  EXPECT_THROW(w.add_host_file("/x", dir.path()), Error);  // a directory
  EXPECT_THROW(w.add_file("relative", "", 0644), Error);
  EXPECT_THROW(w.add_file("/a/../b", "", 0644), Error);
  w.add_file("/f", "", 0644);
  EXPECT_THROW(w.add_file("/f/child", "", 0644), Error);  // a file cannot be a parent
  EXPECT_FALSE(w.contains("/x"));
  w.finish();
  w.finish();  // idempotent
  EXPECT_THROW(w.add_directory("/late"), Error);
}

TEST(Cpio, WritesToABadFdFail) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  try {
    CpioWriter w(fd.get());
    w.add_file("/a", std::string(1 << 20, 'a'), 0644);
    w.finish();
    FAIL() << "writing to a read-only fd succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpio"), std::string::npos);
  }
}

TEST(Cpio, IsReproducibleAndUnpadded) {
  auto build = [] {
    Fd fd = memfd();
    CpioWriter w(fd.get());
    w.add_file("/init", "#!/bin/sh\n", 0755);
    w.finish();
    return contents(fd.get());
  };
  std::string a = build();
  EXPECT_EQ(a, build());
  EXPECT_EQ(a.substr(0, 6), "070701");
  EXPECT_NE(a.find("TRAILER!!!"), std::string::npos);
  EXPECT_LT(a.size(), 1024u);  // no padding to libarchive's 10 KiB blocks
}

TEST(Cpio, AbandonedArchiveHasNoTrailer) {
  Fd fd = memfd();
  {
    CpioWriter w(fd.get());
    w.add_file("/a", "a", 0644);
  }
  EXPECT_EQ(contents(fd.get()).find("TRAILER!!!"), std::string::npos);
}

TEST(Cpio, GnuCpioListsIt) {
  if (::access("/usr/bin/cpio", X_OK) != 0) GTEST_SKIP() << "cpio is not installed";
  testing::TempDir dir;
  {
    Fd fd(::open((dir / "a.cpio").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd);
    CpioWriter w(fd.get());
    w.add_file("/usr/bin/tool", "tool", 0755);
    w.add_symlink("/bin", "usr/bin");
    w.finish();
  }
  auto result = run_capture({"cpio", "-it", "--quiet", "-F", dir / "a.cpio"});
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, "usr\nusr/bin\nusr/bin/tool\nbin\n");
}

}  // namespace
}  // namespace execvm
