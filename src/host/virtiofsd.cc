#include "host/virtiofsd.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "host/vm.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"

namespace execvm {

namespace {

// What failed in the child before exec, sent to the parent over a pipe.
struct ChildFailure {
  int step;
  int err;
};

const char* const kSteps[] = {"",
                              "create a mount namespace",
                              "make its mounts private",
                              "take a writable copy of a share",
                              "make the host's / read-only",
                              "put a writable share back",
                              "start virtiofsd"};

[[noreturn]] void child_fail(int pipe, int step) {
  ChildFailure f{step, errno};
  (void)!::write(pipe, &f, sizeof f);
  ::_exit(127);
}

}  // namespace

std::optional<std::string> find_virtiofsd() {
  for (const char* path : {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"})
    if (::access(path, X_OK) == 0) return path;
  return find_program("virtiofsd");
}

Virtiofsd::Virtiofsd(const std::string& binary, const std::vector<std::string>& writable,
                     int socket) {
  // Everything the child needs is made before fork: after it, only system calls.
  std::vector<std::string> args = {binary, "--fd=3",         "-o", "source=/",
                                   "-o",   "sandbox=chroot", "-o", "log_level=err"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<const char*> paths;
  for (const auto& w : writable) paths.push_back(w.c_str());
  std::vector<int> copies(paths.size(), -1);

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd err_w(err_pipe[1]);
  stderr_.reset(err_pipe[0]);
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd status_r(status_pipe[0]), status_w(status_pipe[1]);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // Kept clear of fd 3, which becomes the socket.
    int fail = ::fcntl(status_w.get(), F_DUPFD_CLOEXEC, 10);
    if (fail < 0) ::_exit(127);
    become_supervised_child(parent);
    // One open file per host file the guest holds: as many as it may have.
    struct rlimit files;
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
      files.rlim_cur = files.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &files);
    }
    if (::unshare(CLONE_NEWNS) < 0) child_fail(fail, 1);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) child_fail(fail, 2);
    // Copies of the writable shares are taken before / turns read-only, then put back on top.
    for (size_t i = 0; i < paths.size(); ++i) {
      copies[i] = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, paths[i],
                                             OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
      if (copies[i] < 0) child_fail(fail, 3);
    }
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) < 0)
      child_fail(fail, 4);
    for (size_t i = 0; i < paths.size(); ++i) {
      if (::syscall(SYS_move_mount, copies[i], "", AT_FDCWD, paths[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
        child_fail(fail, 5);
    }
    if ((socket == 3 ? ::fcntl(3, F_SETFD, 0) : ::dup2(socket, 3)) < 0) child_fail(fail, 6);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
    }
    ::dup2(err_w.get(), 2);
    ::execv(argv[0], argv.data());
    child_fail(fail, 6);
  }
  pid_ = pid;
  status_w.reset();
  err_w.reset();
  ::fcntl(stderr_.get(), F_SETFL, ::fcntl(stderr_.get(), F_GETFL) | O_NONBLOCK);
  ChildFailure f{};
  ssize_t n;
  do n = ::read(status_r.get(), &f, sizeof f);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof f)) {
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw Error(std::string("virtiofsd: cannot ") + kSteps[f.step] + ": " + strerror(f.err),
                "use --share-fs 9p");
  }
}

std::string Virtiofsd::messages() const {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(stderr_.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

Virtiofsd::~Virtiofsd() {
  if (pid_ <= 0) return;
  // It ends by itself once QEMU is gone; a kill makes sure, and the wait leaves no zombie.
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace execvm
