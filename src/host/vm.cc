#include "host/vm.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "util/error.h"
#include "util/sys.h"

namespace execvm {

namespace {

// A connected pair: execvm's end (non-blocking) and QEMU's.
std::pair<Fd, Fd> socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("socketpair");
  set_nonblocking(fds[0]);
  return {Fd(fds[0]), Fd(fds[1])};
}

}  // namespace

Vm::Vm(const VmConfig& config, const std::vector<int>& inherit) {
  auto [channel, channel_qemu] = socket_pair();
  auto [console, console_qemu] = socket_pair();
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  ProcessSpec spec;
  spec.argv = qemu_argv(config, console_qemu.get(), channel_qemu.get());
  spec.stderr_fd = err_w.get();
  spec.keep_fds = inherit;
  spec.keep_fds.push_back(console_qemu.get());
  spec.keep_fds.push_back(channel_qemu.get());
  if (config.accel == Accel::kTcg) {
    // Under TCG, transparent huge pages only round every page the guest touches up to 2 MiB
    // (QEMU's resident memory grows, its speed does not); KVM's nested paging gains from them.
    spec.before_exec = [] {
      ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
      return static_cast<const char*>(nullptr);
    };
  }
  process_ = Process(spec);
  channel_ = std::move(channel);
  console_ = std::move(console);
  stderr_ = std::move(err_r);
  set_nonblocking(stderr_.get());
}

}  // namespace execvm
