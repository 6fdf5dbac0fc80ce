// The QEMU command line of one execvm VM: a microvm booting a kernel directly, with virtio-mmio
// devices only, its console on one socket and the agent's channel on another.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/accel.h"
#include "host/network.h"

namespace execvm {

struct VmConfig {
  std::string qemu;  // the qemu-system-x86_64 binary
  Accel accel = Accel::kTcg;
  std::string kernel;        // vmlinux or bzImage
  bool kernel_acpi = false;  // the kernel finds its devices through ACPI (not execvm's own)
  std::string initrd;
  unsigned cpus = 1;
  uint64_t memory_mib = 512;
  uint32_t tsc_khz = 0;          // the host's TSC frequency, for TCG guests; 0 when unknown
  bool verbose_console = false;  // the kernel logs at its normal level instead of quiet
  // The guest's RAM in a shared memfd, which vhost-user devices (virtiofs) need.
  bool shared_memory = false;
  std::vector<std::string> devices;  // further QEMU arguments: the filesystems' devices
  // The guest's network: none (no network device), or user-mode with these forwards.
  NetworkMode network = NetworkMode::kNone;
  std::vector<PortForward> publish;
};

// The kernel command line for CONFIG.
std::string kernel_cmdline(const VmConfig& config);

// QEMU's argv for CONFIG, with the serial console on the connected socket CONSOLE_FD and the
// agent's virtio-serial port on CHANNEL_FD (both passed to QEMU at these numbers). Throws Error
// when its virtio devices are more than microvm's virtio-mmio slots.
std::vector<std::string> qemu_argv(const VmConfig& config, int console_fd, int channel_fd);

}  // namespace execvm
