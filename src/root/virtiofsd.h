// Virtiofsd: the daemon that serves the host's / to one VM over virtiofs, read-only but for
// the shares that write through. It runs in a mount namespace of its own in which every mount
// is read-only except the writable shares, so even the guest's root cannot write elsewhere.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/process.h"

namespace execvm {

// The virtiofsd binary of this machine: QEMU's own (/usr/lib/qemu/virtiofsd, /usr/libexec/...)
// or one in PATH. nullopt when there is none.
std::optional<std::string> find_virtiofsd();

class Virtiofsd {
 public:
  // Starts BINARY serving / on SOCKET (a listening socket whose one connection is QEMU's)
  // with the directories WRITABLE writable. Throws Error when it cannot be set up.
  Virtiofsd(const std::string& binary, const std::vector<std::string>& writable, int socket);

  // What it has said on stderr so far (it says something only when it fails, and when QEMU
  // goes away).
  std::string messages() const;

 private:
  Fd stderr_;
  Process process_;  // killed and reaped with this object (it ends by itself once QEMU is gone)
};

}  // namespace execvm
