// Ctrl-C during long work in execvm's own process (a kernel build, a pull): while an
// InterruptGuard lives, SIGINT, SIGTERM and SIGHUP only set a flag (a signal that was ignored
// stays ignored), which the work checks at its next step and ends by throwing, so that its
// temporary files and child processes are cleaned up on the way out. The handlers are installed
// without SA_RESTART, so a blocking call (waitpid, flock, poll) returns EINTR and the caller can
// look at the flag, and fd() becomes readable, for work that waits in poll (a pipeline's stages)
// to wake. Guards nest (a pull's within a run's conversion, pipelines run by several threads):
// the outermost one installs the handlers and the last to go restores them, in whatever order
// they go, on whatever thread.
#pragma once

#include <signal.h>

#include <string>

namespace execvm {

// The signals a guard turns into a flag.
inline constexpr int kInterruptSignals[] = {SIGINT, SIGTERM, SIGHUP};

class InterruptGuard {
 public:
  // WHAT names the work for the error: "the kernel build".
  explicit InterruptGuard(std::string what);
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // The signal that arrived since the guard was made, 0 if none.
  int signal() const;
  // A descriptor readable once a signal arrived (it stays readable until the last guard goes).
  int fd() const;
  // Throws Error("WHAT was interrupted by SIGINT", exit code 128 + the signal) if one arrived.
  void check() const;

 private:
  std::string what_;
};

// The signal that arrived under the guard alive now, or 0 (also when there is none).
int interrupted();

// Throws Error("interrupted by SIGINT", exit code 128 + the signal) if one arrived.
void throw_if_interrupted();

}  // namespace execvm
