#include "root/bare.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "initramfs/cpio.h"
#include "initramfs/elf_deps.h"
#include "root/base.h"
#include "util/error.h"
#include "util/exec_failure.h"
#include "util/paths.h"

namespace execvm {

namespace {

// The host file the guest's PATH lookup of COMMAND will find, as the guest names it (relative
// to the command's directory when relative); when there is none or it cannot be exec'd, an Error
// in the words the guest would say.
std::string locate(const BareRootRequest& request) {
  auto found = find_program(request.command, request.path);
  if (!found) throw command_not_found(request.command);
  std::string path = found->front() == '/' ? *found : request.cwd + "/" + *found;
  struct stat st;
  int err = ::stat(path.c_str(), &st) < 0                              ? errno
            : !S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) < 0 ? EACCES
                                                                       : 0;
  if (err != 0) {
    ExecFacts facts;
    look_at_exec_file(path.c_str(), facts);
    throw exec_failure(request.command, *found, err, facts);
  }
  return *found;
}

}  // namespace

BareRoot::BareRoot(const BareRootRequest& request) {
  search_.ld_library_path = request.ld_library_path;
  search_.path = request.path;
  search_.cwd = request.cwd;
  entries_ = program_closure(locate(request), search_);
}

RootDevices BareRoot::prepare() {
  Fd memfd = make_initramfs_memfd();
  CpioWriter cpio(memfd.get());
  add_agent_base(cpio);
  for (const auto& e : entries_) {
    switch (e.kind) {
      case HostEntry::Kind::kDirectory:
        cpio.add_directory(e.path);
        break;
      case HostEntry::Kind::kSymlink:
        cpio.add_symlink(e.path, e.target);
        break;
      case HostEntry::Kind::kFile:
        cpio.add_host_file(e.path, e.source);
        break;
    }
  }
  // The loader's cache, so that the guest's ld.so finds each library where the host's did.
  if (::access(search_.ld_so_cache.c_str(), R_OK) == 0)
    cpio.add_host_file("/etc/ld.so.cache", search_.ld_so_cache);
  cpio.finish();
  initramfs_ = std::move(memfd);
  RootDevices devices;
  devices.initramfs = initramfs_.get();
  devices.fds = {initramfs_.get()};
  return devices;
}

}  // namespace execvm
