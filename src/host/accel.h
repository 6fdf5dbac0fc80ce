// Choosing QEMU's accelerator: KVM where it can boot a standard kernel, else TCG (measured: a
// PVM /dev/kvm exists on some hosts and hangs every stock kernel).
#pragma once

#include <string>

namespace execvm {

enum class Accel { kKvm, kTcg };
enum class AccelRequest { kAuto, kKvm, kTcg };

const char* accel_name(Accel accel);

// What the host says about KVM, read by probe_accel() and kept separate so the choice is testable.
struct AccelFacts {
  bool device_exists = false;  // /dev/kvm is there
  bool device_usable = false;  // opened read-write and answered KVM_GET_API_VERSION 12
  std::string device_error;    // why not, when it is there but not usable
  std::string vendor_module;   // "kvm_intel", "kvm_amd", "kvm_pvm" or "" (from /sys/module)
};

AccelFacts probe_accel();

struct AccelChoice {
  Accel accel;
  std::string reason;  // one line, for doctor and for errors
};

// The accelerator for REQUEST given FACTS. Throws Error when KVM is requested but unusable.
AccelChoice choose_accel(AccelRequest request, const AccelFacts& facts);

}  // namespace execvm
