#include "cli/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {

namespace {

constexpr const char* kUsage = R"(usage: execvm [OPTIONS] [--] COMMAND [ARG...]
       execvm kernel ls|path|build   execvm doctor

Run COMMAND in a fresh, throwaway Linux micro-VM as if it ran here: the same argv, stdin,
stdout and stderr streamed separately, the same exit status, environment, working directory
and identity. Options stop at COMMAND; use -- when COMMAND starts with a dash.

Root of the guest (default: the host's own / read-only, under a throwaway writable layer;
writes reach the host only in the shared directories: the work tree, i.e. the git repository
around the working directory or else the directory itself, COMMAND's directory when COMMAND
is a path, $TMPDIR when it is under /tmp, and each -v):
  -v, --volume HOST[:GUEST][:ro]
                         share the host directory HOST at GUEST (default: the same path),
                         read-write unless :ro
  --share-fs auto|virtiofs|9p
                         how the host's files reach the guest; auto: virtiofs when execvm runs
                         as root and virtiofsd is installed, else 9p
  --bare                 an initramfs holding just COMMAND, its shared libraries (or its #!
                         interpreter) and execvm's agent; the guest sees nothing else of the host

VM:
  --kernel PATH          boot this bzImage or vmlinux instead of execvm's own kernel
  --accel auto|kvm|tcg   KVM when this host can boot a standard kernel with it, else TCG
                         (software emulation); default auto
  --cpus N               virtual CPUs (default 1)
  --memory SIZE          guest memory, e.g. 256M or 2G (default 512M)
  --qemu PATH            the qemu-system-x86_64 to run (default: from PATH)

Command:
  --sudo                 run COMMAND as root in the guest with this environment and working
                         directory (like sudo --preserve-env, without needing sudo here)
  -e, --env NAME[=VALUE] set NAME in the command's environment (NAME alone copies it from here)
  -w, --workdir DIR      the command's working directory (default: the current one)
  --tty auto|always|never
                         put the command on a terminal (auto: when stdin and stdout are one)
  --timeout DURATION     stop the VM and exit 124 after DURATION, boot included (e.g. 90s, 5m)
  --boot-timeout DURATION
                         give up when the guest has not started after DURATION
                         (default 30s under TCG, 10s under KVM)

Diagnostics:
  --console              show the guest kernel's log on stderr
  --stats                print boot time, run time and QEMU's peak memory on stderr
  -h, --help             this text
  --version              execvm's version

Exit status: COMMAND's own; 128+N when signal N killed it; 124 when --timeout expired;
125 when execvm itself failed (bad option, no kernel, the VM broke); 126 when COMMAND cannot
be executed; 127 when COMMAND was not found.

Examples:
  execvm -- make test
  go test -exec execvm ./...
  execvm --sudo -v /data:/data:ro -- ./tool /data/in
  execvm --bare -- /bin/echo hello
  printf abc | execvm --bare -- wc -c
  execvm --bare --timeout 10s -- sh -c 'echo out; echo err >&2; exit 3'
)";

std::chrono::milliseconds duration_option(const std::string& name, const std::string& value) {
  auto d = parse_duration(value);
  if (!d)
    throw Error(name + " " + shell_quote(value) + ": not a duration",
                "write it like 90, 90s, 1.5m, 500ms or 2h");
  return *d;
}

}  // namespace

std::string run_help() {
  return kUsage;
}

AccelRequest parse_accel_request(const std::string& option, const std::string& text) {
  if (text == "auto") return AccelRequest::kAuto;
  if (text == "kvm") return AccelRequest::kKvm;
  if (text == "tcg") return AccelRequest::kTcg;
  throw Error(option + " " + shell_quote(text) + ": unknown accelerator", "use auto, kvm or tcg");
}

void parse_command_line(CLI::App& app, const std::vector<std::string>& args,
                        const std::string& command) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw Error(e.what(), "see " + command + " --help");
  }
}

ShareFs parse_share_fs(const std::string& option, const std::string& text) {
  if (text == "auto") return ShareFs::kAuto;
  if (text == "virtiofs") return ShareFs::kVirtiofs;
  if (text == "9p") return ShareFs::k9p;
  throw Error(option + " " + shell_quote(text) + ": unknown filesystem",
              "use auto, virtiofs or 9p");
}

ParsedRun parse_run_options(const std::vector<std::string>& args) {
  ParsedRun parsed;
  RunOptions& o = parsed.options;
  CLI::App app{"execvm"};
  app.set_help_flag();  // our own text
  bool help = false, version = false;
  std::string accel = "auto", share_fs = "auto", memory, timeout, boot_timeout, tty = "auto";
  int cpus = 1;
  app.add_flag("-h,--help", help);
  app.add_flag("--version", version);
  app.add_flag("--bare", o.bare);
  app.add_option("-v,--volume", o.volumes)->allow_extra_args(false);
  app.add_option("--share-fs", share_fs);
  app.add_flag("--sudo", o.sudo);
  app.add_option("--kernel", o.kernel);
  app.add_option("--accel", accel);
  app.add_option("--cpus", cpus);
  app.add_option("--memory", memory);
  app.add_option("--qemu", o.qemu);
  app.add_option("-e,--env", o.env)->allow_extra_args(false);
  app.add_option("-w,--workdir", o.workdir);
  app.add_option("--tty", tty);
  app.add_option("--timeout", timeout);
  app.add_option("--boot-timeout", boot_timeout);
  app.add_flag("--console", o.console);
  app.add_flag("--stats", o.stats);
  app.prefix_command();

  parse_command_line(app, args, "execvm");
  if (help) {
    parsed.output = run_help();
    return parsed;
  }
  if (version) {
    parsed.output = "execvm " EXECVM_VERSION "\n";
    return parsed;
  }

  for (const char* name : {"kernel", "accel", "cpus", "memory", "share-fs", "sudo", "timeout"})
    if (app.count(std::string("--") + name)) o.origins[name] = "command line";
  for (const auto& v : o.volumes) o.origins["volume " + v] = "command line";
  for (const auto& e : o.env) o.origins["env " + e] = "command line";

  o.command = app.remaining();
  if (!o.command.empty() && o.command.front() == "--") {
    o.command.erase(o.command.begin());
  } else if (!o.command.empty() && starts_with(o.command.front(), "-")) {
    throw Error("unknown option " + o.command.front(),
                "see execvm --help; put -- before a command that starts with a dash");
  }
  if (o.command.empty())
    throw Error("no command given", "usage: execvm [OPTIONS] [--] COMMAND [ARG...]");

  o.accel = parse_accel_request("--accel", accel);
  o.share_fs = parse_share_fs("--share-fs", share_fs);
  if (o.bare && !o.volumes.empty())
    throw Error("--bare and -v do not go together: a bare guest has none of the host's files",
                "drop --bare to run on the host's root");
  if (cpus < 1 || cpus > 64)
    throw Error("--cpus " + std::to_string(cpus) + ": out of range", "use 1 to 64");
  o.cpus = static_cast<unsigned>(cpus);
  if (!memory.empty()) {
    auto mib = parse_mebibytes(memory);
    if (!mib || *mib < 64)
      throw Error("--memory " + shell_quote(memory) + ": not a usable size",
                  "write it like 256M or 2G (at least 64M)");
    o.memory_mib = *mib;
  }
  if (!timeout.empty()) {
    o.timeout = duration_option("--timeout", timeout);
    if (o.timeout->count() == 0)
      throw Error("--timeout 0: a run needs some time", "give a positive duration");
  }
  if (!boot_timeout.empty()) o.boot_timeout = duration_option("--boot-timeout", boot_timeout);
  if (tty == "auto") {
    o.tty = TtyMode::kAuto;
  } else if (tty == "always") {
    o.tty = TtyMode::kAlways;
  } else if (tty == "never") {
    o.tty = TtyMode::kNever;
  } else {
    throw Error("--tty " + shell_quote(tty) + ": unknown mode", "use auto, always or never");
  }
  for (const auto& e : o.env) {
    if (e.empty() || e.front() == '=')
      throw Error("-e " + shell_quote(e) + ": no variable name", "write -e NAME=VALUE or -e NAME");
  }
  return parsed;
}

}  // namespace execvm
