// Block devices for the guest (--disk FILE[:ro][:serial=NAME]): each file opened here before the
// VM starts, and given to QEMU as a raw virtio-blk device with a serial, by which the guest
// agent names it /dev/disk/by-id/virtio-NAME. Also the count of microvm's virtio-mmio slots,
// which the disks share with every other device of the run.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "util/fd.h"

namespace execvm {

// A virtio-blk serial's size (VIRTIO_BLK_ID_BYTES): QEMU cuts longer ones.
inline constexpr size_t kMaxDiskSerial = 20;
// The virtio-mmio transports of QEMU's microvm machine: one for each virtio device.
inline constexpr unsigned kVirtioMmioSlots = 8;

// QEMU's options for the file open at FD as a raw virtio-blk device with the drive ID and SERIAL,
// read-only or not. Raw, always: a guest-written qcow2 header must not make the next run's QEMU
// read another file. QEMU opens the file again through /proc/self/fd, with the access execvm
// checked; the guest kernel sees a read-only device as such.
std::vector<std::string> virtio_disk_args(int fd, const std::string& id, const std::string& serial,
                                          bool readonly);

// One --disk, as parsed.
struct DiskOption {
  std::string text;  // as given
  std::string path;  // FILE, absolute
  bool readonly = false;
  // The serial: serial=NAME, or FILE's base name with every byte but letters, digits, '.', '_'
  // and '-' made '_', cut to kMaxDiskSerial bytes.
  std::string serial;
  bool operator==(const DiskOption&) const = default;
};

// Parses FILE[:ro][:serial=NAME] (the suffixes in either order; :rw is the default), a relative
// FILE against BASE. Throws Error "LABEL: what is wrong" with what to write.
DiskOption parse_disk_option(const std::string& text, const std::string& base,
                             const std::string& label);

// The run's disks, open.
class Disks {
 public:
  // Opens each file as the guest will use it (read-only, or read-write) and checks it: a
  // regular file or a block device, no two disks with one serial, no file attached twice unless
  // every time read-only. Throws Error (125) saying which --disk and why.
  explicit Disks(const std::vector<DiskOption>& options);

  size_t size() const { return disks_.size(); }
  // QEMU's arguments for the disks, which name the descriptors of fds() as /proc/self/fd/N.
  std::vector<std::string> qemu_args() const;
  std::vector<int> fds() const;
  // QEMU has started with the descriptors: these copies go.
  void vm_started();

 private:
  struct Disk {
    DiskOption option;
    Fd fd;
  };
  std::vector<Disk> disks_;
};

// The virtio-mmio devices that QEMU's ARGV asks for.
unsigned virtio_mmio_devices(const std::vector<std::string>& argv);

// Throws Error (before QEMU starts) when ARGV asks for more virtio-mmio devices than microvm has,
// saying how many of the run's DISKS (--disk) fit beside its other devices.
void check_virtio_slots(const std::vector<std::string>& argv, size_t disks);

}  // namespace execvm
