#include "root/base.h"

#include <sys/mman.h>

#include "host/embedded.h"
#include "util/error.h"

namespace execvm {

void add_agent_base(CpioWriter& cpio) {
  cpio.add_file("/init", embedded_agent(), 0755);
  for (const char* dir : {"/dev", "/proc", "/sys", "/run", "/root", "/etc"})
    cpio.add_directory(dir, 0755);
  cpio.add_directory("/tmp", 01777);
  cpio.add_char_device("/dev/console", 5, 1, 0600);
}

Fd make_initramfs_memfd() {
  Fd fd(::memfd_create("execvm-initramfs", MFD_CLOEXEC));
  if (!fd) throw_errno("memfd_create");
  return fd;
}

Fd build_agent_initramfs() {
  Fd memfd = make_initramfs_memfd();
  CpioWriter cpio(memfd.get());
  add_agent_base(cpio);
  cpio.finish();
  return memfd;
}

RootDevices initramfs_devices(Fd& held, Fd memfd) {
  held = std::move(memfd);
  RootDevices devices;
  devices.initramfs = held.get();
  devices.fds = {held.get()};
  return devices;
}

}  // namespace execvm
