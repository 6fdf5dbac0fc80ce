#include "host/report.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace execvm {
namespace {

using End = RelayResult::End;
using namespace std::chrono_literals;

RelayResult ended(End end) {
  RelayResult r;
  r.end = end;
  r.booted = true;
  return r;
}

ReportContext context() {
  ReportContext c;
  c.boot_timeout = 30s;
  c.memory_mib = 512;
  c.cpus = 1;
  c.host_cpus = 2;
  return c;
}

size_t count_lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Report, TheCommandsOwnEndSaysNothing) {
  RelayResult r = ended(End::kExited);
  r.status = {false, 42};
  Report report = report_run(r, context());
  EXPECT_EQ(report.exit_code, 42);
  EXPECT_EQ(report.text, "");
  r.status = {true, SIGSEGV};
  EXPECT_EQ(report_run(r, context()).exit_code, 139);
}

TEST(Report, OutOfMemoryGivesAHint) {
  RelayResult r = ended(End::kExited);
  r.status = {true, SIGKILL};
  r.console = "[ 3.2] Out of memory: Killed process 57 (eat) total-vm:1000kB\n";
  Report report = report_run(r, context());
  EXPECT_EQ(report.exit_code, 137);
  EXPECT_EQ(report.text,
            "execvm: the guest ran out of memory and killed the command (the VM has 512 MiB): "
            "give it more with --memory, e.g. --memory 1G\n");
  r.console.clear();  // killed by someone else: nothing to say
  EXPECT_EQ(report_run(r, context()).text, "");
}

TEST(Report, ExecvmsOwnEnds) {
  ReportContext c = context();
  c.timeout = 3s;
  EXPECT_EQ(report_run(ended(End::kTimeout), c).exit_code, 124);
  EXPECT_EQ(report_run(ended(End::kTimeout), c).text,
            "execvm: the command timed out after 3s; the VM was stopped\n");

  RelayResult interrupted = ended(End::kInterrupted);
  interrupted.signal = SIGINT;
  EXPECT_EQ(report_run(interrupted, c).exit_code, 130);
  EXPECT_EQ(report_run(interrupted, c).text,
            "execvm: stopped the VM after 3 SIGINT signals the command did not end on\n");
  interrupted.booted = false;  // during the boot: as a command killed by it, without a word
  EXPECT_EQ(report_run(interrupted, c).text, "");

  RelayResult error = ended(End::kGuestError);
  error.guest_error = {127, "frob: command not found"};
  EXPECT_EQ(report_run(error, c).exit_code, 127);
  EXPECT_EQ(report_run(error, c).text, "execvm: frob: command not found\n");

  Report halted = report_run(ended(End::kHalted), c);
  EXPECT_EQ(halted.exit_code, 125);
  EXPECT_EQ(count_lines(halted.text), 1u);
}

TEST(Report, APanicShowsTheLinesThatLedToIt) {
  RelayResult r = ended(End::kVmEnded);
  r.console = "booting\r\nVFS: Cannot open root device\r\nKernel panic - not syncing: VFS\r\n";
  Report report = report_run(r, context());
  EXPECT_EQ(report.exit_code, 125);
  EXPECT_EQ(report.text,
            "execvm: the guest kernel panicked: Kernel panic - not syncing: VFS\n"
            "execvm:   | booting\n"
            "execvm:   | VFS: Cannot open root device\n"
            "execvm:   | Kernel panic - not syncing: VFS\n");
  // With --console the log is on stderr already; EXECVM_DEBUG=1 wants all of it.
  ReportContext shown = context();
  shown.console_shown = true;
  EXPECT_EQ(count_lines(report_run(r, shown).text), 1u);
}

TEST(Report, QemuAndItsFileServer) {
  RelayResult r = ended(End::kVmEnded);
  r.vm_status = SIGKILL;  // a wait status: killed by signal 9
  ReportContext c = context();
  c.file_server = "virtiofsd: something went wrong\n";
  EXPECT_EQ(report_run(r, c).text,
            "execvm: QEMU was killed by signal 9 (Killed) before the command finished\n"
            "execvm:   virtiofsd: virtiofsd: something went wrong\n");
  r.vm_status = 1 << 8;
  r.booted = false;
  r.vm_stderr = "\nqemu-system-x86_64: -device foo: bad device\n";
  EXPECT_EQ(report_run(r, context()).text,
            "execvm: QEMU failed before the guest started: qemu-system-x86_64: -device foo: bad "
            "device\n");
}

TEST(Report, AKernelWithoutTheChannelsPort) {
  RelayResult r = ended(End::kVmEnded);
  r.booted = false;
  r.console = "execvm-agent: the virtio-serial port org.execvm.0 did not appear\n";
  std::string text = report_run(r, context()).text;
  EXPECT_NE(text.find("the guest started, but its kernel offers no virtio-serial port"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("CONFIG_VIRTIO_CONSOLE"), std::string::npos) << text;
  EXPECT_EQ(count_lines(text), 1u);
}

TEST(Report, ABootTimeout) {
  RelayResult r = ended(End::kBootTimeout);
  r.booted = false;
  r.console = "a\nb\n";
  EXPECT_EQ(report_run(r, context()).text,
            "execvm: the VM did not start within 30s; see the kernel's last lines below, or run "
            "again with --console\nexecvm:   | a\nexecvm:   | b\n");
  // More virtual CPUs than the host has, under TCG: that is why.
  ReportContext c = context();
  c.cpus = 8;
  std::string text = report_run(r, c).text;
  EXPECT_NE(text.find("--cpus 8 is more than this host's 2 CPUs"), std::string::npos) << text;
  c.accel = Accel::kKvm;
  EXPECT_EQ(report_run(r, c).text.find("--cpus 8"), std::string::npos);
}

TEST(Report, ABootThatStoppedBeforeTheCommand) {
  RelayResult r = ended(End::kBootTimeout);
  EXPECT_EQ(report_run(r, context()).text,
            "execvm: the VM booted but did not start the command within 30s; see the kernel's "
            "last lines below, or run again with --console\n");
  EXPECT_EQ(report_run(r, context()).exit_code, 125);
}

TEST(Report, AGuestThatStoppedResponding) {
  RelayResult r = ended(End::kUnresponsive);
  r.console = "rcu: stall\n";
  ReportContext c = context();
  c.unresponsive = 60s;
  Report report = report_run(r, c);
  EXPECT_EQ(report.exit_code, 125);
  EXPECT_EQ(report.text,
            "execvm: the guest stopped responding: its agent did not answer for 1m while the "
            "command ran, so the VM was stopped; see the kernel's last lines below, or run again "
            "with --console\nexecvm:   | rcu: stall\n");
}

TEST(Report, AMissingOutputFailsASucceedingCommandOnly) {
  ReportContext c = context();
  c.outputs.problems = {"--output /tmp/x: no such file in the guest"};
  RelayResult r = ended(End::kExited);
  r.status = {false, 0};
  Report report = report_run(r, c);
  EXPECT_EQ(report.exit_code, 125);
  EXPECT_EQ(report.text, "execvm: --output /tmp/x: no such file in the guest\n");
  // The command's own failure wins, and the line is still there.
  r.status = {false, 3};
  EXPECT_EQ(report_run(r, c).exit_code, 3);
  EXPECT_EQ(report_run(r, c).text, report.text);
  r.status = {true, SIGTERM};
  EXPECT_EQ(report_run(r, c).exit_code, 128 + SIGTERM);
  // A timeout is the command's failure too: 124, its line first.
  c.timeout = 3s;
  EXPECT_EQ(report_run(ended(End::kTimeout), c).exit_code, 124);
  EXPECT_EQ(report_run(ended(End::kTimeout), c).text,
            "execvm: the command timed out after 3s; the VM was stopped\n" + report.text);
}

TEST(Report, OutputsOfACommandThatNeverStartedSayNothing) {
  ReportContext c = context();
  c.outputs.problems = {
      "--output /tmp/x: not received (the run ended before the guest had sent it)"};
  RelayResult r = ended(End::kGuestError);
  r.guest_error = {127, "nosuch: command not found"};
  Report report = report_run(r, c);
  EXPECT_EQ(report.exit_code, 127);
  EXPECT_EQ(report.text, "execvm: nosuch: command not found\n");
  r = ended(End::kBootTimeout);
  r.booted = false;
  EXPECT_EQ(report_run(r, c).text.find("--output"), std::string::npos);
}

TEST(Report, NotesOfSkippedEntriesKeepTheStatus) {
  ReportContext c = context();
  c.outputs.notes = {"--output /d: skipped /d/sock (a socket)"};
  RelayResult r = ended(End::kExited);
  Report report = report_run(r, c);
  EXPECT_EQ(report.exit_code, 0);
  EXPECT_EQ(report.text, "execvm: --output /d: skipped /d/sock (a socket)\n");
}

}  // namespace
}  // namespace execvm
