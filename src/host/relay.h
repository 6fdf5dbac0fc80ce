// The host's relay: one VM's life from boot to exit, in one epoll loop. It answers the agent's
// Hello with the clock and the RunSpec, streams the caller's stdin to the guest (as far as the
// guest grants) and the command's stdout and stderr back, forwards signals and window sizes,
// keeps the boot watchdog, the run's timeout and the power-off grace, and records how the VM
// ended. What that means for the user (the exit status, the message) is the report's business.
#pragma once

#include <signal.h>

#include <chrono>
#include <optional>
#include <string>

#include "host/terminal.h"
#include "host/vmm.h"
#include "protocol/frame.h"

namespace execvm {

class Outputs;  // host/outputs.h

// The relay's side of the caller's world.
struct RelayIo {
  int in = 0, out = 1, err = 2;  // the caller's stdio (left blocking: see stdio_pump.h)
  int signals = -1;  // yields struct signalfd_siginfo records: a signalfd (a pipe in tests)
  // The caller's terminal when the command has one: its window size follows, and raw mode is
  // put back after a SIGCONT.
  RawTerminal* terminal = nullptr;
  // Where the files the guest sends after the command go (--output); null or empty: none.
  Outputs* outputs = nullptr;
};

struct RelayOptions {
  std::chrono::milliseconds boot_timeout{30'000};
  std::optional<std::chrono::milliseconds> timeout;  // the whole run, boot included
  // How long QEMU may take to end once the agent was told it may.
  std::chrono::milliseconds power_off_grace{3000};
  // How long output may take to reach a reader that does not read, once the run ended other than
  // by the command's own end (a timeout, a signal to execvm, a failure).
  std::chrono::milliseconds output_grace{1000};
  // With outputs to collect, the run's timeout has the guest kill the command's process group,
  // and the outputs may take this long to arrive before the VM is stopped.
  std::chrono::milliseconds collect_grace{10'000};
  bool console_to_stderr = false;  // --console: the kernel's log as it comes
  // A guest that says nothing this long while the command runs, though pinged and read, has
  // stopped: the run ends (kUnresponsive).
  std::chrono::milliseconds unresponsive{60'000};
};

// How the VM's life ended: facts, for the report.
struct RelayResult {
  enum class End {
    kExited,        // the command ended (STATUS) and its output was relayed
    kGuestError,    // the agent could not run it: GUEST_ERROR
    kVmEnded,       // the VM ended before the command did: VM_STATUS, CONSOLE, VM_STDERR
    kHalted,        // the guest halted or powered off by itself (its kernel cannot end QEMU so)
    kBootTimeout,   // the command did not start within the boot timeout (no Hello, or no Started)
    kUnresponsive,  // the guest stopped answering while the command ran
    kTimeout,       // the run's timeout expired (what was collected after it, when outputs were)
    kInterrupted,   // SIGNAL ended the run: during the boot, or the same one kSignalsToStop times
    kChannelBroke,  // garbage on the channel: PROTOCOL_ERROR
  };
  End end = End::kVmEnded;
  protocol::ExitStatus status;
  protocol::GuestError guest_error;
  int signal = 0;
  std::string protocol_error;
  bool booted = false;   // the agent said hello
  bool started = false;  // and the command ran
  int vm_status = 0;     // the monitor's wait status
  std::string vm_stderr;
  std::string console;      // what the console said, its last kConsoleKept bytes
  double boot_seconds = 0;  // from start to the agent's Hello
  double exit_seconds = 0;  // from start to the command's end
  double run_seconds = 0;   // from start to the end
};

// The same signal this many times while the command runs: stop waiting for it, stop the VM.
inline constexpr int kSignalsToStop = 3;
inline constexpr size_t kConsoleKept = 64 * 1024;

// Runs VM to its end, sending SPEC_JSON (the RunSpec) when the agent says hello. Whatever
// happens, the VM has ended and been waited for, and the output relayed, when this returns.
RelayResult relay(Vmm& vm, const std::string& spec_json, const RelayIo& io,
                  const RelayOptions& options);

}  // namespace execvm
