// `execvm init [--] COMMAND [ARG...]`: PID 1 for any initramfs. It mounts /proc, /sys, /dev
// (devtmpfs), /dev/pts, /run and /tmp, gives the command the console, runs it, reaps orphans,
// and when the command has ended stops every other process, syncs and powers the machine off
// with the command's exit status: on the console, and as QEMU's exit status where the machine
// has an isa-debug-exit device. It never lets the kernel panic. The command comes from init's
// arguments (what follows `--` on the kernel's command line) or from the kernel parameter
// execvm.argv=, base64 of the JSON array of its argv.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace execvm::tools {

// The kernel parameter that holds base64 (RFC 4648, with padding) of the JSON argv of init's
// command: execvm.argv=WyIvYmluL2VjaG8iLCJoaSJd for ["/bin/echo","hi"].
inline constexpr const char* kArgvParameter = "execvm.argv";

// The PATH init gives its command when the kernel gave it none (docker's default).
inline constexpr const char* kInitPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The command init runs, from ARGS (init's arguments after the word `init`) and the kernel's
// command line CMDLINE ("" when unknown). FROM_KERNEL: init is PID 1, so its arguments may be the
// kernel's; when they are exactly what the kernel makes of what follows `--` in CMDLINE, that
// text is split again as a shell splits it (the kernel knows only double quotes: `sh -c 'echo
// hi'` reaches init as "sh", "-c", "'echo", "hi'"; and it stops at a second `--`). A leading
// `--` is dropped, and so are the virtio_mmio.device= words that QEMU's microvm appends to the
// command line for its virtio devices (after the `--`, where the kernel does not see them: such
// a machine wants its command in execvm.argv=). Without arguments, the command is the JSON array of
// strings whose base64 is the value of execvm.argv=. Throws Error with exit status 2 when there is
// no command, when an option comes first, and when execvm.argv= is not base64 of a non-empty JSON
// array of strings.
std::vector<std::string> init_command(const std::vector<std::string>& args,
                                      std::string_view cmdline, bool from_kernel);

// Whether PID 1, started with no arguments, is to be `execvm init`: the kernel's command line
// has execvm.argv=. Reads /proc/cmdline, mounting /proc for that (and unmounting it) when it is
// not mounted.
bool kernel_asks_for_init();

// `execvm init --help`.
std::string init_usage();

// `execvm init ARGS` (ARGS: what follows `init`). As PID 1 of a machine it never returns (see
// above); as PID 1 of a container's PID namespace it mounts nothing, and returns the command's
// status once every other process has ended. Returns 2, with a line on stderr, when this process
// is not PID 1; 0 after --help.
int init_main(const std::vector<std::string>& args);

}  // namespace execvm::tools
