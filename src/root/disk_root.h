// A root on a virtio disk: a filesystem image file (ext4, erofs or squashfs) that the guest
// mounts read-only under its overlay, or writable as the root itself. The image mode's cached
// root filesystems and --root-disk are both this; -v volumes come over 9p.
#pragma once

#include <string>
#include <vector>

#include "config/volume.h"
#include "root/host_root.h"
#include "root/root.h"
#include "util/fd.h"

namespace execvm {

// The serial the guest finds its root disk by.
inline constexpr const char* kRootDiskSerial = "execvm-root";

// The filesystem in the image open at FD, by its superblock's magic: "ext4" (ext2 and ext3
// too), "erofs" or "squashfs"; "" when it is none of them.
std::string detect_filesystem(int fd);

struct DiskRootRequest {
  std::string path;    // the filesystem image
  std::string fstype;  // "" to detect it
  bool writable = false;
  std::string label;  // how messages name it: "--root-disk FILE", "image REF"
  std::vector<Volume> volumes;
};

class DiskRoot : public Root {
 public:
  // Opens the image (it stays open: what QEMU reads is what was checked, even if the path is
  // replaced) and detects its filesystem. Throws Error when it cannot be read or is not one of
  // the filesystems the guest kernel has, and for a bad volume.
  explicit DiskRoot(const DiskRootRequest& request);

  RootDevices prepare() override;
  GuestMounts mounts() const override;
  void vm_started() override;
  std::string kind() const override { return fstype_ + " disk"; }

  const std::string& fstype() const { return fstype_; }

 private:
  std::string path_;
  std::string fstype_;
  bool writable_;
  std::vector<Share> shares_;
  Fd disk_;
  Fd initramfs_;
};

}  // namespace execvm
