// The caller: what a run reproduces of the process that ran execvm (its environment, identity,
// directory, umask, terminal, signals and standard streams), read once, and the RunSpec that
// these make with the run's options. Making the spec is plain data in, plain data out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.h"
#include "image/image.h"
#include "spec/run_spec.h"

namespace execvm {

struct Caller {
  std::vector<std::string> env;  // "NAME=value", in order
  std::string cwd;               // the working directory (physical)
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;
  std::string user;  // the name of UID, when it has one
  uint32_t umask = 022;
  std::vector<int> ignored_signals;  // ignored when execvm started
  bool stdin_tty = false, stdout_tty = false, stderr_tty = false;
  uint16_t rows = 0, cols = 0;    // the terminal's size, when stdin is one
  std::vector<int> closed_fds;    // of 1 and 2: closed when execvm started
  bool stderr_is_stdout = false;  // fd 1 and fd 2 are one open file (2>&1)
  uint64_t stack_limit = 0;       // RLIMIT_STACK's soft limit
};

// Opens /dev/null on each of fds 0, 1 and 2 that is closed, so that no descriptor execvm opens
// takes its number and is mistaken for it. Returns which of 1 and 2 were closed. Call first.
std::vector<int> claim_standard_fds();

// Reads this process's caller facts; CLOSED_FDS as claim_standard_fds() returned them.
Caller read_caller(const std::vector<int>& closed_fds);

// The PATH of an image that sets none (docker's).
inline constexpr const char* kImageDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The RunSpec of running OPTIONS' command for CALLER (the root and mounts are the Root's): as
// the caller, with its environment, directory and identity; or, with IMAGE (the image, rootfs
// and root-disk modes), by the image config's rules as docker run applies them. Throws Error
// before anything starts where a local exec would fail the same way: argv and environment
// beyond what exec takes (126, "Argument list too long"); and for an image without a command.
RunSpec make_run_spec(const RunOptions& options, const Caller& caller,
                      const ImageConfig* image = nullptr);

// The capabilities OPTIONS' command keeps, confined with no_new_privs and the seccomp filter
// (see RunSpec::capabilities), or nullopt for no confinement. As docker: on an image root
// (options.image_root()), docker's default set with --cap-add and --cap-drop applied. On the
// host's root and with --bare, where the command is the caller (or --sudo's root with every
// power), only when --cap-add or --cap-drop is given, over the same default set. Never with
// --privileged.
std::optional<CapabilitySet> command_capabilities(const RunOptions& options);

}  // namespace execvm
