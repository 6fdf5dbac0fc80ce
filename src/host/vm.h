// Vm: one QEMU process, supervised. QEMU dies with execvm (PR_SET_PDEATHSIG), lives in its own
// process group (a Ctrl-C on the terminal reaches execvm, which forwards it to the command, not
// QEMU), and is killed and reaped when the Vm goes out of scope.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "host/qemu.h"
#include "util/fd.h"

namespace execvm {

class Vm {
 public:
  // Starts QEMU for CONFIG; CONFIG's console and channel fds, and INHERIT, are passed to it.
  Vm(const VmConfig& config, const std::vector<int>& inherit);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  pid_t pid() const { return pid_; }
  // Readable once QEMU has exited.
  int pidfd() const { return pidfd_.get(); }
  // QEMU's stderr (non-blocking), where it says why it failed to start.
  int stderr_fd() const { return stderr_.get(); }

  // Sends SIGKILL unless QEMU has already been reaped.
  void kill();
  // Waits for QEMU to exit (kill() first to make that quick) and returns its wait status.
  int reap();
  bool reaped() const { return reaped_; }
  // QEMU's peak resident memory in KiB, known once reaped.
  long max_rss_kib() const { return max_rss_kib_; }

 private:
  pid_t pid_ = -1;
  Fd pidfd_;
  Fd stderr_;
  bool reaped_ = false;
  int status_ = 0;
  long max_rss_kib_ = 0;
};

// In a child of PARENT after fork, before exec (async-signal-safe): dies with PARENT (exits at
// once if PARENT is already gone), leaves the terminal's process group (a Ctrl-C is for the
// command, not for execvm's helpers), and unblocks signals with SIGPIPE at its default.
void become_supervised_child(pid_t parent);

// "exited with status 1", "was killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace execvm
