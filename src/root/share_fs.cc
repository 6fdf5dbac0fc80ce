#include "root/share_fs.h"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "root/virtiofsd.h"
#include "util/error.h"

namespace execvm {

namespace {

// virtiofsd holds an open file for every host file the guest has looked up and not yet
// forgotten: git status on 20,000 files ran it out of a limit of 20,000 (measured). Below this
// hard limit (systemd's default for services), 9p is the safer choice.
constexpr rlim_t kVirtiofsdMinFiles = 524288;

// Whether this process may create a mount namespace, as virtiofsd's set-up does.
bool can_create_mount_namespace() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) < 0) return false;
  return data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32));
}

}  // namespace

const char* share_fs_name(ShareFs fs) {
  switch (fs) {
    case ShareFs::kAuto:
      return "auto";
    case ShareFs::kVirtiofs:
      return "virtiofs";
    case ShareFs::k9p:
      return "9p";
  }
  return "?";
}

ShareFsChoice choose_share_fs(ShareFs request) {
  if (request == ShareFs::k9p) return {ShareFs::k9p, "", "asked for"};
  std::optional<std::string> daemon = find_virtiofsd();
  std::string missing;
  if (!daemon)
    missing = "virtiofsd is not installed (it comes with qemu-system-x86)";
  else if (::geteuid() != 0)
    missing = "virtiofsd needs root";
  else if (!can_create_mount_namespace())
    missing = "virtiofsd's mount namespace needs CAP_SYS_ADMIN, which this process lacks";
  struct rlimit files {};
  ::getrlimit(RLIMIT_NOFILE, &files);
  if (missing.empty() && files.rlim_max < kVirtiofsdMinFiles && request == ShareFs::kAuto)
    missing = "the open-file limit (" + std::to_string(files.rlim_max) +
              ") is too low for virtiofsd on large trees (ulimit -Hn " +
              std::to_string(kVirtiofsdMinFiles) + " or more)";
  if (missing.empty())
    return {ShareFs::kVirtiofs, *daemon, request == ShareFs::kAuto ? "available" : "asked for"};
  if (request == ShareFs::kVirtiofs)
    throw Error("--share-fs virtiofs: " + missing, "use --share-fs 9p or auto");
  return {ShareFs::k9p, "", missing};
}

}  // namespace execvm
