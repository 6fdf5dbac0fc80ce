// The project file, .execvm.toml: settings a project keeps beside its code so that its commands
// run under execvm the same way for everyone. Options given on the command line override it.
//
//   # .execvm.toml: settings for running this project's commands under execvm
//   kernel = "kernels/vmlinux"      # a path, relative to the file's directory (or absolute)
//   cpus = 2                        # integer from 1 to 64, as --cpus takes it
//   memory = "1G"                   # a size as --memory takes it ("512M", "1G", or an integer
//                                   # of MiB); at least 64M
//   sudo = true                     # run as root in the guest
//   accel = "auto"                  # "auto", "kvm" or "tcg"
//   share-fs = "auto"               # "auto", "virtiofs" or "9p"
//   timeout = "10m"                 # as --timeout takes it (an integer is seconds)
//   volumes = ["/data:/data:ro", "cache:/var/cache/thing"]
//                                   # HOST[:GUEST][:ro|:rw]; a relative HOST is relative to the
//                                   # file's directory; GUEST, when given, is absolute
//   [env]                           # the command's environment, in this order
//   GOFLAGS = "-count=1"
//
// Every key is optional; an empty file sets nothing. Unknown keys are errors, so that a typo is
// not silently ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace execvm {

// The name of the project file in a directory.
inline constexpr const char* kProjectFileName = ".execvm.toml";

// One setting's value and where it came from (the file's path and line), for `execvm doctor`.
template <typename T>
struct Sourced {
  T value;
  std::string origin;  // "/p/.execvm.toml:3"
};

struct ProjectFile {
  std::string path;                            // the file that was read, made absolute
  std::optional<Sourced<std::string>> kernel;  // made absolute
  std::optional<Sourced<unsigned>> cpus;
  std::optional<Sourced<uint64_t>> memory_mib;
  std::optional<Sourced<bool>> sudo;
  std::optional<Sourced<std::string>> accel;     // validated: auto|kvm|tcg
  std::optional<Sourced<std::string>> share_fs;  // validated: auto|virtiofs|9p
  std::optional<Sourced<std::chrono::milliseconds>> timeout;
  std::vector<Sourced<std::string>> volumes;  // HOST made absolute against the file's dir; rest
                                              // kept as written
  std::vector<Sourced<std::string>> env;      // "NAME=VALUE", in file order
};

// The project file for a command run in CWD: CWD/.execvm.toml, else WORK_TREE/.execvm.toml (the
// git root containing CWD; may be empty or equal to CWD). nullopt when neither exists. A name
// that exists but is not a readable file is still returned, so that reading it reports why.
std::optional<std::string> find_project_file(const std::string& cwd, const std::string& work_tree);

// Reads and validates PATH. Throws Error (exit 125) "PATH:LINE:COL: what is wrong" for TOML
// syntax errors, unknown keys, values of the wrong type or out of range, bad sizes, durations,
// enum values and volumes, and env values that are not strings; an Error naming PATH when it
// cannot be read.
ProjectFile read_project_file(const std::string& path);

}  // namespace execvm
