// program_closure: every host path the guest needs on its filesystem to exec a host program (the
// program, its #! interpreters, its ELF interpreter and shared libraries, and the command a
// `#!/usr/bin/env` line runs), found the way the kernel, glibc's ld.so on x86-64 Debian and env
// find them, and the symlinks on the way to each one, so that every path resolves in the guest
// exactly as on the host.
//
// Library search, for each DT_NEEDED name not already loaded (by a name it was needed as or its
// DT_SONAME), breadth-first like ld.so:
//   - a name with a '/' is a path ($ORIGIN and friends expanded; relative to the current directory
//     when relative);
//   - DT_RPATH of the object that needs it, then of the object that loaded that one, and so on up
//     to the program, unless the needing object has a DT_RUNPATH;
//   - LD_LIBRARY_PATH;
//   - DT_RUNPATH of the needing object only;
//   - /etc/ld.so.cache, then the system directories (both skipped when the needing object is
//     linked with -z nodefaultlib).
// In each directory a file of the wrong ELF class or machine is skipped, as ld.so does; a file
// that is not ELF at all is an error, as it is for ld.so. Dynamic string tokens: $ORIGIN (the
// directory of the object; for the program, of its path with symlinks resolved, like
// /proc/self/exe), $LIB ("lib/x86_64-linux-gnu" on Debian, checked with LD_DEBUG=libs) and
// $PLATFORM ("x86_64"), each also as ${NAME}. Not reproduced: glibc-hwcaps and legacy hwcap
// subdirectories (x86_64/, tls/) of the search directories, LD_PRELOAD, setuid restrictions.
#pragma once

#include <string>
#include <vector>

namespace execvm {

// Where the loaders look: ld.so for libraries, env for its command.
struct LoaderSearch {
  // From the caller's LD_LIBRARY_PATH, split on ':' and ';' (see split_library_path).
  std::vector<std::string> ld_library_path;
  std::string ld_so_cache = "/etc/ld.so.cache";
  std::string sysroot;  // prefix for every host lookup, "" normally; lets tests use a fake tree
  // The loader's compiled-in search directories: what `ld.so --help` lists as "system search
  // path" on Debian 12 (no /lib64 there; Fedora-like hosts have /lib64 and /usr/lib64 instead).
  std::vector<std::string> system_dirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                          "/lib", "/usr/lib"};
  std::string path;  // the command's PATH, where env looks for the command of a #! line
  std::string cwd;   // the command's working directory for relative paths; "" for ours
};

// LD_LIBRARY_PATH split as ld.so splits it: on ':' and ';', empty elements dropped (ld.so takes
// them as the current directory, which the guest's need not be).
std::vector<std::string> split_library_path(const std::string& value);

// One thing to create in the guest.
struct HostEntry {
  enum class Kind { kDirectory, kFile, kSymlink } kind;
  std::string path;    // absolute path inside the guest (== the host path without sysroot)
  std::string target;  // kSymlink: the link's text exactly as readlink gives it
  std::string source;  // kFile: the host file to copy (with sysroot)
};

// Everything needed to exec PROGRAM (a host path as the exec names it: relative to search.cwd
// when relative): the program; for a '#!' script its interpreter as named on the #! line
// (recursively) and, when that is env ("#!/usr/bin/env python3", "#!/usr/bin/env -S python3 -u"),
// the closure of the command env runs, found in search.path as env's execvp finds it, when there
// is one; for ELF, its PT_INTERP and the closure of its DT_NEEDED libraries. For each of those
// paths, every component on the way to it: real directories (kDirectory), symlinks (kSymlink,
// followed like the kernel does, at most 40) and the final regular file (kFile). Parents come
// before children; no path appears twice.
//
// Throws Error with exit code 126 when PROGRAM or an interpreter it names (#! or PT_INTERP) is
// missing, not executable, unreadable, loops, or is neither ELF nor a #! script, or is 32-bit or
// for another machine (a #! interpreter that is missing, a directory or not executable in the
// words exec_failure.h gives a local exec); with 125 when a library is missing or malformed, or a
// library path loops. A command env does not find is no error: env reports it in the guest.
std::vector<HostEntry> program_closure(const std::string& program, const LoaderSearch& search);

}  // namespace execvm
