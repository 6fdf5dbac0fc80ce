#include "guest/spawn.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/strings.h"
#include "util/sys.h"

namespace execvm::guest {
namespace {

// The command's stdout once it has ended, and its exit status.
std::pair<std::string, int> output_of(Child& child) {
  std::string out;
  char buf[4096];
  for (;;) {
    struct pollfd p = {child.stdout_fd(), POLLIN, 0};
    ::poll(&p, 1, -1);
    ssize_t n = ::read(child.stdout_fd(), buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EAGAIN) {
      break;
    }
  }
  int status = 0;
  ::waitpid(child.pid, &status, 0);
  return {out, status};
}

RunSpec status_lines() {
  RunSpec spec;
  spec.argv = {"grep", "-E", "^(CapEff|CapBnd|NoNewPrivs|Seccomp):", "/proc/self/status"};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.uid = ::getuid();
  spec.gid = ::getgid();
  return spec;
}

TEST(Spawn, AConfinedCommand) {
  if (::geteuid() != 0) GTEST_SKIP() << "confining a root command needs root";
  RunSpec spec = status_lines();
  spec.capabilities = default_capabilities();
  Child child = spawn_command(spec);
  auto [out, status] = output_of(child);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out,
            "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n");
}

TEST(Spawn, AnUnconfinedCommandHasTheAgentsPowers) {
  RunSpec spec = status_lines();
  Child child = spawn_command(spec);
  auto [out, status] = output_of(child);
  EXPECT_EQ(status, 0);
  // What this process has, the command has.
  std::string own;
  for (const auto& line : split(read_file("/proc/self/status"), '\n'))
    for (const char* field : {"CapEff:", "CapBnd:", "NoNewPrivs:", "Seccomp:"})
      if (starts_with(line, field)) own += line + "\n";
  EXPECT_EQ(out, own);
}

}  // namespace
}  // namespace execvm::guest
