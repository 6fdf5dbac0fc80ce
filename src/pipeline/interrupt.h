// Interrupts of running pipelines: while at least one guard lives, SIGINT, SIGTERM and SIGHUP
// to this process are caught (whatever handlers were set before are restored when the last
// guard goes) and make fd() readable, for every running pipeline to stop its stages.
#pragma once

namespace execvm::pipeline {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // Readable once a signal arrived (it stays readable until the last guard goes).
  int fd() const;
  // The signal that arrived first, or 0.
  int signal() const;
};

}  // namespace execvm::pipeline
