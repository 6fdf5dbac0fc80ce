// `execvm initramfs`: an initramfs for any kernel that boots `execvm init`. It holds execvm's
// static agent as /execvm; programs of this host with what they need to run, at the same paths
// (their ELF interpreter and libraries, the interpreter of a #! script: as --bare packs a
// command); host files and directories; and a whole root filesystem from a tarball, its modes,
// owners, symlinks, hard links and device files kept. Where those name the same path, a file,
// symlink or device of a program or --add replaces the tarball's, and a directory of the
// tarball stays as the tarball has it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "initramfs/cpio.h"
#include "initramfs/elf_deps.h"

namespace execvm {

// The path of the agent in what write_initrd writes: rdinit=/execvm.
inline constexpr const char* kInitrdAgentPath = "/execvm";

// --add HOST[:GUEST]: HOST (a file, followed when it is a symlink; or a directory with all that
// is in it, symlinks kept as symlinks) at GUEST.
struct InitrdAdd {
  std::string host;   // absolute
  std::string guest;  // absolute
};

// Parses TEXT, "HOST[:GUEST]", with a relative HOST relative to CWD; GUEST defaults to HOST's
// absolute path. Throws Error when GUEST is not absolute or HOST is empty.
InitrdAdd parse_initrd_add(const std::string& text, const std::string& cwd);

struct InitrdRequest {
  std::string output;  // the file to write (replaced once complete)
  CpioCompression compression = CpioCompression::kGzip;
  std::vector<std::string> programs;  // names looked up in search.path, or paths
  std::vector<InitrdAdd> adds;
  std::string from_tar;  // a tarball (any compression libarchive reads), "" for none
  LoaderSearch search;   // where programs and their libraries are found (search.cwd too)
};

// Writes REQUEST's initramfs with AGENT (the static agent's bytes) as /execvm, and the mount
// points and /dev/console that a PID 1 needs. Throws Error naming what could not be read or
// written: 127 for a program that is not found, 126 for one that cannot be executed, 125 else.
void write_initrd(const InitrdRequest& request, std::string_view agent);

}  // namespace execvm
