#include "guest/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/error.h"
#include "util/sys.h"

namespace execvm::guest {

namespace {

// Which step failed in the child, reported over the exec-error pipe with its errno.
enum class Step : int { kTerminal = 1, kIdentity, kCwd, kExec };

struct Failure {
  Step step;
  int err;
};

[[noreturn]] void fail(int pipe_fd, Step step) {
  Failure f{step, errno};
  (void)!::write(pipe_fd, &f, sizeof f);
  ::_exit(127);
}

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
    case Step::kExec:
      if (f.err == ENOENT && cmd.find('/') == std::string::npos)
        return cmd + ": command not found";
      return cmd + ": " + strerror(f.err);
  }
  return cmd + ": cannot start";
}

int exit_code_for(Failure f) {
  if (f.step != Step::kExec) return kExitFailure;
  return f.err == ENOENT ? kExitNotFound : kExitCannotInvoke;
}

// mkdir -p DIR, giving the directories it creates to UID:GID.
void make_directory(const std::string& dir, uid_t uid, gid_t gid) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) == 0) (void)!::chown(part.c_str(), uid, gid);
  }
}

}  // namespace

Child spawn_command(const RunSpec& spec) {
  if (spec.make_cwd && !spec.cwd.empty() && spec.cwd[0] == '/') make_directory(spec.cwd, spec.uid, spec.gid);
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
  }
  if (!spec.tty || !spec.stderr_tty) {
    auto [r, w] = make_pipe();
    child.stderr_pipe = std::move(r);
    err_w = std::move(w);
  }
  auto [status_r, status_w] = make_pipe();

  // Everything the child needs, prepared before fork: it only makes system calls afterwards.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::vector<gid_t> groups(spec.groups.begin(), spec.groups.end());

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    int report = status_w.get();
    // The agent blocks signals it reads through a signalfd; the command starts clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    for (int sig : spec.ignored_signals) ::signal(sig, SIG_IGN);
    ::setsid();
    if (spec.tty) {
      int slave = ::open(slave_name.c_str(), O_RDWR);
      if (slave < 0 || ::ioctl(slave, TIOCSCTTY, 0) < 0) fail(report, Step::kTerminal);
      ::dup2(slave, 0);
      ::dup2(slave, 1);
      if (spec.stderr_tty) ::dup2(slave, 2);
      if (slave > 2) ::close(slave);
    } else {
      ::dup2(in_r.get(), 0);
      ::dup2(out_w.get(), 1);
    }
    if (err_w) ::dup2(err_w.get(), 2);
    // Identity: supplementary groups, then gid, then uid (after which nothing else may change).
    if (::setgroups(groups.size(), groups.data()) < 0 || ::setresgid(spec.gid, spec.gid, spec.gid) < 0 ||
        ::setresuid(spec.uid, spec.uid, spec.uid) < 0)
      fail(report, Step::kIdentity);
    ::umask(static_cast<mode_t>(spec.umask));
    if (::chdir(spec.cwd.c_str()) < 0) fail(report, Step::kCwd);
    // execvp looks PATH up in environ: the command's environment, as it would be locally.
    environ = envp.data();
    ::execvp(argv[0], argv.data());
    fail(report, Step::kExec);
  }

  child.pid = pid;
  status_w.reset();
  in_r.reset();
  out_w.reset();
  err_w.reset();
  Failure f{};
  ssize_t n;
  do n = ::read(status_r.get(), &f, sizeof f);
  while (n < 0 && errno == EINTR);
  if (n == sizeof f) {
    int status;
    ::waitpid(pid, &status, 0);
    throw SpawnError(exit_code_for(f), describe(spec, f));
  }
  for (int fd : {child.terminal.get(), child.stdin_pipe.get(), child.stdout_pipe.get(),
                 child.stderr_pipe.get()})
    if (fd >= 0) set_nonblocking(fd);
  return child;
}

}  // namespace execvm::guest
