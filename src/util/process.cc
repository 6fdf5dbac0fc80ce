#include "util/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

extern char** environ;

namespace execvm {

namespace {

// What the child could not do, sent to the parent over a close-on-exec pipe: nothing arrives
// when exec succeeds. WHAT points into the parent's memory, which the child has a copy of.
struct StartFailure {
  const char* what;
  int err;
};

[[noreturn]] void fail_in_child(int pipe, const char* what) {
  StartFailure f{what, errno};
  (void)!::write(pipe, &f, sizeof f);
  ::_exit(127);
}

// Closes every descriptor from 3 up but those in KEEP (sorted).
void close_all_but(const std::vector<int>& keep) {
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(fd) > from) ::syscall(SYS_close_range, from, fd - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0u, 0);
}

}  // namespace

Process::Process(const ProcessSpec& spec) {
  if (spec.argv.empty()) throw Error("no program to run");
  const std::string& name = spec.argv[0];
  std::optional<std::string> program = find_program(name);
  if (!program) throw Error("cannot run " + name + ": not found in PATH");

  // Everything the child needs, made before fork: after it, only system calls.
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (spec.env) {
    for (const auto& e : *spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  char* const* child_env = spec.env ? envp.data() : environ;
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) throw_errno("open /dev/null");
  int failure_pipe[2];
  if (::pipe2(failure_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd failure_r(failure_pipe[0]), failure_w(failure_pipe[1]);
  int std_fds[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
  for (int& fd : std_fds)
    if (fd < 0) fd = devnull.get();
  // The descriptors that survive until exec: the ones passed on, and the failure pipe (which
  // closes at exec).
  std::vector<int> survivors = spec.keep_fds;
  survivors.push_back(failure_w.get());
  std::sort(survivors.begin(), survivors.end());
  int high = std::max(failure_w.get(), survivors.back()) + 1;
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("cannot run " + name);
  if (pid == 0) {
    int fail = failure_w.get();
    if (spec.death_signal) {
      ::prctl(PR_SET_PDEATHSIG, spec.death_signal);
      if (::getppid() != parent) ::_exit(127);  // execvm died before prctl took effect
    }
    if (spec.own_group) ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);  // execvm ignores it; its helpers expect the default
    // 0, 1 and 2 by way of copies above every survivor, so that no source is overwritten.
    int copies[3];
    for (int i = 0; i < 3; ++i) {
      copies[i] = ::fcntl(std_fds[i], F_DUPFD_CLOEXEC, high);
      if (copies[i] < 0) fail_in_child(fail, "set up its standard streams");
    }
    for (int i = 0; i < 3; ++i)
      if (::dup2(copies[i], i) < 0) fail_in_child(fail, "set up its standard streams");
    close_all_but(survivors);
    for (int fd : spec.keep_fds) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
        fail_in_child(fail, "pass on its descriptors");
    }
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) < 0)
      fail_in_child(fail, "enter its working directory");
    if (spec.before_exec) {
      if (const char* what = spec.before_exec()) fail_in_child(fail, what);
    }
    ::execve(program->c_str(), argv.data(), child_env);
    fail_in_child(fail, nullptr);
  }
  pid_ = pid;
  own_group_ = spec.own_group;
  // Also here, so that a kill of the group right away finds it.
  if (own_group_) ::setpgid(pid, pid);
  failure_w.reset();
  StartFailure f{};
  ssize_t n;
  do n = ::read(failure_r.get(), &f, sizeof f);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof f)) {
    wait();
    pid_ = -1;
    throw Error("cannot " + std::string(f.what ? f.what : "run") + " " + shell_quote(name) + ": " +
                strerror(f.err));
  }
  pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd_) {
    int err = errno;
    kill();
    wait();
    pid_ = -1;
    throw_errno("pidfd_open", err);
  }
}

Process::~Process() {
  reset();
}

Process::Process(Process&& other) noexcept {
  *this = std::move(other);
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    own_group_ = other.own_group_;
    pidfd_ = std::move(other.pidfd_);
    reaped_ = std::exchange(other.reaped_, false);
    status_ = other.status_;
    max_rss_kib_ = other.max_rss_kib_;
  }
  return *this;
}

void Process::reset() {
  if (pid_ <= 0) return;
  kill();
  wait();
  pid_ = -1;
}

void Process::kill(int sig) {
  if (pid_ <= 0 || reaped_) return;  // once reaped, its pid may be another process's
  // The whole group: a wrapper script's QEMU, say, goes with the wrapper.
  if (own_group_ && ::kill(-pid_, sig) == 0) return;
  ::kill(pid_, sig);
}

int Process::wait() {
  if (pid_ <= 0 || reaped_) return status_;
  struct rusage usage {};
  while (::wait4(pid_, &status_, 0, &usage) < 0) {
    if (errno != EINTR) {
      status_ = 0;
      break;
    }
  }
  max_rss_kib_ = usage.ru_maxrss;
  reaped_ = true;
  return status_;
}

std::optional<int> Process::poll() {
  if (pid_ <= 0 || reaped_) return status_;
  struct rusage usage {};
  pid_t r = ::wait4(pid_, &status_, WNOHANG, &usage);
  if (r == 0 || (r < 0 && errno == EINTR)) return std::nullopt;
  if (r < 0) status_ = 0;
  max_rss_kib_ = usage.ru_maxrss;
  reaped_ = true;
  return status_;
}

int shell_status(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

CapturedRun run_capture(const std::vector<std::string>& argv, bool merge_stderr,
                        const std::string& cwd, const std::optional<std::string>& input) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd r(fds[0]), w(fds[1]);
  Fd in;
  if (input) {
    // Small enough for the pipe's buffer: written whole before the child starts.
    if (input->size() > (64 << 10)) throw Error("the input for " + argv.at(0) + " is too large");
    if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
    in.reset(fds[0]);
    Fd in_w(fds[1]);
    if (!write_all(in_w.get(), *input)) throw_errno("cannot write the input for " + argv.at(0));
  }
  ProcessSpec spec;
  spec.stdin_fd = in ? in.get() : -1;
  spec.argv = argv;
  spec.cwd = cwd;
  spec.stdout_fd = w.get();
  spec.stderr_fd = merge_stderr ? w.get() : STDERR_FILENO;
  Process process(spec);
  w.reset();
  CapturedRun result;
  result.output = read_all(r.get());
  result.status = shell_status(process.wait());
  return result;
}

}  // namespace execvm
