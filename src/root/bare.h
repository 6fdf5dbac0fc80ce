// The bare root (--bare): the guest's / is an initramfs holding execvm's agent as /init, the
// command and what it needs to run (its shared libraries or its #! interpreter), and nothing
// else of the host.
#pragma once

#include <string>
#include <vector>

#include "initramfs/elf_deps.h"
#include "root/root.h"
#include "util/fd.h"

namespace execvm {

struct BareRootRequest {
  std::string command;  // argv[0] as given
  std::string path;     // the PATH the guest will search (the command's environment's)
  std::string cwd;      // the command's working directory, for a relative COMMAND
  std::vector<std::string> ld_library_path;
  // The whole argv, when COMMAND is the agent's tools (tools::kToolsPath): the commands of a
  // chain are packed instead, nested chains' too, but those not found here (the chain in the
  // guest reports them).
  std::vector<std::string> argv;
};

// The host file the guest's PATH lookup of COMMAND will find (relative to CWD when relative), as
// the guest names it; when there is none or it cannot be exec'd, throws Error in the words the
// guest would say (127, 126).
std::string locate_program(const std::string& command, const std::string& path,
                           const std::string& cwd);

class BareRoot : public Root {
 public:
  // Finds the command and what it needs. Throws Error with exit status 127 when it is not found,
  // 126 when it cannot be executed.
  explicit BareRoot(const BareRootRequest& request);

  // The initramfs (in a memfd: nothing on disk to clean up) with the command's closure.
  RootDevices prepare() override;
  GuestMounts mounts() const override { return {}; }
  void vm_started() override { initramfs_.reset(); }
  std::string kind() const override { return "bare"; }

 private:
  LoaderSearch search_;
  std::vector<HostEntry> entries_;  // the command's closure, as the guest will see it
  Fd initramfs_;
};

}  // namespace execvm
