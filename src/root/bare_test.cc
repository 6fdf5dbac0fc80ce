#include "root/bare.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "tools/tools.h"
#include "util/error.h"
#include "util/paths.h"

namespace execvm {
namespace {

TEST(BareRoot, AnInitramfsWithTheCommandsClosure) {
  BareRoot root({"true", "/usr/bin:/bin", "/", {}});
  EXPECT_EQ(root.kind(), "bare");
  RootDevices devices = root.prepare();
  ASSERT_GE(devices.initramfs, 0);
  EXPECT_EQ(devices.fds, std::vector<int>{devices.initramfs});
  struct stat st;
  ASSERT_EQ(::fstat(devices.initramfs, &st), 0);
  EXPECT_GT(st.st_size, 100'000);                  // the agent, true and its libraries
  EXPECT_TRUE(root.mounts().root.fstype.empty());  // the initramfs stays the root
}

TEST(BareRoot, TheCommandIsCheckedAtOnce) {
  try {
    BareRoot root({"no-such-command-xyz", "/usr/bin:/bin", "/", {}});
    ADD_FAILURE() << "found a command that is not there";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitNotFound);
    EXPECT_STREQ(e.what(), "no-such-command-xyz: command not found");
  }
}

// The paths in the initramfs FD.
std::set<std::string> paths_in(int fd) {
  std::set<std::string> out;
  archive* a = archive_read_new();
  archive_read_support_format_cpio(a);
  ::lseek(fd, 0, SEEK_SET);
  EXPECT_EQ(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK)
    out.insert("/" + std::string(archive_entry_pathname(e)));
  archive_read_free(a);
  return out;
}

TEST(BareRoot, AChainOfTheToolsHoldsItsCommands) {
  const std::string tools = tools::kToolsPath;
  // The tools are the agent's, not the host's; a command that is not here fails in the guest.
  BareRoot root({tools,
                 "/usr/bin:/bin",
                 "/",
                 {},
                 {tools, "chain", "--", "true", "--", tools, "chain", "--", "no-such-xyz", "--",
                  "echo", "hi"}});
  RootDevices devices = root.prepare();
  std::set<std::string> paths = paths_in(devices.initramfs);
  EXPECT_TRUE(paths.count("/init"));
  EXPECT_FALSE(paths.count(tools));
  for (const char* program : {"true", "echo"}) {
    std::string host = canonical_path(*find_program(program, "/usr/bin:/bin"));
    EXPECT_TRUE(paths.count(host)) << host;
  }
}

}  // namespace
}  // namespace execvm
