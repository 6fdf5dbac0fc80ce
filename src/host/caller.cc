#include "host/caller.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

extern char** environ;

namespace execvm {

namespace {

// What execve(2) takes (fs/exec.c): each string at most 32 pages; all of them, with a pointer
// each, within a quarter of the stack limit (at most three quarters of 8 MiB, at least 32 pages).
constexpr uint64_t kMaxArgString = 32 * 4096;
constexpr uint64_t kMinArgSpace = 32 * 4096;
constexpr uint64_t kMaxArgSpace = 6 << 20;

// Sets ENTRY ("NAME=value") in ENV: the old NAME goes, the new one comes last.
void set_env(std::vector<std::string>& env, const std::string& entry) {
  std::string prefix = entry.substr(0, entry.find('=') + 1);
  std::erase_if(env, [&](const std::string& e) { return starts_with(e, prefix); });
  env.push_back(entry);
}

// Whether fds 1 and 2 are the same open file (2>&1), not merely the same file.
bool same_open_file(int a, int b) {
  pid_t self = ::getpid();
  long same = ::syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
  if (same >= 0) return same == 0;
  // Without kcmp (a seccomp filter may refuse it): the same file, and the same offset.
  struct stat sa, sb;
  if (::fstat(a, &sa) < 0 || ::fstat(b, &sb) < 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
         ::lseek(a, 0, SEEK_CUR) == ::lseek(b, 0, SEEK_CUR);
}

void check_exec_size(const RunSpec& spec, uint64_t stack_limit) {
  uint64_t limit = stack_limit ? std::min(kMaxArgSpace, stack_limit / 4) : kMaxArgSpace;
  limit = std::max(limit, kMinArgSpace);
  uint64_t strings = spec.argv[0].size() + 1;  // the kernel copies the file name too
  for (const auto* list : {&spec.argv, &spec.env}) {
    for (const auto& s : *list) {
      if (s.size() + 1 > kMaxArgString)
        throw Error(spec.argv[0] + ": Argument list too long", "", kExitCannotInvoke);
      strings += s.size() + 1;
    }
  }
  uint64_t pointers = (spec.argv.size() + spec.env.size()) * sizeof(void*);
  if (pointers >= limit || strings > limit - pointers)
    throw Error(spec.argv[0] + ": Argument list too long", "", kExitCannotInvoke);
}

// --sudo: root in the guest with the caller's environment, as `sudo --preserve-env` does it.
void become_root(RunSpec& spec, const std::string& user) {
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

std::vector<int> claim_standard_fds() {
  std::vector<int> closed;
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    if (fd > 0) closed.push_back(fd);
    // Lowest free number: this is FD.
    if (::open("/dev/null", O_RDWR) < 0) throw_errno("open /dev/null");
  }
  return closed;
}

Caller read_caller(const std::vector<int>& closed_fds) {
  Caller c;
  for (char** e = environ; *e; ++e) c.env.emplace_back(*e);
  c.cwd = current_directory();
  c.uid = ::getuid();
  c.gid = ::getgid();
  int ngroups = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<size_t>(std::max(ngroups, 0)));
  ngroups = ::getgroups(static_cast<int>(groups.size()), groups.data());
  for (int i = 0; i < ngroups; ++i) c.groups.push_back(groups[static_cast<size_t>(i)]);
  if (struct passwd* pw = ::getpwuid(c.uid)) c.user = pw->pw_name;
  mode_t mask = ::umask(0);
  ::umask(mask);
  c.umask = mask;
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    struct sigaction action;
    if (sig != SIGKILL && sig != SIGSTOP && ::sigaction(sig, nullptr, &action) == 0 &&
        action.sa_handler == SIG_IGN)
      c.ignored_signals.push_back(sig);
  }
  c.closed_fds = closed_fds;
  auto open = [&](int fd) {
    return std::find(closed_fds.begin(), closed_fds.end(), fd) == closed_fds.end();
  };
  c.stdin_tty = ::isatty(STDIN_FILENO);
  c.stdout_tty = open(1) && ::isatty(STDOUT_FILENO);
  c.stderr_tty = open(2) && ::isatty(STDERR_FILENO);
  struct winsize ws {};
  if (c.stdin_tty && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
    c.rows = ws.ws_row;
    c.cols = ws.ws_col;
  }
  c.stderr_is_stdout = open(1) && open(2) && same_open_file(1, 2);
  struct rlimit stack {};
  if (::getrlimit(RLIMIT_STACK, &stack) == 0) c.stack_limit = stack.rlim_cur;
  return c;
}

namespace {

// -e NAME=VALUE and -e NAME applied to ENV, in order. Like docker, -e NAME copies NAME from the
// caller, and only when it is set.
void apply_env_options(std::vector<std::string>& env, const RunOptions& options,
                       const Caller& caller) {
  for (const auto& o : options.env) {
    if (o.find('=') != std::string::npos) {
      set_env(env, o);
      continue;
    }
    auto it = std::find_if(caller.env.begin(), caller.env.end(),
                           [&](const std::string& e) { return starts_with(e, o + "="); });
    if (it != caller.env.end()) set_env(env, *it);
  }
}

// The command, environment, directory and identity of the host-root and bare modes: the
// caller's own.
void as_the_caller(RunSpec& spec, const RunOptions& options, const Caller& caller) {
  spec.argv = options.command;
  spec.env = caller.env;
  apply_env_options(spec.env, options, caller);
  // -w as the guest will see it: absolute, and through the host's symlinks where the host has
  // the directory (the guest may lack a symlink on the way, under its own /tmp say).
  spec.cwd = caller.cwd;
  if (!options.workdir.empty()) {
    std::string dir =
        options.workdir[0] == '/' ? options.workdir : caller.cwd + "/" + options.workdir;
    std::string real = canonical_path(dir);
    spec.cwd = real.empty() ? dir : real;
  }
  spec.uid = caller.uid;
  spec.gid = caller.gid;
  spec.groups = caller.groups;
  spec.umask = caller.umask;
  if (options.sudo) become_root(spec, caller.user);
  if (!options.user.empty()) spec.user = options.user;
}

// docker run's rules for an image's config: its Entrypoint and Cmd (COMMAND replaces Cmd,
// --entrypoint replaces Entrypoint and drops Cmd), its Env with a default PATH, its WorkingDir
// and User (-w and -u override; --sudo is -u 0), and none of the caller's environment.
void as_the_image(RunSpec& spec, const RunOptions& options, const Caller& caller,
                  const ImageConfig& image) {
  std::vector<std::string> entrypoint = image.entrypoint.value_or(std::vector<std::string>{});
  std::vector<std::string> cmd = image.cmd.value_or(std::vector<std::string>{});
  if (options.entrypoint) {
    entrypoint.clear();
    if (!options.entrypoint->empty()) entrypoint.push_back(*options.entrypoint);
    cmd.clear();
  }
  if (!options.command.empty()) cmd = options.command;
  spec.argv = entrypoint;
  spec.argv.insert(spec.argv.end(), cmd.begin(), cmd.end());
  if (spec.argv.empty())
    throw Error("no command: the image has neither an Entrypoint nor a Cmd",
                "give the command after the options: execvm --image REF -- COMMAND [ARG...]");
  if (!image.hostname.empty()) spec.hostname = image.hostname;
  spec.env = image.env;
  if (std::none_of(spec.env.begin(), spec.env.end(),
                   [](const std::string& e) { return starts_with(e, "PATH="); }))
    spec.env.push_back(std::string("PATH=") + kImageDefaultPath);
  set_env(spec.env, "HOSTNAME=" + spec.hostname);
  apply_env_options(spec.env, options, caller);
  spec.cwd = !options.workdir.empty()      ? options.workdir
             : image.working_dir.empty()   ? "/"
             : image.working_dir[0] == '/' ? image.working_dir
                                           : "/" + image.working_dir;
  spec.user = !options.user.empty() ? options.user : options.sudo ? "0" : image.user;
  if (spec.user.empty()) spec.user = "0";
  spec.umask = 022;
}

}  // namespace

RunSpec make_run_spec(const RunOptions& options, const Caller& caller, const ImageConfig* image) {
  RunSpec spec;
  if (image)
    as_the_image(spec, options, caller, *image);
  else
    as_the_caller(spec, options, caller);
  spec.ignored_signals = caller.ignored_signals;
  bool terminal = caller.stdin_tty && caller.stdout_tty;
  spec.tty = options.tty == TtyMode::kAlways || (options.tty == TtyMode::kAuto && terminal);
  spec.stderr_tty = spec.tty && caller.stderr_tty;
  if (image && spec.tty && env_value(spec.env, "TERM").empty()) set_env(spec.env, "TERM=xterm");
  spec.rows = caller.rows;
  spec.cols = caller.cols;
  spec.stderr_to_stdout = !spec.tty && caller.stderr_is_stdout;
  spec.closed_fds = caller.closed_fds;
  spec.stack_limit = caller.stack_limit;
  check_exec_size(spec, caller.stack_limit);
  // Isolation.
  spec.capabilities = command_capabilities(options);
  spec.network = guest_network(options.network);
  return spec;
}

std::optional<CapabilitySet> command_capabilities(const RunOptions& options) {
  if (options.privileged) return std::nullopt;
  bool adjusted = !options.cap_add.empty() || !options.cap_drop.empty();
  if (!options.image_root() && !adjusted) return std::nullopt;
  try {
    return adjust_capabilities(default_capabilities(), options.cap_add, options.cap_drop);
  } catch (const std::invalid_argument&) {
    throw Error("--cap-add or --cap-drop names an unknown capability",
                "use names like NET_ADMIN or CAP_NET_ADMIN (see capabilities(7)), or ALL");
  }
}

}  // namespace execvm
