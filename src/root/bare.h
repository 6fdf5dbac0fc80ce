// The bare root (--bare): the guest's / is an initramfs holding execvm's agent as /init, the
// command and what it needs to run (its shared libraries or its #! interpreter), and nothing
// else of the host.
#pragma once

#include <string>
#include <vector>

#include "util/fd.h"

namespace execvm {

struct BareRootRequest {
  std::string command;  // argv[0] as given
  std::string path;     // the PATH the guest will search (the command's environment's)
  std::string cwd;      // the command's working directory, for a relative COMMAND
  std::vector<std::string> ld_library_path;
};

// The initramfs for REQUEST, in a memfd (nothing on disk to clean up). Throws Error with exit
// status 127 when the command is not found, 126 when it cannot be executed.
Fd build_bare_initramfs(const BareRootRequest& request);

}  // namespace execvm
