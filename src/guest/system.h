// The guest agent's dealings with the guest kernel as PID 1: the first mounts, the loopback
// interface, the clock, finding the host's port, and ending the VM.
#pragma once

#include <cstdint>
#include <string>

#include "util/fd.h"

namespace execvm::guest {

// Mounts /sys and /dev (devtmpfs) under ROOT: what finding the host's port needs. Throws Error
// when a mount fails.
void mount_sys_and_dev(const std::string& root = "");

// Mounts /proc and /dev/pts under ROOT, makes /dev/shm and the links udev would. (/tmp and /run
// are the initramfs's own directories, in RAM already.) Throws Error when a mount fails.
void mount_runtime(const std::string& root = "");

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

// Syncs filesystems and ends the VM: with reboot=t and QEMU's -no-reboot, a reboot makes QEMU
// exit at once (a no-ACPI kernel can only halt on power-off). Never returns.
[[noreturn]] void power_off();

}  // namespace execvm::guest
