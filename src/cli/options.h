// The options of `execvm [run]`, parsed into plain data. Subcommands have their own parsers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host/accel.h"
#include "root/share_fs.h"

namespace CLI {
class App;
}

namespace execvm {

// Parses ARGS with APP (CLI11 wants them reversed). Throws Error (exit 125) with CLI11's message
// and a hint to run COMMAND --help.
void parse_command_line(CLI::App& app, const std::vector<std::string>& args,
                        const std::string& command);

enum class TtyMode { kAuto, kAlways, kNever };

struct RunOptions {
  std::vector<std::string> command;  // COMMAND [ARG...], exactly as given
  bool bare = false;
  std::vector<std::string> volumes;  // -v HOST[:GUEST][:ro|:rw]
  ShareFs share_fs = ShareFs::kAuto;
  bool sudo = false;
  std::string kernel;  // --kernel PATH, empty: execvm's own from the cache
  AccelRequest accel = AccelRequest::kAuto;
  unsigned cpus = 1;
  uint64_t memory_mib = 512;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::chrono::milliseconds> boot_timeout;  // default depends on the accelerator
  bool console = false;
  std::vector<std::string> env;  // -e NAME=VALUE or NAME (copied from the caller)
  std::string workdir;           // -w DIR, empty: the current directory
  TtyMode tty = TtyMode::kAuto;
  bool stats = false;
  std::string qemu;  // --qemu PATH, empty: qemu-system-x86_64 from PATH
  // Where each setting that is not a default came from: "command line" or "FILE:LINE", by
  // option name ("cpus", "share-fs", ...; "volume V" and "env E" for each of those).
  std::map<std::string, std::string> origins;
  std::string project_file;  // the .execvm.toml read, if any
};

// What parsing asked for: run a command, or print help/version text and exit with STATUS.
struct ParsedRun {
  RunOptions options;
  std::optional<std::string> output;  // --help or --version text, to print instead of running
  int status = 0;
};

// Parses ARGS (without the program name and without a leading "run"). Throws Error (exit 125)
// with a message naming the bad option.
ParsedRun parse_run_options(const std::vector<std::string>& args);

// "auto", "kvm" or "tcg" as given to OPTION. Throws Error (exit 125) for anything else.
AccelRequest parse_accel_request(const std::string& option, const std::string& text);

// "auto", "virtiofs" or "9p" as given to OPTION. Throws Error (exit 125) for anything else.
ShareFs parse_share_fs(const std::string& option, const std::string& text);

// The usage text of `execvm --help`.
std::string run_help();

}  // namespace execvm
