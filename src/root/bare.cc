#include "root/bare.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "initramfs/cpio.h"
#include "initramfs/elf_deps.h"
#include "root/base.h"
#include "tools/chain.h"
#include "tools/tools.h"
#include "util/error.h"
#include "util/exec_failure.h"
#include "util/paths.h"

namespace execvm {

std::string locate_program(const std::string& command, const std::string& search_path,
                           const std::string& cwd) {
  auto found = find_program(command, search_path);
  if (!found) throw command_not_found(command);
  std::string path = found->front() == '/' ? *found : cwd + "/" + *found;
  struct stat st;
  int err = ::stat(path.c_str(), &st) < 0                              ? errno
            : !S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) < 0 ? EACCES
                                                                       : 0;
  if (err != 0) {
    ExecFacts facts;
    look_at_exec_file(path.c_str(), facts);
    throw exec_failure(command, *found, err, facts);
  }
  return *found;
}

BareRoot::BareRoot(const BareRootRequest& request) {
  search_.ld_library_path = request.ld_library_path;
  search_.path = request.path;
  search_.cwd = request.cwd;
  if (request.command != tools::kToolsPath) {
    entries_ = program_closure(locate_program(request.command, request.path, request.cwd), search_);
    return;
  }
  // The agent's tools are in every guest already; what a chain runs is packed.
  for (const auto& argv : tools::commands_run_by(request.argv)) {
    if (argv.empty() || argv[0] == tools::kToolsPath) continue;
    try {
      auto closure = program_closure(locate_program(argv[0], request.path, request.cwd), search_);
      entries_.insert(entries_.end(), closure.begin(), closure.end());
    } catch (const Error&) {
      // Not here: the chain says so in the guest, when it gets there.
    }
  }
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
  return initramfs_devices(initramfs_, std::move(memfd));
}

}  // namespace execvm
