// Root: where the guest's / comes from. One implementation per kind: BareRoot (an initramfs with
// just the command), HostRoot (the host's own /, read-only, with shares); images, directories and
// disks add theirs. A run makes its root first, which checks what is cheap to check (the command
// is there, the volumes are); prepares it once the kernel and QEMU are found (the initramfs, the
// file servers); and keeps it, with what it started, for as long as the VM lives.
#pragma once

#include <string>
#include <vector>

#include "spec/run_spec.h"

namespace execvm {

// What the VM needs of a root.
struct RootDevices {
  int initramfs = -1;                  // what the VM boots, read by QEMU as /proc/self/fd/N
  std::vector<std::string> qemu_args;  // its devices
  std::vector<int> fds;                // descriptors QEMU inherits at the same numbers
  bool shared_memory = false;          // the guest's RAM must be shared (vhost-user devices)
};

// What the guest agent mounts (see RunSpec).
struct GuestMounts {
  MountSpec root;
  std::vector<MountSpec> mounts;
};

class Root {
 public:
  virtual ~Root() = default;
  // Builds what the VM needs: the initramfs, the file servers. Called once. Throws Error.
  virtual RootDevices prepare() = 0;
  // The guest's mount plan, once prepared.
  virtual GuestMounts mounts() const = 0;
  // QEMU has started with the devices' descriptors: the root lets go of its copies.
  virtual void vm_started() = 0;
  // What the root's servers said, for a failure report.
  virtual std::string diagnostics() const { return {}; }
  // How the root is served, for --stats and doctor: "bare", "virtiofs", "9p".
  virtual std::string kind() const = 0;
};

}  // namespace execvm
