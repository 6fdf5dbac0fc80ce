// The plumbing of a long build that must end cleanly however it ends: a guard that turns
// SIGINT/SIGTERM/SIGHUP into a flag, and child processes (tar, make) that run in their own process
// group with their output in a log and are stopped when that flag is raised.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "util/interrupt.h"

namespace execvm {

// A child process's environment: the caller's, less the variables that would change what a
// kernel build does or where it puts things (ARCH, CROSS_COMPILE, KBUILD_*, MAKEFLAGS, ...), with
// LC_ALL=C and a fixed build user and host.
std::vector<std::string> build_environment();

// Runs ARGV (looked up in PATH) in CWD in a new process group, with stdin from /dev/null, stdout
// and stderr appended to LOG_FD and the environment ENV. Calls TICK every TICK_EVERY while it
// runs. Returns its exit status (128 + N when signal N killed it). When GUARD sees a signal, stops
// the whole process group (SIGTERM, then SIGKILL after a few seconds), waits for it and throws
// GUARD's Error. Throws Error when the program cannot be found or started.
int run_logged(const std::vector<std::string>& argv, const std::string& cwd, int log_fd,
               const std::vector<std::string>& env, const InterruptGuard& guard,
               const std::function<void()>& tick = {},
               std::chrono::milliseconds tick_every = std::chrono::seconds(25));

}  // namespace execvm
