#include "tools/init.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "guest/system.h"
#include "tools/chain.h"
#include "tools/tools.h"
#include "tools/words.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm::tools {

namespace {

constexpr const char* kUsageLine = "usage: execvm init [--] COMMAND [ARG...]";

// The inode number of the machine's own PID namespace (the kernel's PROC_PID_INIT_INO).
constexpr ino_t kInitialPidNamespace = 0xEFFFFFFCU;

// What QEMU's microvm appends to the kernel's command line for each virtio-mmio device.
constexpr const char* kQemuDeviceParameter = "virtio_mmio.device=";

// How long the processes left when the command has ended get to go after SIGTERM.
constexpr int kGraceMs = 1000;

Error usage_error(const std::string& what, const std::string& hint = kUsageLine) {
  return Error(what, hint, kExitUsage);
}

std::vector<std::string> argv_from_parameter(const std::string& value) {
  const std::string what = std::string(kArgvParameter) + "=";
  auto json_text = base64_decode(value);
  if (!json_text) throw usage_error(what + " is not base64 (RFC 4648, with its padding)", "");
  auto json = nlohmann::json::parse(*json_text, nullptr, false);
  bool strings = json.is_array() && !json.empty();
  for (const auto& item : json) strings = strings && item.is_string();
  if (json.is_discarded() || !strings)
    throw usage_error(what + " does not hold a non-empty JSON array of strings",
                      "it is base64 of the command's argv as JSON, e.g. [\"/bin/echo\",\"hi\"]");
  return json.get<std::vector<std::string>>();
}

// The kernel's command line, or "" when /proc/cmdline cannot be read.
std::string read_cmdline() {
  try {
    std::string text = read_file("/proc/cmdline");
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
    return text;
  } catch (const Error&) {
    return "";
  }
}

// PID 1 of the machine, not of a container: its PID namespace is the first one. Without /proc
// (not mounted yet), a machine's.
bool machine_pid_namespace() {
  struct stat st;
  return ::stat("/proc/self/ns/pid", &st) < 0 || st.st_ino == kInitialPidNamespace;
}

void log_failure(const std::string& what) {
  print_error("init: " + what);
}

void mount_filesystems() {
  auto attempt = [](void (*mount)(const std::string&)) {
    try {
      mount("");
    } catch (const Error& e) {
      log_failure(e.message());
    }
  };
  attempt(guest::mount_sys_and_dev);
  attempt(guest::mount_runtime);
  attempt(guest::mount_run_and_tmp);
}

// Standard input, output and error on the console, for each of them the kernel did not open
// (it does when the initramfs has /dev/console).
void open_console() {
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    int console = ::open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (console < 0) return;
    ::dup2(console, fd);  // without O_CLOEXEC
    if (console != fd) ::close(console);
  }
}

// Runs ARGV and waits for it, reaping every orphan that ends meanwhile. Returns its wait status.
int run_command(const std::vector<std::string>& argv) {
  if (!::getenv("PATH")) ::setenv("PATH", kInitPath, 1);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setsid();
    // The console as its terminal, so that a shell has job control; nothing when stdin is not
    // a terminal.
    ::ioctl(STDIN_FILENO, TIOCSCTTY, 0);
    ::_exit(exec_program(argv));
  }
  for (;;) {
    int status;
    pid_t ended = ::waitpid(-1, &status, 0);
    if (ended == pid) return status;
    if (ended < 0 && errno != EINTR) throw_errno("wait for " + argv[0]);
  }
}

// Reaps what has ended; false when no child is left.
bool reap_ended() {
  for (;;) {
    pid_t ended = ::waitpid(-1, nullptr, WNOHANG);
    if (ended > 0) continue;
    return !(ended < 0 && errno == ECHILD);
  }
}

// Waits up to MS for every child to end, reaping them. False when some are left.
bool wait_for_children(int ms) {
  for (int waited = 0; reap_ended(); waited += 10) {
    if (waited >= ms) return false;
    ::usleep(10'000);
  }
  return true;
}

// What the command left running: SIGTERM, a grace period, then SIGKILL for what is left.
void end_other_processes() {
  if (::kill(-1, SIGTERM) < 0) return;  // ESRCH: there is none
  if (wait_for_children(kGraceMs)) return;
  ::kill(-1, SIGKILL);
  wait_for_children(kGraceMs);
}

std::string status_line(int wait_status) {
  int code = shell_status(wait_status);
  std::string line = "execvm init: exit status " + std::to_string(code);
  if (WIFSIGNALED(wait_status)) line += " (" + describe_wait_status(wait_status) + ")";
  return line + "\n";
}

// Without a reboot= of the kernel's command line, a reboot that triple-faults, which ends QEMU
// at once with -no-reboot (the kernel's default tries a keyboard controller and the BIOS first,
// which a microvm does not have).
void choose_reboot_type(std::string_view cmdline) {
  if (kernel_parameter(cmdline, "reboot")) return;
  int fd = ::open("/sys/kernel/reboot/type", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!::write(fd, "triple", 6);
  ::close(fd);
}

// The command's exit status (or 125 when init could not run it, 2 for a usage error).
int run_init(const std::vector<std::string>& args, bool machine, const std::string& cmdline) {
  std::vector<std::string> argv;
  auto init_text = split_kernel_command_line(cmdline).init_text;
  if (machine && init_text && init_text->find(kQemuDeviceParameter) != std::string::npos)
    log_failure(std::string("QEMU put its virtio devices (") + kQemuDeviceParameter +
                ") after the `--` of the kernel's command line, where the kernel does not see "
                "them: give the command as " +
                kArgvParameter + "=BASE64 instead");
  try {
    argv = init_command(args, cmdline, machine);
  } catch (const Error& e) {
    log_failure(e.message());
    return e.exit_code();
  }
  int status = run_command(argv);
  write_all(STDERR_FILENO, status_line(status));
  end_other_processes();
  return shell_status(status);
}

}  // namespace

std::vector<std::string> init_command(const std::vector<std::string>& args,
                                      std::string_view cmdline, bool from_kernel) {
  std::vector<std::string> words = args;
  if (from_kernel) {
    KernelCommandLine kernel = split_kernel_command_line(cmdline);
    std::vector<std::string> ours = {"init"};
    ours.insert(ours.end(), words.begin(), words.end());
    if (kernel.init_text && kernel_init_args(*kernel.init_text) == ours) {
      auto shell = shell_words(*kernel.init_text);
      if (shell && !shell->empty() && (*shell)[0] == "init")
        words.assign(shell->begin() + 1, shell->end());
    }
    // QEMU's microvm appends its virtio-mmio devices to the command line, after the `--`:
    // they are not the command's (and the kernel has not seen them).
    while (!words.empty() && words.back().starts_with(kQemuDeviceParameter)) words.pop_back();
  }
  if (!words.empty() && words[0] == "--") {
    words.erase(words.begin());
  } else if (!words.empty() && words[0].size() > 1 && words[0][0] == '-') {
    throw usage_error("unknown option " + words[0],
                      "put -- before a command that starts with a dash");
  }
  if (!words.empty()) return words;
  if (auto value = kernel_parameter(cmdline, kArgvParameter)) return argv_from_parameter(*value);
  throw usage_error("no command",
                    std::string("give it after `init` (rdinit=/execvm -- init COMMAND...) or as ") +
                        kArgvParameter + "=BASE64 of its JSON argv on the kernel's command line");
}

bool kernel_asks_for_init() {
  std::string cmdline = read_cmdline();
  if (cmdline.empty()) {
    ::mkdir("/proc", 0755);
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
      return false;
    cmdline = read_cmdline();
    ::umount2("/proc", MNT_DETACH);
  }
  return kernel_parameter(cmdline, kArgvParameter).has_value();
}

std::string init_usage() {
  return std::string(kUsageLine) + R"TEXT(

PID 1 for any initramfs: mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /run and /tmp, runs
COMMAND on the console, reaps orphans, and when COMMAND ends stops every other process
(SIGTERM, then SIGKILL a second later), syncs and powers the machine off. It prints
"execvm init: exit status N" on the console, and hands N to QEMU's isa-debug-exit device
when the machine has one (QEMU then exits with (N << 1) | 1). It never lets the kernel panic.

COMMAND comes from init's arguments: on the kernel's command line, what follows `--`
(rdinit=/execvm -- init /bin/sh -c 'echo hi'), split as a shell splits words (the kernel
itself knows only double quotes); or, without arguments, from the kernel parameter
execvm.argv=BASE64, base64 of COMMAND's argv as a JSON array of strings. PATH is
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin unless the kernel sets one.
`execvm initramfs` writes an initramfs with this init as /execvm.

Example:
  qemu-system-x86_64 -machine microvm,acpi=off -nographic -no-reboot \
    -device isa-debug-exit -kernel "$(execvm kernel path)" -initrd initrd.gz \
    -append "console=ttyS0 rdinit=/execvm -- init /bin/sh -c 'echo hi'"
)TEXT";
}

int init_main(const std::vector<std::string>& args) {
  bool help = args.size() == 1 && (args[0] == "-h" || args[0] == "--help");
  if (help) write_all(STDOUT_FILENO, init_usage());
  if (help && ::getpid() != 1) return 0;
  if (::getpid() != 1) {
    print_error(
        "init is the first process of a machine or a container (PID 1): boot it as the kernel's "
        "init, e.g. rdinit=/execvm -- init COMMAND... with an initramfs from execvm initramfs");
    return kExitUsage;
  }
  // PID 1 of the machine must never end: that is a kernel panic.
  bool machine = machine_pid_namespace();
  std::string cmdline;
  int status = kExitFailure;
  try {
    if (machine) mount_filesystems();
    open_console();
    cmdline = read_cmdline();
    status = help ? 0 : run_init(args, machine, cmdline);
  } catch (const std::exception& e) {
    log_failure(e.what());
  }
  if (!machine) return status;
  choose_reboot_type(cmdline);
  guest::power_off(status);
}

}  // namespace execvm::tools
