// --initrd FILE: an initramfs of the user's own (a cpio archive, compressed or not; what
// `execvm initramfs` writes, an alpine minirootfs made into one) as the guest's root. The VM boots
// FILE with execvm's agent appended as a second archive (the kernel unpacks concatenated archives
// in order, each with its own compression, a later entry replacing an earlier one), so the agent
// is /init and the root is FILE's tree, in memory and writable, gone with the VM.
#pragma once

#include <string>

#include "root/root.h"
#include "util/fd.h"

namespace execvm {

class InitrdRoot : public Root {
 public:
  // Opens FILE at once: a missing or unreadable one is an error before anything starts.
  explicit InitrdRoot(const std::string& file);

  RootDevices prepare() override;
  GuestMounts mounts() const override { return {}; }
  void vm_started() override { initramfs_.reset(); }
  std::string kind() const override { return "initrd"; }

 private:
  std::string file_;
  Fd source_, initramfs_;
};

}  // namespace execvm
