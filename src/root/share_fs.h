// How the host's files reach the guest in the host-root mode: over virtiofs (one virtiofsd
// serving /, read-only but for the writable shares) or over 9p (QEMU serves each share itself,
// the root read-only), and which of the two this machine can have.
#pragma once

#include <string>

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

}  // namespace execvm
