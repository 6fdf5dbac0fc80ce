// Process: one child process of execvm's, owned from start to reaping. Everything the child needs
// is prepared before fork; the child gets exactly the descriptors named (every other one is
// closed, so that QEMU does not hold a make jobserver's pipes, say), its own process group, a
// death signal, and reports a failure to start through a pipe. The owner kills the whole group
// and reaps the child when it lets go, however the run ends.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"

namespace execvm {

struct ProcessSpec {
  // argv[0] is a path, or a name looked up in PATH (and the system's directories after it).
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env;        // "NAME=value"; the caller's when unset
  std::string cwd;                                    // empty: the caller's
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // the caller's descriptors; -1: /dev/null
  std::vector<int> keep_fds;  // passed at the same numbers; every other descriptor is closed
  // Its own process group: a Ctrl-C at the terminal is for the command, not for execvm's helpers,
  // and the whole group (a wrapper script's children too) is killed with it.
  bool own_group = true;
  int death_signal = SIGKILL;  // sent to it when execvm dies; 0 for none
  // Runs in the child just before exec. Only async-signal-safe calls (execvm may have threads).
  // Returns nullptr, or what could not be done ("create a mount namespace") with errno set.
  std::function<const char*()> before_exec;
};

class Process {
 public:
  Process() = default;
  // Starts SPEC. Throws Error "cannot run NAME: why" when it cannot be found or started.
  explicit Process(const ProcessSpec& spec);
  ~Process();  // kill() and wait()
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;

  pid_t pid() const { return pid_; }  // its process group's id too, with own_group
  // Readable once the process has exited (a pidfd).
  int exit_fd() const { return pidfd_.get(); }
  // Sends SIG to the process, or to its whole group when it has one, unless it was reaped.
  void kill(int sig = SIGKILL);
  // Waits for the end and returns the wait status (the same one again when called again).
  int wait();
  // The wait status when the process has ended (and reaps it), else nullopt.
  std::optional<int> poll();
  // Peak resident memory in KiB, known once reaped.
  long max_rss_kib() const { return max_rss_kib_; }

 private:
  void reset();

  pid_t pid_ = -1;
  bool own_group_ = false;
  Fd pidfd_;
  bool reaped_ = false;
  int status_ = 0;
  long max_rss_kib_ = 0;
};

// The status a shell reports for wait status STATUS: the exit code, or 128 + the signal.
int shell_status(int status);

// "exited with status 1", "was killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

struct CapturedRun {
  int status = 0;  // as shell_status()
  std::string output;
};

// Runs ARGV in CWD (the current directory when empty), stdin from /dev/null (or INPUT, at most
// 64 KiB, when given), and captures its stdout (and stderr too when MERGE_STDERR; else stderr is
// execvm's). Throws Error when it cannot start.
CapturedRun run_capture(const std::vector<std::string>& argv, bool merge_stderr = false,
                        const std::string& cwd = "",
                        const std::optional<std::string>& input = std::nullopt);

}  // namespace execvm
