// Vm: one QEMU process running one VmConfig, the Vmm of execvm's runs. It makes the sockets of
// the guest's console and channel, starts QEMU with them (in its own process group, dying with
// execvm) and kills and reaps it, with its whole group, when it goes out of scope.
#pragma once

#include <vector>

#include "host/qemu.h"
#include "host/vmm.h"
#include "util/fd.h"
#include "util/process.h"

namespace execvm {

class Vm : public Vmm {
 public:
  // Starts QEMU for CONFIG; INHERIT are the further descriptors CONFIG names (the initramfs, the
  // filesystems' sockets), which QEMU gets at the same numbers. Throws Error when it cannot start.
  Vm(const VmConfig& config, const std::vector<int>& inherit);

  int channel() const override { return channel_.get(); }
  int console() const override { return console_.get(); }
  int diagnostics() const override { return stderr_.get(); }
  int ended() const override { return process_.exit_fd(); }
  void kill() override { process_.kill(); }
  int wait() override { return process_.wait(); }

  // QEMU's peak resident memory in KiB, known once it has ended.
  long max_rss_kib() const { return process_.max_rss_kib(); }

 private:
  Fd channel_, console_, stderr_;
  Process process_;
};

}  // namespace execvm
