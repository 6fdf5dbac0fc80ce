#include "root/disk_root.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/disks.h"
#include "root/base.h"
#include "util/error.h"

namespace execvm {

std::string detect_filesystem(int fd) {
  unsigned char block[2048] = {};
  ssize_t n = ::pread(fd, block, sizeof block, 0);
  if (n < 4) return "";
  if (std::memcmp(block, "hsqs", 4) == 0) return "squashfs";
  if (n >= 1028 && block[1024] == 0xe2 && block[1025] == 0xe1 && block[1026] == 0xf5 &&
      block[1027] == 0xe0)
    return "erofs";
  if (n >= 1082 && block[1080] == 0x53 && block[1081] == 0xef) return "ext4";
  return "";
}

DiskRoot::DiskRoot(const DiskRootRequest& request)
    : path_(request.path),
      fstype_(request.fstype),
      writable_(request.writable),
      shares_(volume_shares(request.volumes)) {
  disk_ = Fd(::open(path_.c_str(), (writable_ ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (!disk_)
    throw Error(request.label + ": cannot open " + path_ + ": " + strerror(errno),
                writable_ ? "a disk written through must be writable by you" : "");
  if (fstype_.empty()) fstype_ = detect_filesystem(disk_.get());
  if (fstype_.empty())
    throw Error(request.label + ": " + path_ + " holds no ext4, erofs or squashfs filesystem",
                "make one with mkfs.ext4 -d DIR, mkfs.erofs or mksquashfs");
  if (writable_ && fstype_ != "ext4")
    throw Error(request.label + ": " + fstype_ + " is read-only and cannot be written through",
                "drop :rw; the guest still writes, to a throwaway layer");
}

RootDevices DiskRoot::prepare() {
  initramfs_ = build_agent_initramfs();
  RootDevices devices;
  devices.initramfs = initramfs_.get();
  devices.fds = {initramfs_.get(), disk_.get()};
  // QEMU opens the descriptor execvm checked; a read-only one for a read-only disk, so that
  // the guest cannot write it whatever it does.
  devices.qemu_args = virtio_disk_args(disk_.get(), "rootdisk", kRootDiskSerial, !writable_);
  add_nine_p_shares(shares_, devices);
  return devices;
}

GuestMounts DiskRoot::mounts() const {
  GuestMounts m;
  // A read-only ext4 is mounted without replaying its journal: the device cannot be written.
  std::string options = fstype_ == "ext4" && !writable_ ? "noload" : "";
  m.root = {std::string("/dev/disk/by-id/virtio-") + kRootDiskSerial, "/", fstype_, options,
            !writable_};
  add_nine_p_mounts(shares_, m);
  return m;
}

void DiskRoot::vm_started() {
  initramfs_.reset();
  disk_.reset();
}

}  // namespace execvm
