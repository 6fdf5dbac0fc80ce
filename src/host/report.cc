#include "host/report.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <vector>

#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace execvm {

namespace {

using End = RelayResult::End;

constexpr size_t kTailLines = 12;

std::vector<std::string> console_lines(const std::string& console) {
  std::vector<std::string> lines;
  for (auto& line : split(console, '\n')) {
    std::string clean;
    for (char c : line)
      if (c != '\r') clean += c;
    if (!trim(clean).empty()) lines.push_back(std::move(clean));
  }
  return lines;
}

// The console's lines up to and including line UNTIL (the last ones when npos), at most
// kTailLines of them.
std::string tail(const std::vector<std::string>& lines, size_t until = std::string::npos) {
  size_t end = until == std::string::npos ? lines.size() : until + 1;
  size_t from = end > kTailLines ? end - kTailLines : 0;
  std::string out;
  for (size_t i = from; i < end; ++i) out += "execvm:   | " + lines[i] + "\n";
  return out;
}

// What VM_END means when the VM ended before the command did.
std::string explain_vm_end(const RelayResult& r, const std::vector<std::string>& lines,
                           bool& show_tail, size_t& tail_until) {
  for (size_t i = 0; i < lines.size(); ++i) {
    auto pos = lines[i].find("Kernel panic");
    if (pos != std::string::npos) {
      show_tail = true;
      tail_until = i;
      return "the guest kernel panicked: " + lines[i].substr(pos);
    }
  }
  for (const auto& line : lines) {
    auto pos = line.find("execvm-agent: ");
    if (pos == std::string::npos) continue;
    std::string what = line.substr(pos + 14);
    if (what.find("virtio-serial port") != std::string::npos)
      return "the guest started, but its kernel offers no virtio-serial port for execvm's agent: " +
             what +
             ": the kernel needs CONFIG_VIRTIO_CONSOLE (execvm doctor --kernel PATH checks "
             "a kernel)";
    return "the guest agent failed: " + what;
  }
  std::string when = !r.booted            ? "before the guest started"
                     : r.exit_seconds > 0 ? "before the command's output ended"
                                          : "before the command finished";
  std::string first_error;
  for (const auto& line : split(r.vm_stderr, '\n')) {
    if (!trim(line).empty()) {
      first_error = std::string(trim(line));
      break;
    }
  }
  int status = r.vm_status;
  if (WIFSIGNALED(status)) return "QEMU " + describe_wait_status(status) + " " + when;
  if (!first_error.empty()) return "QEMU failed " + when + ": " + first_error;
  if (WEXITSTATUS(status) != 0) return "QEMU " + describe_wait_status(status) + " " + when;
  show_tail = !r.booted;
  return "the VM stopped " + when + " (the guest rebooted or powered off)";
}

// What the run's end means, without the outputs.
Report report_end(const RelayResult& r, const ReportContext& c) {
  Report report;
  std::vector<std::string> lines = console_lines(r.console);
  std::string message;
  bool vm_broke = false;  // the VM itself failed: what its file server and console said may help
  bool show_tail = false;
  size_t tail_until = std::string::npos;
  switch (r.end) {
    case End::kExited:
      report.exit_code = r.status.shell_status();
      // The guest kernel's out-of-memory killer says so on the console (at an error level,
      // which its quiet console shows).
      if (r.status.signaled && r.status.value == SIGKILL &&
          r.console.find("Out of memory") != std::string::npos) {
        uint64_t twice = c.memory_mib * 2;
        message =
            "the guest ran out of memory and killed the command (the VM has " +
            std::to_string(c.memory_mib) + " MiB): give it more with --memory, e.g. --memory " +
            (twice % 1024 == 0 ? std::to_string(twice / 1024) + "G" : std::to_string(twice) + "M");
      }
      break;
    case End::kGuestError:
      report.exit_code = r.guest_error.exit_code;
      message = r.guest_error.message;
      break;
    case End::kTimeout:
      report.exit_code = kExitTimeout;
      message = "the command timed out after " +
                format_duration(c.timeout.value_or(std::chrono::milliseconds(0))) +
                "; the VM was stopped";
      break;
    case End::kInterrupted:
      report.exit_code = 128 + r.signal;
      // During the boot the run ends as a command killed by the signal would, without a word.
      if (r.booted)
        message = "stopped the VM after " + std::to_string(kSignalsToStop) + " SIG" +
                  sigabbrev_np(r.signal) + " signals the command did not end on";
      break;
    case End::kBootTimeout:
      vm_broke = true;
      // (A guest whose agent said hello but never ran the command hung on the way: mounting its
      // root, say.)
      message = (r.booted ? "the VM booted but did not start the command within "
                          : "the VM did not start within ") +
                format_duration(c.boot_timeout);
      if (c.accel == Accel::kTcg && c.cpus > c.host_cpus) {
        message += ": --cpus " + std::to_string(c.cpus) + " is more than this host's " +
                   std::to_string(c.host_cpus) +
                   " CPUs, and under TCG each virtual CPU needs one of its own; use --cpus " +
                   std::to_string(c.host_cpus) + " or fewer";
      } else {
        message += "; see the kernel's last lines below, or run again with --console";
        show_tail = true;
      }
      break;
    case End::kUnresponsive:
      vm_broke = true;
      message = "the guest stopped responding: its agent did not answer for " +
                format_duration(c.unresponsive) +
                " while the command ran, so the VM was stopped; see the kernel's last lines "
                "below, or run again with --console";
      show_tail = true;
      break;
    case End::kHalted:
      vm_broke = true;
      message =
          "the guest halted before the command finished (poweroff or halt in the VM, which its "
          "kernel cannot power off)";
      break;
    case End::kChannelBroke:
      vm_broke = true;
      message = "the channel to the guest broke: " + r.protocol_error;
      break;
    case End::kVmEnded:
      vm_broke = true;
      message = explain_vm_end(r, lines, show_tail, tail_until);
      break;
  }
  if (message.empty()) return report;
  report.text = "execvm: " + message + "\n";
  if (vm_broke) {
    for (const auto& line : split(c.file_server, '\n'))
      if (!trim(line).empty()) report.text += "execvm:   virtiofsd: " + line + "\n";
  }
  if (c.console_shown) return report;
  if (vm_broke && c.whole_console) {
    for (const auto& line : lines) report.text += "execvm:   | " + line + "\n";
  } else if (show_tail) {
    report.text += tail(lines, tail_until);
  }
  return report;
}

}  // namespace

Report report_run(const RelayResult& r, const ReportContext& c) {
  Report report = report_end(r, c);
  if (!r.booted || r.end == End::kGuestError) return report;
  for (const auto& line : c.outputs.notes) report.text += "execvm: " + line + "\n";
  for (const auto& line : c.outputs.problems) report.text += "execvm: " + line + "\n";
  if (!c.outputs.problems.empty() && report.exit_code == 0) report.exit_code = kExitFailure;
  return report;
}

}  // namespace execvm
