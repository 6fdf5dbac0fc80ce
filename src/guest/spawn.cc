#include "guest/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

#include "guest/confine.h"
#include "guest/exec_path.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"

namespace execvm::guest {

namespace {

// Which step failed in the child, reported over the exec-error pipe with its errno.
enum class Step : int { kTerminal = 1, kIdentity, kCwd, kConfine, kExec };

constexpr int kOutputPipeSize = 1 << 20;

struct Failure {
  Step step;
  int err;
};

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  return {Fd(fds[0]), Fd(fds[1])};
}

Fd open_terminal(const RunSpec& spec, std::string& slave_name) {
  Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) throw_errno("open a pseudo-terminal");
  if (::grantpt(master.get()) < 0 || ::unlockpt(master.get()) < 0)
    throw_errno("unlock the pseudo-terminal");
  char name[128];
  if (::ptsname_r(master.get(), name, sizeof name) != 0) throw_errno("ptsname");
  slave_name = name;
  if (spec.rows && spec.cols) {
    struct winsize ws {};
    ws.ws_row = spec.rows;
    ws.ws_col = spec.cols;
    ::ioctl(master.get(), TIOCSWINSZ, &ws);
  }
  return master;
}

std::string describe(const RunSpec& spec, Failure f) {
  const std::string& cmd = spec.argv[0];
  switch (f.step) {
    case Step::kTerminal:
      return std::string("cannot set up the terminal: ") + strerror(f.err);
    case Step::kIdentity:
      return "cannot take uid " + std::to_string(spec.uid) + " gid " + std::to_string(spec.gid) +
             ": " + strerror(f.err);
    case Step::kCwd:
      return "cannot change to directory " + spec.cwd + " in the guest: " + strerror(f.err);
    case Step::kConfine:
      return std::string("cannot confine the command: ") + strerror(f.err);
    case Step::kExec:
      break;  // describe_exec_failure says why
  }
  return cmd + ": cannot start";
}

// Everything the child needs, prepared by the parent: between clone() and exec the child shares
// the parent's memory (CLONE_VM | CLONE_VFORK, as posix_spawn does), so it only makes system
// calls and writes its failure here.
struct ChildContext {
  const RunSpec* spec;
  const char* slave_name;  // the terminal, or nullptr
  int stdin_fd, stdout_fd, stderr_fd;
  ExecPlan exec;
  std::vector<gid_t> groups;
  const Confinement* confinement;  // or nullptr: the command has the agent's powers
  Failure failure{};
};

[[noreturn]] void child_fail(ChildContext& c, Step step, int err) {
  c.failure = {step, err};
  ::_exit(127);
}

int child_main(void* arg) {
  ChildContext& c = *static_cast<ChildContext*>(arg);
  const RunSpec& spec = *c.spec;
  // The agent blocks signals it reads through a signalfd; the command starts clean, but for
  // those its caller ignores.
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  for (int sig : spec.ignored_signals) ::signal(sig, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setsid();
  if (c.slave_name) {
    int slave = ::open(c.slave_name, O_RDWR);
    if (slave < 0 || ::ioctl(slave, TIOCSCTTY, 0) < 0) child_fail(c, Step::kTerminal, errno);
    ::dup2(slave, 0);
    ::dup2(slave, 1);
    if (spec.stderr_tty) ::dup2(slave, 2);
    if (slave > 2) ::close(slave);
  } else {
    ::dup2(c.stdin_fd, 0);
    ::dup2(c.stdout_fd, 1);
  }
  if (c.stderr_fd >= 0) ::dup2(c.stderr_fd, 2);
  if (spec.stderr_to_stdout && !c.slave_name) ::dup2(1, 2);
  for (int fd : spec.closed_fds) ::close(fd);
  if (spec.stack_limit) {
    struct rlimit stack = {spec.stack_limit, spec.stack_limit};
    if (::getrlimit(RLIMIT_STACK, &stack) == 0) {
      stack.rlim_cur = spec.stack_limit;
      stack.rlim_max = std::max<rlim_t>(stack.rlim_max, spec.stack_limit);
      ::setrlimit(RLIMIT_STACK, &stack);
    }
  }
  // The bounding set is limited while the child still has CAP_SETPCAP.
  if (c.confinement) {
    if (int err = limit_capabilities(*c.confinement)) child_fail(c, Step::kConfine, err);
  }
  // Identity: supplementary groups, then gid, then uid (after which nothing else may change).
  if (::setgroups(c.groups.size(), c.groups.data()) < 0 ||
      ::setresgid(spec.gid, spec.gid, spec.gid) < 0 ||
      ::setresuid(spec.uid, spec.uid, spec.uid) < 0)
    child_fail(c, Step::kIdentity, errno);
  ::umask(static_cast<mode_t>(spec.umask));
  if (::chdir(spec.cwd.c_str()) < 0) child_fail(c, Step::kCwd, errno);
  // Last before exec: the command's own limits (its capabilities, no_new_privs, the filter).
  if (c.confinement) {
    if (int err = confine(*c.confinement)) child_fail(c, Step::kConfine, err);
  }
  exec_command(c.exec);
  child_fail(c, Step::kExec, c.exec.failure.err);
}

}  // namespace

Child spawn_command(const RunSpec& spec) {
  // A working directory the guest lacks is made, the command's (when it cannot be, the command's
  // chdir says why).
  if (!spec.cwd.empty() && spec.cwd[0] == '/') {
    try {
      make_dirs(spec.cwd,
                [&](const std::string& dir) { (void)!::chown(dir.c_str(), spec.uid, spec.gid); });
    } catch (const Error&) {
    }
  }
  Child child;
  std::string slave_name;
  Fd in_r, out_w, err_w;
  if (spec.tty) {
    child.terminal = open_terminal(spec, slave_name);
  } else {
    auto [r, w] = make_pipe();
    in_r = std::move(r);
    child.stdin_pipe = std::move(w);
    auto [r2, w2] = make_pipe();
    child.stdout_pipe = std::move(r2);
    out_w = std::move(w2);
    // A larger pipe: the agent moves more per wake-up (each costs several system calls, which
    // under TCG is what output throughput is made of).
    ::fcntl(child.stdout_pipe.get(), F_SETPIPE_SZ, kOutputPipeSize);
  }
  if ((!spec.tty && !spec.stderr_to_stdout) || (spec.tty && !spec.stderr_tty)) {
    auto [r, w] = make_pipe();
    child.stderr_pipe = std::move(r);
    err_w = std::move(w);
    ::fcntl(child.stderr_pipe.get(), F_SETPIPE_SZ, kOutputPipeSize);
  }

  ChildContext c;
  c.spec = &spec;
  c.slave_name = spec.tty ? slave_name.c_str() : nullptr;
  c.stdin_fd = in_r.get();
  c.stdout_fd = out_w.get();
  c.stderr_fd = err_w.get();
  c.exec = plan_exec(spec.argv, spec.env);
  c.groups.assign(spec.groups.begin(), spec.groups.end());
  std::optional<Confinement> confinement;
  if (spec.capabilities) confinement = prepare_confinement(*spec.capabilities);
  c.confinement = confinement ? &*confinement : nullptr;

  // The parent sleeps until the child has exec'd or failed: no copy of the agent's memory.
  constexpr size_t kStackSize = 256 * 1024;
  std::vector<char> stack(kStackSize);
  pid_t pid =
      ::clone(child_main, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
  if (pid < 0) throw_errno("clone");
  if (c.failure.err != 0 || c.failure.step != Step{}) {
    int status;
    ::waitpid(pid, &status, 0);
    if (c.failure.step == Step::kExec) {
      Error e = describe_exec_failure(c.exec);
      throw SpawnError(e.exit_code(), e.what());
    }
    throw SpawnError(kExitFailure, describe(spec, c.failure));
  }
  child.pid = pid;
  for (int fd : {child.terminal.get(), child.stdin_pipe.get(), child.stdout_pipe.get(),
                 child.stderr_pipe.get()})
    if (fd >= 0) set_nonblocking(fd);
  return child;
}

}  // namespace execvm::guest
