#include "kernel/build_process.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/sys.h"

extern char** environ;

namespace execvm {

namespace {

void sleep_ms(int ms) {
  ::poll(nullptr, 0, ms);
}  // returns early (EINTR) on a signal

// Waits up to TIMEOUT for PROCESS to end; true when it was reaped.
bool reap_within(Process& process, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!process.poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    sleep_ms(50);
  }
  return true;
}

// Whether a process of group PGID is still running (zombies do not count: they write nothing).
bool group_running(pid_t pgid) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename();
    if (name.empty() || !isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string stat;
    try {
      stat = read_file("/proc/" + name + "/stat");
    } catch (const Error&) {
      continue;  // it ended meanwhile
    }
    // "PID (COMM) STATE PPID PGRP ...": COMM may hold anything, so parse after the last ')'.
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    char state = 0;
    int ppid = 0, pgrp = 0;
    if (sscanf(stat.c_str() + paren + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
        state != 'Z' && state != 'X')
      return true;
  }
  return false;
}

// Ends PROCESS and its group (PGID): SIGTERM (make deletes its partial targets and passes it
// on), SIGKILL when that takes too long, then SIGKILL for any stragglers of the group, and a
// short wait for them so that nothing writes into a tree about to be removed.
void stop_group(Process& process, pid_t pgid) {
  process.kill(SIGTERM);
  if (!reap_within(process, std::chrono::seconds(5))) {
    process.kill(SIGKILL);
    reap_within(process, std::chrono::seconds(60));
  }
  if (::kill(-pgid, SIGKILL) != 0) return;  // the group is empty
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (group_running(pgid) && std::chrono::steady_clock::now() < deadline) sleep_ms(20);
}

}  // namespace

std::vector<std::string> build_environment() {
  static const char* const kDropped[] = {
      "ARCH",       "SUBARCH",      "SRCARCH",          "CROSS_COMPILE", "CC",        "HOSTCC",
      "LD",         "LLVM",         "LLVM_IAS",         "CONFIG_",       "MAKEFLAGS", "MFLAGS",
      "MAKELEVEL",  "MAKEFILES",    "GNUMAKEFLAGS",     "KCFLAGS",       "KAFLAGS",   "KCPPFLAGS",
      "KRUSTFLAGS", "INSTALL_PATH", "INSTALL_MOD_PATH", "LC_ALL"};
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (starts_with(name, "KBUILD_") || starts_with(name, "KCONFIG_")) continue;
    bool dropped = false;
    for (const char* d : kDropped) dropped = dropped || name == d;
    if (!dropped) env.emplace_back(entry);
  }
  env.push_back("LC_ALL=C");
  env.push_back("KBUILD_BUILD_USER=execvm");
  env.push_back("KBUILD_BUILD_HOST=execvm");
  return env;
}

int run_logged(const std::vector<std::string>& argv, const std::string& cwd, int log_fd,
               const std::vector<std::string>& env, const InterruptGuard& guard,
               const std::function<void()>& tick, std::chrono::milliseconds tick_every) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.env = env;
  spec.cwd = cwd;
  spec.stdout_fd = log_fd;
  spec.stderr_fd = log_fd;
  spec.death_signal = SIGTERM;  // make then removes its partial targets
  Process process(spec);

  // Wait for the child, a signal or the next tick. The guard's signals are blocked except inside
  // ppoll, so one that arrives between the check of the flag and the wait still ends the wait.
  sigset_t blocked, unblocked;
  sigemptyset(&blocked);
  for (int sig : kInterruptSignals) sigaddset(&blocked, sig);
  ::sigprocmask(SIG_BLOCK, &blocked, &unblocked);
  struct RestoreMask {
    sigset_t mask;
    ~RestoreMask() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
  } restore{unblocked};
  for (int sig : kInterruptSignals) sigdelset(&unblocked, sig);

  using Clock = std::chrono::steady_clock;
  auto next_tick = Clock::now() + tick_every;
  for (;;) {
    if (auto status = process.poll()) return shell_status(*status);
    if (guard.signal()) {
      stop_group(process, process.pid());
      guard.check();
    }
    if (tick && Clock::now() >= next_tick) {
      tick();
      next_tick = Clock::now() + tick_every;
    }
    auto wait = std::chrono::milliseconds(1000);
    if (tick) {
      wait = std::min(
          wait, std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now()) +
                    std::chrono::milliseconds(1));
    }
    wait = std::max(wait, std::chrono::milliseconds(0));
    struct timespec ts = {static_cast<time_t>(wait.count() / 1000),
                          static_cast<long>(wait.count() % 1000) * 1'000'000};
    struct pollfd pfd = {process.exit_fd(), POLLIN, 0};
    ::ppoll(&pfd, 1, &ts, &unblocked);
  }
}

}  // namespace execvm
