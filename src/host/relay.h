// The host's relay: one VM's life from boot to exit, in one epoll loop. It answers the agent's
// Hello with the RunSpec, streams the caller's stdin to the guest (within the window the guest
// grants) and the command's stdout and stderr back, forwards signals and window sizes, keeps
// the boot watchdog and the run timeout, and turns every way a VM can end into a RelayResult.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "host/vm.h"
#include "protocol/frame.h"
#include "spec/run_spec.h"
#include "util/fd.h"

namespace execvm {

struct RelayOptions {
  std::chrono::milliseconds boot_timeout{30'000};
  std::optional<std::chrono::milliseconds> timeout;  // the whole run, boot included
  bool console_to_stderr = false;                    // --console: the kernel's log as it comes
  bool tty = false;  // the spec puts the command on a terminal: forward SIGWINCH
};

struct RelayResult {
  enum class Kind {
    kExited,       // the command ended: STATUS
    kGuestError,   // the agent could not run it: MESSAGE, EXIT_CODE (125/126/127)
    kVmFailed,     // the VM ended or broke before the command did: MESSAGE
    kBootTimeout,  // no Hello within the boot timeout: MESSAGE
    kTimeout,      // --timeout expired: MESSAGE
    kInterrupted,  // a signal ended the run before the command could get it: EXIT_CODE
  };
  Kind kind = Kind::kVmFailed;
  protocol::ExitStatus status;
  int exit_code = 125;  // what execvm exits with
  std::string message;  // one line for stderr, empty for kExited and plain interrupts
  std::vector<std::string> console_tail;  // the kernel's last lines, for failures
  double boot_seconds = 0;                // from start to the agent's Hello
  double exit_seconds = 0;                // from start to the agent's Exit (or Error)
  double run_seconds = 0;                 // from start to the end
};

// Runs the VM to its end. SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH must be blocked in every
// thread (the relay reads them through a signalfd); SIGPIPE ignored. CHANNEL and CONSOLE are
// execvm's ends of the sockets given to QEMU.
RelayResult relay_vm(Vm& vm, Fd channel, Fd console, RunSpec spec, const RelayOptions& options);

// The signals relay_vm() expects blocked.
sigset_t relay_signals();

}  // namespace execvm
