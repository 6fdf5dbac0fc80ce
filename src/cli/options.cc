#include "cli/options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/settings.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr const char* kIntro = R"(usage: execvm [OPTIONS] [--] COMMAND [ARG...]
       execvm kernel ls|path|build [--force] [--jobs N] [--source TARBALL]
       execvm image pull [--platform P] [-q|--quiet] [--tls-verify=false] [--cert-dir DIR]
                         [--authfile FILE] REF
       execvm image ls|inspect REF|rm REF...|prune [--all]
       execvm doctor [OPTIONS] [--no-boot] [[--] COMMAND [ARG...]]
       execvm trust [--revoke] [FILE] | --list
       execvm chain DELIM COMMAND [ARG...] [DELIM REST...]
       execvm init [--] COMMAND [ARG...]
       execvm initramfs --output FILE [--compress gzip|zstd|none] [--add HOST[:GUEST]]...
                        [--from-tar TARBALL] [PROGRAM...]
       execvm pipeline run|show FILE.json|- [--runner local|vm|container|void] [--image IMAGE]
                       [--engine podman|docker] [--debug] [--format shell|json|seed]
                       [-- RUNNER_OPTION...]

Run COMMAND in a fresh, throwaway Linux micro-VM as if it ran here: the same argv, stdin,
stdout and stderr streamed separately, the same exit status, environment, working directory
and identity. Options stop at COMMAND; use -- when COMMAND starts with a dash. Defaults for
them come from .execvm.toml in the working directory or at the top of its git work tree; one
that asks for more than its work tree (--sudo, a -v from elsewhere) needs `execvm trust` once.
)";

// Each group's heading, in the order of HelpGroup.
constexpr const char* kGroupHeadings[] = {
    R"(Root of the guest (default: the host's own / read-only, under a throwaway writable layer;
writes reach the host only in the shared directories: the work tree, i.e. the git repository
around the working directory or else the directory itself, COMMAND's directory when COMMAND
is a path, $TMPDIR when it is under /tmp, and each -v):)",
    "VM:",
    "Command:",
    R"(Isolation (by default COMMAND is confined like a docker container's process on an image,
directory or disk root, and has all of its user's powers on the host's root and with --bare;
the guest has no network):)",
    "Diagnostics:",
};

constexpr const char* kOutro = R"(
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
  execvm doctor --cpus 2 -- make test
)";

constexpr size_t kHelpColumn = 25;  // where the option's text starts
constexpr size_t kHelpWidth = 95;

// One option of --help: its flags, then TEXT wrapped at kHelpWidth from kHelpColumn (on a line
// of its own when the flags reach that far).
std::string help_entry(const std::string& flags, const std::string& text) {
  std::string out = "  " + flags;
  std::string indent(kHelpColumn, ' ');
  if (out.size() + 1 > kHelpColumn) {
    out += "\n" + indent;
  } else {
    out += std::string(kHelpColumn - out.size(), ' ');
  }
  size_t column = kHelpColumn;
  bool first = true;
  for (const std::string& word : split(text, ' ')) {
    if (!first && column + 1 + word.size() > kHelpWidth) {
      out += "\n" + indent;
      column = kHelpColumn;
      first = true;
    }
    out += (first ? "" : " ") + word;
    column += (first ? 0 : 1) + word.size();
    first = false;
  }
  return out + "\n";
}

}  // namespace

std::string run_help() {
  const RunOptions defaults;
  std::string out = kIntro;
  for (size_t g = 0; g < std::size(kGroupHeadings); ++g) {
    out += std::string("\n") + kGroupHeadings[g] + "\n";
    for (const Setting& s : run_settings()) {
      if (static_cast<size_t>(s.group) != g) continue;
      std::string flags = (s.short_flag.empty() ? "" : s.short_flag + ", ") + "--" + s.name;
      if (!s.metavar.empty()) flags += " " + s.metavar;
      std::string text = s.help;
      if (s.arity == Arity::kOne) text += " (default " + s.show(defaults).front() + ")";
      out += help_entry(flags, text);
    }
  }
  out += help_entry("-h, --help", "this text");
  out += help_entry("--version", "execvm's version");
  return out + kOutro;
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

void add_run_options(CLI::App& app, ParsedRun& parsed, bool& help) {
  app.add_flag("-h,--help", help);
  add_settings(app, parsed.options, parsed.given);
  // COMMAND takes everything from its first word on; unknown options before it are kept for
  // finish_run_options to name.
  app.add_option("COMMAND", parsed.options.command);
  app.positionals_at_end();
  app.allow_extras();
}

void finish_run_options(CLI::App& app, ParsedRun& parsed, bool command_required) {
  for (const std::string& extra : app.remaining()) {
    if (extra != "--")
      throw Error("unknown option " + extra,
                  "see execvm --help; put -- before a command that starts with a dash");
  }
  RunOptions& o = parsed.options;
  // An image's own Entrypoint and Cmd may be the command.
  if (command_required && o.command.empty() && o.image.empty())
    throw Error("no command given", "usage: execvm [OPTIONS] [--] COMMAND [ARG...]");
  std::vector<std::string> roots;
  if (o.bare) roots.push_back("--bare");
  if (!o.image.empty()) roots.push_back("--image");
  if (!o.rootfs.empty()) roots.push_back("--rootfs");
  if (!o.root_disk.empty()) roots.push_back("--root-disk");
  if (!o.initrd.empty()) roots.push_back("--initrd");
  if (roots.size() > 1)
    throw Error(roots[0] + " and " + roots[1] + " do not go together: a run has one root",
                "choose one of --bare, --image, --rootfs, --root-disk and --initrd");
  if (!o.publish.empty() && o.network != NetworkMode::kUser)
    throw Error("-p needs a network, and the guest has none by default", "add --network user");
  if (o.privileged && (!o.cap_add.empty() || !o.cap_drop.empty()))
    throw Error("--privileged and --cap-add or --cap-drop do not go together",
                "--privileged keeps every capability: drop one or the other");
  if (o.bare && !o.volumes.empty())
    throw Error("--bare and -v do not go together: a bare guest has none of the host's files",
                "drop --bare to run on the host's root");
  if (o.entrypoint && !o.image_root())
    throw Error("--entrypoint is for an image's root",
                "use it with --image, --rootfs, --root-disk or --initrd; else the command is "
                "COMMAND");
}

RunParser::RunParser(CLI::App& app) : app_(app) {
  add_run_options(app, parsed_, help_);
  app.add_flag("--version", version_);
}

ParsedRun RunParser::result() {
  if (help_) {
    parsed_.output = run_help();
  } else if (version_) {
    parsed_.output = "execvm " EXECVM_VERSION "\n";
  } else {
    finish_run_options(app_, parsed_, true);
  }
  return std::move(parsed_);
}

ParsedRun parse_run_options(const std::vector<std::string>& args) {
  CLI::App app{"execvm run"};
  app.set_help_flag();  // our own text
  RunParser parser(app);
  parse_command_line(app, args, "execvm");
  return parser.result();
}

PullOptions pull_options(const RunOptions& options, bool quiet) {
  PullOptions out;
  out.policy = options.pull;
  out.platform = options.platform;
  out.quiet = quiet;
  out.registry.tls_verify = options.tls_verify;
  out.registry.cert_dir = options.cert_dir;
  out.registry.auth_file = options.authfile;
  if (!quiet)
    out.registry.note = [](const std::string& note) {
      write_all(STDERR_FILENO, "execvm: note: " + note + "\n");
    };
  return out;
}

}  // namespace execvm
