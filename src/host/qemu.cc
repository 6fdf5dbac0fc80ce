#include "host/qemu.h"

#include "protocol/frame.h"
#include "util/error.h"

namespace execvm {

std::string kernel_cmdline(const VmConfig& c) {
  // panic=-1 and reboot=t: a panic or the agent's reboot ends QEMU at once (with -no-reboot).
  std::string cmdline = "console=ttyS0 panic=-1 reboot=t rdinit=/init";
  cmdline += c.verbose_console ? " loglevel=7 printk.time=1" : " quiet";
  // The CPU's random numbers seed the guest's entropy at once (a VM has no other early source).
  cmdline += " random.trust_cpu=on";
  // Booting with one CPU, the kernel rewrites every lock prefix for a uniprocessor; under TCG
  // each rewrite flushes translated code (~180 ms measured). Keep the SMP code as it is.
  cmdline += " noreplace-smp";
  if (c.accel == Accel::kTcg) {
    // Without it, calibrating the TSC under TCG is slow, and on a loaded host it hung the boot
    // in 11 of 20 tries with an ACPI kernel (measured).
    if (c.tsc_khz) cmdline += " tsc_early_khz=" + std::to_string(c.tsc_khz);
    // Skips the local APIC timer's calibration (~200 ms under TCG); safe only without ACPI.
    if (!c.kernel_acpi) cmdline += " noapictimer";
    // The kernel checks that the IO-APIC's timer interrupt arrives within a few ticks and
    // panics otherwise ("IO-APIC + timer doesn't work!"); under TCG on a loaded host it can be
    // late (seen once in 100 boots under the test suite's load).
    cmdline += " no_timer_check";
  }
  return cmdline;
}

std::vector<std::string> qemu_argv(const VmConfig& c, int console_fd, int channel_fd) {
  std::vector<std::string> argv = {c.qemu, "-nodefaults", "-no-user-config", "-display",
                                   "none", "-name",       "execvm"};
  // A no-ACPI kernel finds virtio-mmio devices on its command line, which QEMU fills in only
  // with acpi=off; an ACPI kernel finds them in the ACPI tables (and a no-ACPI kernel finds none
  // there). The RTC stays: without it the guest's boot took a second longer under TCG (measured).
  std::string machine =
      std::string("microvm,acpi=") + (c.kernel_acpi ? "on" : "off") + ",x-option-roms=off";
  if (c.shared_memory) {
    machine += ",memory-backend=mem";
    argv.insert(argv.end(), {"-object", "memory-backend-memfd,id=mem,size=" +
                                            std::to_string(c.memory_mib) + "M,share=on"});
  }
  argv.insert(argv.end(), {"-machine", machine});
  if (c.accel == Accel::kKvm) {
    argv.insert(argv.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // One vCPU runs fastest single-threaded; several get a thread each. Without ERMS and FSRM
    // the guest copies memory with wide moves instead of "rep movsb", which TCG runs a byte at a
    // time: a third of the cost of moving the command's output (measured).
    argv.insert(argv.end(),
                {"-accel", c.cpus == 1 ? "tcg,thread=single" : "tcg", "-cpu", "max,-erms,-fsrm"});
  }
  argv.insert(argv.end(), {"-smp", std::to_string(c.cpus), "-m", std::to_string(c.memory_mib) + "M",
                           "-no-reboot", "-kernel", c.kernel, "-initrd", c.initrd, "-append",
                           kernel_cmdline(c)});
  // Modern virtio only (vhost-user devices such as virtiofs refuse legacy ones).
  argv.insert(argv.end(), {"-global", "virtio-mmio.force-legacy=false"});
  argv.insert(argv.end(), {"-chardev", "socket,id=console,fd=" + std::to_string(console_fd),
                           "-serial", "chardev:console"});
  argv.insert(argv.end(),
              {"-device", "virtio-serial-device,max_ports=2", "-chardev",
               "socket,id=channel,fd=" + std::to_string(channel_fd), "-device",
               std::string("virtserialport,chardev=channel,name=") + protocol::kPortName});
  argv.insert(argv.end(), {"-device", "virtio-rng-device"});
  argv.insert(argv.end(), c.devices.begin(), c.devices.end());
  // No network device unless asked for: -nodefaults leaves the guest without one.
  std::vector<std::string> network = network_qemu_args(c.network, c.publish);
  argv.insert(argv.end(), network.begin(), network.end());
  return argv;
}

}  // namespace execvm
