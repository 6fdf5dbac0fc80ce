#include "kernel/build_process.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/sys.h"
#include "util/temp_tree.h"

namespace execvm {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(KernelBuildProcess, TempTreeIsRemovedWithItsContents) {
  std::string path;
  {
    TempTree tree(::testing::TempDir() + "execvm-tree-");
    path = tree.path();
    make_dirs(path + "/a/b");
    write_file(path + "/a/b/file", "x");
    ::chmod((path + "/a/b").c_str(), 0555);
    ASSERT_TRUE(exists(path + "/a/b/file"));
  }
  EXPECT_FALSE(exists(path));
}

TEST(KernelBuildProcess, TempTreeReleaseKeepsIt) {
  std::string path;
  {
    TempTree tree(::testing::TempDir() + "execvm-tree-");
    path = tree.path();
    tree.release();
  }
  EXPECT_TRUE(exists(path));
  EXPECT_TRUE(remove_tree(path));
  EXPECT_FALSE(exists(path));
}

TEST(KernelBuildProcess, EnvironmentDropsWhatChangesTheBuild) {
  ::setenv("ARCH", "i386", 1);
  ::setenv("KBUILD_OUTPUT", "/elsewhere", 1);
  ::setenv("EXECVM_TEST_KEPT", "yes", 1);
  auto env = build_environment();
  ::unsetenv("ARCH");
  ::unsetenv("KBUILD_OUTPUT");
  ::unsetenv("EXECVM_TEST_KEPT");
  EXPECT_THAT(env, Not(Contains("ARCH=i386")));
  EXPECT_THAT(env, Not(Contains("KBUILD_OUTPUT=/elsewhere")));
  EXPECT_THAT(env, Contains("EXECVM_TEST_KEPT=yes"));
  EXPECT_THAT(env, Contains("LC_ALL=C"));
}

class KernelBuildProcessRun : public ::testing::Test {
 protected:
  TempTree tmp{::testing::TempDir() + "execvm-run-"};
  std::string log_path = tmp.path() + "/log";
  Fd log{::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
};

TEST_F(KernelBuildProcessRun, LogsOutputAndReturnsTheStatus) {
  InterruptGuard guard("the test");
  EXPECT_EQ(run_logged({"sh", "-c", "echo out; echo err >&2; pwd; exit 3"}, tmp.path(), log.get(),
                       build_environment(), guard),
            3);
  EXPECT_EQ(read_file(log_path), "out\nerr\n" + tmp.path() + "\n");
  EXPECT_EQ(run_logged({"true"}, "", log.get(), {}, guard), 0);
  EXPECT_THROW(run_logged({"execvm-no-such-program"}, "", log.get(), {}, guard), Error);
}

TEST_F(KernelBuildProcessRun, TicksWhileItRuns) {
  InterruptGuard guard("the test");
  int ticks = 0;
  run_logged(
      {"sleep", "0.3"}, "", log.get(), {"PATH=/usr/bin:/bin"}, guard, [&] { ++ticks; },
      std::chrono::milliseconds(100));
  EXPECT_GE(ticks, 2);
}

TEST_F(KernelBuildProcessRun, ASignalStopsTheWholeGroupAndThrows) {
  std::string pid_file = tmp.path() + "/grandchild";
  auto start = std::chrono::steady_clock::now();
  int exit_code = 0;
  std::string message;
  {
    InterruptGuard guard("the test build");
    try {
      // A grandchild in the same process group, like make's compilers.
      run_logged(
          {"sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}, "", log.get(),
          build_environment(), guard, [] { ::raise(SIGINT); }, std::chrono::milliseconds(300));
    } catch (const Error& e) {
      exit_code = e.exit_code();
      message = e.what();
    }
  }
  EXPECT_EQ(exit_code, 130);
  EXPECT_EQ(message, "the test build was interrupted by SIGINT");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  pid_t grandchild = std::stoi(read_file(pid_file));
  // It was killed; at most a zombie waiting for init remains.
  std::string stat;
  try {
    stat = read_file("/proc/" + std::to_string(grandchild) + "/stat");
  } catch (const Error&) {
  }
  if (!stat.empty()) {
    EXPECT_THAT(stat, HasSubstr(") Z "));
  }
}

TEST(KernelBuildProcess, GuardRestoresTheSignalDisposition) {
  struct sigaction before {
  }, after{};
  ::sigaction(SIGTERM, nullptr, &before);
  {
    InterruptGuard guard("x");
    EXPECT_EQ(guard.signal(), 0);
    EXPECT_NO_THROW(guard.check());
  }
  ::sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(before.sa_handler, after.sa_handler);
}

}  // namespace
}  // namespace execvm
