#include "root/virtiofsd.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"

namespace execvm {

std::optional<std::string> find_virtiofsd() {
  for (const char* path : {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"})
    if (::access(path, X_OK) == 0) return path;
  return find_program("virtiofsd");
}

Virtiofsd::Virtiofsd(const std::string& binary, const std::vector<std::string>& writable,
                     int socket) {
  std::vector<const char*> paths;
  for (const auto& w : writable) paths.push_back(w.c_str());
  std::vector<int> copies(paths.size(), -1);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd err_w(err_pipe[1]);
  stderr_.reset(err_pipe[0]);
  set_nonblocking(stderr_.get());

  ProcessSpec spec;
  spec.argv = {binary, "--fd=" + std::to_string(socket),
               "-o",   "source=/",
               "-o",   "sandbox=chroot",
               "-o",   "log_level=err"};
  spec.stderr_fd = err_w.get();
  spec.keep_fds = {socket};
  // The daemon's own mount namespace, set up between fork and exec (system calls only).
  spec.before_exec = [&]() -> const char* {
    // One open file per host file the guest holds: as many as it may have.
    struct rlimit files;
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
      files.rlim_cur = files.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &files);
    }
    if (::unshare(CLONE_NEWNS) < 0) return "create a mount namespace for";
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
      return "make the mounts private for";
    // Copies of the writable shares are taken before / turns read-only, then put back on top.
    for (size_t i = 0; i < paths.size(); ++i) {
      copies[i] = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, paths[i],
                                             OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
      if (copies[i] < 0) return "take a writable copy of a share for";
    }
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) < 0)
      return "make the host's / read-only for";
    for (size_t i = 0; i < paths.size(); ++i) {
      if (::syscall(SYS_move_mount, copies[i], "", AT_FDCWD, paths[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return "put a writable share back for";
    }
    return nullptr;
  };
  try {
    process_ = Process(spec);
  } catch (const Error& e) {
    throw Error(e.what(), "use --share-fs 9p");
  }
}

std::string Virtiofsd::messages() const {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(stderr_.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace execvm
