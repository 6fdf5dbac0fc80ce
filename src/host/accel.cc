#include "host/accel.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/fd.h"

namespace execvm {

const char* accel_name(Accel accel) {
  return accel == Accel::kKvm ? "kvm" : "tcg";
}

AccelFacts probe_accel() {
  AccelFacts facts;
  struct stat st;
  facts.device_exists = ::stat("/dev/kvm", &st) == 0;
  if (facts.device_exists) {
    Fd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm) {
      facts.device_error = std::string("cannot open /dev/kvm: ") + strerror(errno);
    } else if (::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
      facts.device_error = "/dev/kvm does not speak KVM API version 12";
    } else {
      facts.device_usable = true;
    }
  }
  for (const char* module : {"kvm_pvm", "kvm_intel", "kvm_amd"}) {
    if (::access((std::string("/sys/module/") + module).c_str(), F_OK) == 0) {
      facts.vendor_module = module;
      break;
    }
  }
  return facts;
}

AccelChoice choose_accel(AccelRequest request, const AccelFacts& facts) {
  // Why KVM cannot be used here, or "" when it can.
  std::string no_kvm;
  if (!facts.device_exists) {
    no_kvm = "/dev/kvm does not exist (no KVM on this host, or its module is not loaded)";
  } else if (!facts.device_usable) {
    no_kvm = facts.device_error;
  } else if (facts.vendor_module == "kvm_pvm") {
    no_kvm = "/dev/kvm is a PVM hypervisor, which cannot boot standard kernels";
  } else if (facts.vendor_module.empty()) {
    no_kvm = "/dev/kvm has no hardware vendor module (kvm_intel or kvm_amd) behind it";
  }
  if (request == AccelRequest::kTcg) return {Accel::kTcg, "TCG requested with --accel tcg"};
  if (request == AccelRequest::kKvm) {
    if (!no_kvm.empty())
      throw Error("--accel kvm: " + no_kvm,
                  "use --accel auto (TCG here) or fix KVM access (e.g. add yourself to group kvm)");
    return {Accel::kKvm, "KVM requested with --accel kvm"};
  }
  if (no_kvm.empty()) return {Accel::kKvm, "KVM through " + facts.vendor_module};
  return {Accel::kTcg, "TCG (software emulation): " + no_kvm};
}

}  // namespace execvm
