// How the host's / and the shares reach the guest: over virtiofs (one virtiofsd serving /,
// read-only but for the writable shares) or over 9p (QEMU serves each share itself; the root
// is exported read-only). The result is QEMU devices plus the guest's mount plan in the spec.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/qemu.h"
#include "host/virtiofsd.h"
#include "root/host_root.h"
#include "spec/run_spec.h"
#include "util/fd.h"

namespace execvm {

enum class ShareFs { kAuto, kVirtiofs, k9p };

const char* share_fs_name(ShareFs fs);

struct ShareFsChoice {
  ShareFs fs = ShareFs::k9p;  // never kAuto
  std::string virtiofsd;      // the daemon, for virtiofs
  std::string why;            // why this one, for doctor and --stats
};

// What REQUEST becomes on this machine: virtiofs needs virtiofsd and root (it serves files as
// any user); 9p works anywhere. Throws Error when virtiofs is asked for and cannot be had.
ShareFsChoice choose_share_fs(ShareFs request);

// The devices and daemons of one VM's host root. Lives as long as the VM.
class HostFilesystems {
 public:
  HostFilesystems(const ShareFsChoice& choice, const std::vector<Share>& shares);
  // Adds the devices to CONFIG and the root and mounts to SPEC.
  void configure(VmConfig& config, RunSpec& spec) const;
  // The descriptors QEMU inherits; close them here once it has started.
  std::vector<int> qemu_fds() const;
  void close_qemu_fds();
  // What virtiofsd said on stderr, if it runs.
  std::string file_server_messages() const;

 private:
  ShareFs fs_;
  std::vector<Share> shares_;
  Fd qemu_socket_;  // virtiofs: QEMU's end of virtiofsd's socket
  std::unique_ptr<Virtiofsd> virtiofsd_;
};

}  // namespace execvm
