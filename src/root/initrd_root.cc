#include "root/initrd_root.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initramfs/cpio.h"
#include "root/base.h"
#include "util/error.h"

namespace execvm {

InitrdRoot::InitrdRoot(const std::string& file) : file_(file) {
  source_.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!source_) throw_errno("--initrd " + file);
  struct stat st;
  if (::fstat(source_.get(), &st) != 0) throw_errno("--initrd " + file);
  if (!S_ISREG(st.st_mode))
    throw Error("--initrd " + file + ": not a regular file",
                "give an initramfs (a cpio archive), such as execvm initramfs writes");
}

RootDevices InitrdRoot::prepare() {
  Fd memfd = make_initramfs_memfd();
  struct stat st;
  if (::fstat(source_.get(), &st) != 0) throw_errno("--initrd " + file_);
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n =
        ::sendfile(memfd.get(), source_.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("cannot read --initrd " + file_);
  }
  // The next archive starts on a 4-byte boundary, as the kernel looks for it.
  static const char kZeros[4] = {};
  if (st.st_size % 4 && ::write(memfd.get(), kZeros, 4 - st.st_size % 4) < 0)
    throw_errno("cannot write the initramfs");
  CpioWriter cpio(memfd.get());
  add_agent_base(cpio);
  cpio.finish();
  source_.reset();
  return initramfs_devices(initramfs_, std::move(memfd));
}

}  // namespace execvm
