#include "host/session.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "host/accel.h"
#include "host/qemu.h"
#include "host/relay.h"
#include "host/shares.h"
#include "host/terminal.h"
#include "host/tsc.h"
#include "host/vm.h"
#include "kernel/kernel.h"
#include "root/bare.h"
#include "root/base.h"
#include "root/host_root.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

extern char** environ;

namespace execvm {

namespace {

constexpr std::chrono::milliseconds kBootTimeoutTcg{30'000};
constexpr std::chrono::milliseconds kBootTimeoutKvm{10'000};

// Sets ENTRY ("NAME=value") in ENV: the old NAME goes, the new one comes last.
void set_env(std::vector<std::string>& env, const std::string& entry) {
  std::string prefix = entry.substr(0, entry.find('=') + 1);
  std::erase_if(env, [&](const std::string& e) { return starts_with(e, prefix); });
  env.push_back(entry);
}

// The caller's environment with -e NAME=VALUE / -e NAME applied, in order.
std::vector<std::string> command_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const auto& o : overrides) {
    size_t eq = o.find('=');
    std::string name = o.substr(0, eq);
    std::string entry = o;
    if (eq == std::string::npos) {
      const char* value = getenv(name.c_str());
      if (!value) continue;  // like docker: -e NAME copies NAME only when it is set
      entry = name + "=" + value;
    }
    set_env(env, entry);
  }
  return env;
}

std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.compare(0, name.size() + 1, name + "=") == 0) return e.substr(name.size() + 1);
  return "";
}

Kernel choose_kernel(const RunOptions& options, const std::string& cache) {
  if (!options.kernel.empty()) return kernel_from_path(options.kernel);
  if (auto kernel = find_cached_kernel(cache)) return *kernel;
  throw Error(
      "no guest kernel: execvm's kernel has not been built on this machine",
      "run `execvm kernel build` once (about 10 minutes on 2 cores), or pass --kernel PATH");
}

std::string find_qemu(const RunOptions& options) {
  if (!options.qemu.empty()) {
    if (::access(options.qemu.c_str(), X_OK) < 0)
      throw Error("--qemu " + options.qemu + ": not an executable file");
    return options.qemu;
  }
  if (auto qemu = find_program("qemu-system-x86_64")) return *qemu;
  throw Error("QEMU was not found (qemu-system-x86_64 is not in PATH)",
              "install it: apt-get install qemu-system-x86");
}

std::pair<Fd, Fd> socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("socketpair");
  set_nonblocking(fds[0]);
  return {Fd(fds[0]), Fd(fds[1])};
}

void print_failure(const RelayResult& result, const std::string& file_server) {
  if (result.message.empty()) return;
  std::string text = "execvm: " + result.message + "\n";
  // The file server's complaint, when there is one, is usually the cause.
  for (const auto& line : split(file_server, '\n'))
    if (!line.empty()) text += "execvm:   virtiofsd: " + line + "\n";
  // The kernel's last words, when the VM itself failed: they usually say why.
  if (result.kind == RelayResult::Kind::kVmFailed ||
      result.kind == RelayResult::Kind::kBootTimeout) {
    size_t from = result.console_tail.size() > 12 ? result.console_tail.size() - 12 : 0;
    for (size_t i = from; i < result.console_tail.size(); ++i)
      text += "execvm:   | " + result.console_tail[i] + "\n";
  }
  write_all(STDERR_FILENO, text);
}

// --sudo: root in the guest with the caller's environment, as `sudo --preserve-env` does it.
void become_root(RunSpec& spec) {
  std::string user;
  if (struct passwd* pw = ::getpwuid(spec.uid)) user = pw->pw_name;
  set_env(spec.env, "SUDO_UID=" + std::to_string(spec.uid));
  set_env(spec.env, "SUDO_GID=" + std::to_string(spec.gid));
  if (!user.empty()) set_env(spec.env, "SUDO_USER=" + user);
  set_env(spec.env, "USER=root");
  set_env(spec.env, "LOGNAME=root");
  spec.uid = 0;
  spec.gid = 0;
  spec.groups = {0};
}

}  // namespace

std::vector<int> prepare_process_signals() {
  std::vector<int> ignored;
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    struct sigaction action;
    if (sig != SIGKILL && sig != SIGSTOP && ::sigaction(sig, nullptr, &action) == 0 &&
        action.sa_handler == SIG_IGN)
      ignored.push_back(sig);
  }
  sigset_t set = relay_signals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return ignored;
}

int run_session(const RunOptions& options, const std::vector<int>& ignored_signals) {
  std::string cache = cache_root();

  RunSpec spec;
  spec.argv = options.command;
  spec.env = command_environment(options.env);
  spec.cwd = options.workdir.empty() ? current_directory() : options.workdir;
  if (spec.cwd[0] != '/') spec.cwd = current_directory() + "/" + spec.cwd;
  spec.uid = ::getuid();
  spec.gid = ::getgid();
  int ngroups = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<size_t>(std::max(ngroups, 0)));
  ngroups = ::getgroups(static_cast<int>(groups.size()), groups.data());
  for (int i = 0; i < ngroups; ++i) spec.groups.push_back(groups[static_cast<size_t>(i)]);
  mode_t mask = ::umask(0);
  ::umask(mask);
  spec.umask = mask;
  spec.ignored_signals = ignored_signals;
  bool caller_tty = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  spec.tty = options.tty == TtyMode::kAlways || (options.tty == TtyMode::kAuto && caller_tty);
  spec.stderr_tty = spec.tty && ::isatty(STDERR_FILENO);

  // A -w directory the guest lacks is made, in the guest only (a bare guest has none at all).
  spec.make_cwd = true;
  if (options.sudo) become_root(spec);

  Fd initrd;
  std::optional<HostFilesystems> filesystems;
  ShareFsChoice share_fs;
  if (options.bare) {
    BareRootRequest bare{options.command[0], env_value(spec.env, "PATH"), spec.cwd, {}};
    for (auto& dir : split(env_value(spec.env, "LD_LIBRARY_PATH"), ':'))
      if (!dir.empty()) bare.ld_library_path.push_back(dir);
    initrd = build_bare_initramfs(bare);
  } else {
    ShareRequest request{spec.cwd, options.command[0], env_value(spec.env, "TMPDIR"),
                         options.volumes};
    std::vector<Share> shares = plan_shares(request);
    share_fs = choose_share_fs(options.share_fs);
    initrd = build_agent_initramfs();
    try {
      filesystems.emplace(share_fs, shares);
    } catch (const Error& e) {
      // virtiofsd could not be set up (in a container without CAP_SYS_ADMIN, say): unless
      // virtiofs was asked for, 9p serves the same.
      if (options.share_fs != ShareFs::kAuto || share_fs.fs != ShareFs::kVirtiofs) throw;
      share_fs = {ShareFs::k9p, "", e.what()};
      filesystems.emplace(share_fs, shares);
    }
  }

  Kernel kernel = choose_kernel(options, cache);
  AccelChoice accel = choose_accel(options.accel, probe_accel());

  VmConfig config;
  config.qemu = find_qemu(options);
  config.accel = accel.accel;
  config.kernel = kernel.path;
  config.kernel_acpi = kernel.acpi;
  config.initrd = "/proc/self/fd/" + std::to_string(initrd.get());
  config.cpus = options.cpus;
  config.memory_mib = options.memory_mib;
  if (accel.accel == Accel::kTcg) config.tsc_khz = host_tsc_khz(cache);
  config.verbose_console = options.console;
  auto [channel, channel_qemu] = socket_pair();
  auto [console, console_qemu] = socket_pair();
  config.channel_fd = channel_qemu.get();
  config.console_fd = console_qemu.get();
  std::vector<int> inherit = {initrd.get()};
  if (filesystems) {
    filesystems->configure(config, spec);
    for (int fd : filesystems->qemu_fds()) inherit.push_back(fd);
  }

  RelayOptions relay_options;
  relay_options.boot_timeout =
      options.boot_timeout.value_or(accel.accel == Accel::kKvm ? kBootTimeoutKvm : kBootTimeoutTcg);
  relay_options.timeout = options.timeout;
  relay_options.console_to_stderr = options.console;
  relay_options.tty = spec.tty;

  Vm vm(config, inherit);
  channel_qemu.reset();
  console_qemu.reset();
  initrd.reset();
  if (filesystems) filesystems->close_qemu_fds();
  RelayResult result;
  {
    RawTerminal raw(spec.tty ? STDIN_FILENO : -1);
    result = relay_vm(vm, std::move(channel), std::move(console), std::move(spec), relay_options);
  }
  bool vm_broke = result.kind == RelayResult::Kind::kVmFailed ||
                  result.kind == RelayResult::Kind::kBootTimeout ||
                  result.kind == RelayResult::Kind::kGuestError;
  print_failure(result, filesystems && vm_broke ? filesystems->file_server_messages() : "");
  if (options.stats) {
    char line[256];
    snprintf(line, sizeof line,
             "execvm: accel %s, root %s, boot %.3fs, command done %.3fs, end %.3fs, QEMU peak RSS "
             "%ld MiB, exit %d\n",
             accel_name(accel.accel), options.bare ? "bare" : share_fs_name(share_fs.fs),
             result.boot_seconds, result.exit_seconds, result.run_seconds, vm.max_rss_kib() / 1024,
             result.exit_code);
    write_all(STDERR_FILENO, line);
  }
  return result.exit_code;
}

}  // namespace execvm
