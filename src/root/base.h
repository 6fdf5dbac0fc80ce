// What every execvm initramfs holds: the agent as /init, the mount points it uses, and
// /dev/console so that the kernel gives PID 1 its console.
#pragma once

#include "initramfs/cpio.h"
#include "root/root.h"
#include "util/fd.h"

namespace execvm {

void add_agent_base(CpioWriter& cpio);

// An empty memfd for an initramfs (its fd is what QEMU is given, as /proc/self/fd/N).
Fd make_initramfs_memfd();

// An initramfs holding only the agent's base, for roots that come from elsewhere.
Fd build_agent_initramfs();

// The devices of a root that is the initramfs MEMFD alone, which HELD keeps until the VM has
// started (QEMU reads it as /proc/self/fd/N).
RootDevices initramfs_devices(Fd& held, Fd memfd);

}  // namespace execvm
