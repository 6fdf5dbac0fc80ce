#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "host/embedded.h"
#include "initramfs/initrd.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

constexpr const char* kInitramfsUsage =
    R"TEXT(usage: execvm initramfs --output FILE [--compress gzip|zstd|none] [--add HOST[:GUEST]]...
                        [--from-tar TARBALL] [PROGRAM...]

Write an initramfs that boots `execvm init` on any kernel: execvm's static agent as /execvm
(rdinit=/execvm), each PROGRAM of this host with what it needs to run at the same paths (its
shared libraries and loader, or the interpreter of a #! script, as --bare packs a command),
the files --add names, and the mount points and /dev/console of a PID 1.

  --output FILE        the file to write, replaced once complete (- for stdout)
  --compress TYPE      gzip (default), zstd or none; the kernel undoes it
  --add HOST[:GUEST]   HOST at GUEST (default: the same path): a file (a symlink named is
                       followed), or a directory with everything in it (symlinks in it kept);
                       owned by root, with HOST's modes
  --from-tar TARBALL   a whole root filesystem from TARBALL (plain, gzip, zstd, xz, bzip2),
                       its modes, owners, symlinks, hard links and device files kept; a file of
                       a PROGRAM or an --add at the same path replaces the tarball's
  -h, --help           this text

Then, e.g.:
  execvm initramfs --output initrd.gz /bin/sh
  qemu-system-x86_64 -machine microvm,acpi=off -nographic -no-reboot \
    -device isa-debug-exit -kernel "$(execvm kernel path)" -initrd initrd.gz \
    -append "console=ttyS0 rdinit=/execvm -- init /bin/sh -c 'echo hi'"
See execvm init --help for what that init does.
)TEXT";

}  // namespace

Command add_initramfs_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("initramfs", "write an initramfs that boots execvm init");
  struct State {
    bool help = false;
    std::string output, compress = "gzip", from_tar;
    std::vector<std::string> adds, programs;
  };
  auto state = std::make_shared<State>();
  sub->add_flag("-h,--help", state->help);
  sub->add_option("--output", state->output)->type_name("FILE");
  sub->add_option("--compress", state->compress)->type_name("gzip|zstd|none");
  sub->add_option("--add", state->adds)->type_name("HOST[:GUEST]");
  sub->add_option("--from-tar", state->from_tar)->type_name("TARBALL");
  sub->add_option("PROGRAM", state->programs);
  return {sub, [=] {
            if (state->help) {
              std::cout << kInitramfsUsage;
              return 0;
            }
            if (state->output.empty())
              throw Error("execvm initramfs needs --output FILE", "see execvm initramfs --help");
            InitrdRequest request;
            request.output = state->output;
            if (state->compress == "gzip") {
              request.compression = CpioCompression::kGzip;
            } else if (state->compress == "zstd") {
              request.compression = CpioCompression::kZstd;
            } else if (state->compress == "none") {
              request.compression = CpioCompression::kNone;
            } else {
              throw Error("--compress " + shell_quote(state->compress) + ": not a compression",
                          "use gzip, zstd or none");
            }
            std::string cwd = current_directory();
            for (const std::string& add : state->adds)
              request.adds.push_back(parse_initrd_add(add, cwd));
            request.programs = state->programs;
            if (!state->from_tar.empty()) request.from_tar = lexical_absolute(cwd, state->from_tar);
            const char* path = ::getenv("PATH");
            request.search.path = path ? path : "/usr/local/bin:/usr/bin:/bin";
            request.search.cwd = cwd;
            const char* ld_path = ::getenv("LD_LIBRARY_PATH");
            request.search.ld_library_path = split_library_path(ld_path ? ld_path : "");
            write_initrd(request, embedded_agent());
            return 0;
          }};
}

}  // namespace execvm
