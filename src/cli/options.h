// The options of `execvm [run]`, parsed into plain data; the settings they set are described,
// one entry each, in cli/settings.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/volume.h"
#include "host/accel.h"
#include "host/disks.h"
#include "host/network.h"
#include "host/outputs.h"
#include "registry/pull.h"
#include "root/share_fs.h"

namespace CLI {
class App;
}

namespace execvm {

// Parses ARGS with APP (CLI11 wants them reversed). Throws Error (exit 125) with CLI11's message
// and a hint to run COMMAND --help; a setting's own Error as it is.
void parse_command_line(CLI::App& app, const std::vector<std::string>& args,
                        const std::string& command);

enum class TtyMode { kAuto, kAlways, kNever };

struct RunOptions;
// How a run with OPTIONS pulls a registry's image: its settings, progress on stderr (none with
// QUIET), and notes on stderr as "execvm: note: ...".
PullOptions pull_options(const RunOptions& options, bool quiet = false);

struct RunOptions {
  std::vector<std::string> command;  // COMMAND [ARG...], exactly as given
  bool bare = false;
  // The image roots: at most one of these three.
  std::string image;          // --image REF, as given (see image/reference.h)
  std::string image_base;     // the directory a relative path in REF is relative to
  std::string rootfs;         // --rootfs DIR (absolute): a host directory as the guest's root
  std::string root_disk;      // --root-disk FILE (absolute): a disk image as the guest's root
  bool root_disk_rw = false;  // --root-disk FILE:rw: written through, no overlay
  std::string initrd;         // --initrd FILE (absolute): an initramfs of one's own as the root
  // A registry's image: when to ask the registry, for which platform, and how to reach it.
  PullPolicy pull = PullPolicy::kMissing;
  std::string platform = "linux/amd64";  // --platform OS/ARCH[/VARIANT]
  std::optional<bool> tls_verify;        // --tls-verify=true|false; unset: registries.conf's
  std::string cert_dir;                  // --cert-dir DIR (absolute)
  std::string authfile;                  // --authfile FILE (absolute)
  // --entrypoint: replaces the image's Entrypoint ("" clears it); unset: the image's own.
  std::optional<std::string> entrypoint;
  std::vector<Volume> volumes;  // -v HOST[:GUEST][:ro|:rw], in order
  ShareFs share_fs = ShareFs::kAuto;
  bool sudo = false;
  std::string kernel;  // --kernel PATH (absolute), empty: execvm's own from the cache
  AccelRequest accel = AccelRequest::kAuto;
  unsigned cpus = 1;
  uint64_t memory_mib = 512;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::chrono::milliseconds> boot_timeout;  // default depends on the accelerator
  bool console = false;
  std::vector<std::string> env;  // -e NAME=VALUE or NAME (copied from the caller)
  std::string workdir;           // -w DIR (absolute), empty: the current directory
  std::string user;              // -u USER[:GROUP], resolved in the guest; empty: the caller's
  TtyMode tty = TtyMode::kAuto;
  bool stats = false;
  std::string qemu;                   // --qemu PATH (absolute), empty: qemu-system-x86_64 from PATH
  std::vector<DiskOption> disks;      // --disk FILE[:ro][:serial=NAME], in order
  std::vector<OutputOption> outputs;  // --output GUEST_PATH[:HOST_PATH], in order
  // Isolation: the command's capabilities and the guest's network (see command_capabilities in
  // host/caller.h for when the command is confined).
  std::vector<std::string> cap_add, cap_drop;  // capability names or ALL, as given (checked)
  bool privileged = false;                     // no confinement, whatever the root
  NetworkMode network = NetworkMode::kNone;
  std::vector<PortForward> publish;  // -p, in order
  // Where each setting that is not a default came from: "command line" or "FILE:LINE", by
  // setting name ("cpus", "share-fs", ...; "volume V" and "env E" for each of those).
  std::map<std::string, std::string> origins;
  std::string project_file;  // the .execvm.toml read, if any

  // The root is an image, a directory or a disk (not the host's own, not --bare): the command
  // gets an image's environment rules and docker's isolation defaults.
  bool image_root() const {
    return !image.empty() || !rootfs.empty() || !root_disk.empty() || !initrd.empty();
  }
};

struct Setting;  // cli/settings.h

// One value given to a setting, as written, and where it came from.
struct SettingValue {
  std::string text;    // as the command line takes it: "2", "1G", "data:/data:ro", "true"
  std::string label;   // what a message about it starts with: "--cpus ''", "FILE:3:8: cpus 0"
  std::string origin;  // "command line", "FILE:LINE"
  std::string base;    // the directory a relative path in it is relative to
};

// A value the command line gave: they are kept in order, to be laid over a project file's.
struct GivenValue {
  const Setting* setting;
  SettingValue value;
};

// What parsing asked for: run a command, or print help/version text and exit with STATUS.
struct ParsedRun {
  RunOptions options;
  std::vector<GivenValue> given;      // the settings' values as the command line gave them
  std::optional<std::string> output;  // --help or --version text, to print instead of running
  int status = 0;
};

// Registers the run settings, -h/--help and COMMAND [ARG...] on APP (`execvm run`, `execvm
// doctor`), to be read into PARSED. HELP is set by -h/--help.
void add_run_options(CLI::App& app, ParsedRun& parsed, bool& help);

// After APP has parsed: refuses unknown options and what the options cannot do together, and
// a missing COMMAND when COMMAND_REQUIRED. Throws Error (exit 125).
void finish_run_options(CLI::App& app, ParsedRun& parsed, bool command_required);

// `execvm run`'s parser on APP: the run options, COMMAND, -h/--help and --version.
class RunParser {
 public:
  explicit RunParser(CLI::App& app);
  RunParser(const RunParser&) = delete;  // APP's validators write into this one
  RunParser& operator=(const RunParser&) = delete;
  // What the command line asked for, once APP has parsed. Throws Error (exit 125).
  ParsedRun result();

 private:
  CLI::App& app_;
  ParsedRun parsed_;
  bool help_ = false, version_ = false;
};

// Parses ARGS (without the program name and without a leading "run"). Throws Error (exit 125)
// with a message naming the bad option.
ParsedRun parse_run_options(const std::vector<std::string>& args);

// The usage text of `execvm --help`.
std::string run_help();

}  // namespace execvm
