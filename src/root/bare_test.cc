#include "root/bare.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "util/error.h"

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

}  // namespace
}  // namespace execvm
