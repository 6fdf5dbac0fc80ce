// The guest agent's dealings with the guest kernel as PID 1: the first mounts, the loopback
// interface, the clock, finding the host's port, and ending the VM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/fd.h"

namespace execvm::guest {

// Mounts /sys and /dev (devtmpfs) under ROOT: what finding the host's port needs. Throws Error
// when a mount fails.
void mount_sys_and_dev(const std::string& root = "");

// Mounts /proc and /dev/pts under ROOT, makes /dev/shm and the links udev would. (/tmp and /run
// are the initramfs's own directories, in RAM already.) Throws Error when a mount fails.
void mount_runtime(const std::string& root = "");

// Mounts tmpfs on /run (mode 0755) and /tmp (mode 1777) under ROOT: `execvm init` gives them to
// any initramfs. Throws Error when a mount fails.
void mount_run_and_tmp(const std::string& root = "");

// Makes /dev/disk/by-id/virtio-SERIAL under ROOT for each virtio block device with a serial (and
// virtio-SERIAL-partN for its partitions), as udev would: the host names disks by serial.
void make_disk_links(const std::string& root = "");

// Brings the loopback interface up (the kernel then gives it 127.0.0.1).
void bring_up_loopback();

// Sets the guest's realtime clock (the microvm has no RTC the kernel reads).
void set_realtime(int64_t realtime_ns);

// Opens the virtio-serial port named NAME (non-blocking), waiting up to TIMEOUT_MS for the
// driver to announce it. Throws Error when it never appears.
Fd open_port(const std::string& name, int timeout_ms);

// Logs one line on the console (the kernel's stdout for PID 1), prefixed "execvm-agent: ".
void log_line(const std::string& line);

// The I/O port of QEMU's isa-debug-exit device, or 0 when this machine has none: on a
// hypervisor (CPUID's bit), at QEMU's default port 0x501 or the customary 0xf4, where the device
// reads as 0 (a port that no device claims reads as 0xff). It takes port I/O from user space,
// which a kernel without CONFIG_X86_IOPL_IOPERM refuses (then 0).
uint16_t debug_exit_port();

// Syncs filesystems and ends the VM: with reboot=t and QEMU's -no-reboot, a reboot makes QEMU
// exit at once (a no-ACPI kernel can only halt on power-off). With EXIT_STATUS, first hands it
// to QEMU's isa-debug-exit device when there is one, which ends QEMU with exit status
// (EXIT_STATUS << 1) | 1. Never returns.
[[noreturn]] void power_off(std::optional<int> exit_status = std::nullopt);

}  // namespace execvm::guest
