#include "host/vm.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {

Vm::Vm(const VmConfig& config, const std::vector<int>& inherit) {
  std::vector<std::string> args = qemu_argv(config);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<int> keep = inherit;
  keep.push_back(config.console_fd);
  keep.push_back(config.channel_fd);

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) throw_errno("open /dev/null");
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec: execvm may have threads.
    become_supervised_child(parent);
    // Under TCG, transparent huge pages only round every page the guest touches up to 2 MiB
    // (QEMU's resident memory grows, its speed does not); KVM's nested paging gains from them.
    if (config.accel == Accel::kTcg) ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    ::dup2(devnull.get(), 0);
    ::dup2(devnull.get(), 1);
    ::dup2(err_w.get(), 2);
    for (int fd : keep) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    ::execv(argv[0], argv.data());
    const char msg[] = "execvm: cannot run QEMU\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  pid_ = pid;
  stderr_ = std::move(err_r);
  int flags = ::fcntl(stderr_.get(), F_GETFL);
  ::fcntl(stderr_.get(), F_SETFL, flags | O_NONBLOCK);
  pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd_) {
    int err = errno;
    kill();
    reap();
    throw_errno("pidfd_open", err);
  }
}

Vm::~Vm() {
  if (pid_ > 0 && !reaped_) {
    kill();
    reap();
  }
}

void Vm::kill() {
  if (pid_ > 0 && !reaped_) ::kill(pid_, SIGKILL);
}

int Vm::reap() {
  if (reaped_) return status_;
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

void become_supervised_child(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
}

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace execvm
