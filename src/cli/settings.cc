#include "cli/settings.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>

#include "config/trust.h"
#include "image/oci.h"
#include "root/host_root.h"
#include "spec/capabilities.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

using Shown = std::vector<std::string>;

[[noreturn]] void refuse(const SettingValue& v, const std::string& what, const std::string& hint) {
  throw Error(v.label + ": " + what, hint);
}

// One of a setting's named values.
template <typename T>
struct Choice {
  const char* name;
  T value;
};

constexpr Choice<ShareFs> kShareFs[] = {
    {"auto", ShareFs::kAuto}, {"virtiofs", ShareFs::kVirtiofs}, {"9p", ShareFs::k9p}};
constexpr Choice<AccelRequest> kAccels[] = {
    {"auto", AccelRequest::kAuto}, {"kvm", AccelRequest::kKvm}, {"tcg", AccelRequest::kTcg}};
constexpr Choice<TtyMode> kTtyModes[] = {
    {"auto", TtyMode::kAuto}, {"always", TtyMode::kAlways}, {"never", TtyMode::kNever}};
constexpr Choice<NetworkMode> kNetworks[] = {{"none", NetworkMode::kNone},
                                             {"user", NetworkMode::kUser}};
constexpr Choice<PullPolicy> kPullPolicies[] = {{"missing", PullPolicy::kMissing},
                                                {"always", PullPolicy::kAlways},
                                                {"never", PullPolicy::kNever}};
constexpr Choice<bool> kBooleans[] = {{"true", true}, {"false", false}};

// "auto|kvm|tcg", or with SEP and LAST: "auto, kvm or tcg".
template <typename T, size_t N>
std::string names(const Choice<T> (&choices)[N], const char* sep = "|", const char* last = "|") {
  std::string out;
  for (size_t i = 0; i < N; ++i)
    out += (i == 0 ? "" : i + 1 == N ? last : sep) + std::string(choices[i].name);
  return out;
}

template <typename T, size_t N>
T choice(const SettingValue& v, const Choice<T> (&choices)[N]) {
  for (const auto& c : choices)
    if (v.text == c.name) return c.value;
  refuse(v, "not a known value", "use " + names(choices, ", ", " or "));
}

template <typename T, size_t N>
Shown shown(const Choice<T> (&choices)[N], T value) {
  for (const auto& c : choices)
    if (c.value == value) return {c.name};
  return {"?"};
}

Shown yes_no(bool on) {
  return {on ? "yes" : "no"};
}

// A path as given, made absolute against the value's base (lexically, as written).
std::string path(const SettingValue& v) {
  if (v.text.empty()) refuse(v, "no path", "give a path");
  return lexical_absolute(v.base, v.text);
}

uint64_t mebibytes(const SettingValue& v, uint64_t min) {
  auto mib = parse_mebibytes(v.text);
  std::string hint = "write it like 256M or 2G (at least " + std::to_string(min) + "M)";
  if (!mib) refuse(v, "not a size", hint);
  if (*mib < min) refuse(v, "too small", hint);
  return *mib;
}

// A duration of at least 1ms: no run can do anything in less.
std::chrono::milliseconds positive_duration(const SettingValue& v) {
  auto d = parse_duration(v.text);
  std::string hint = "write it like 90, 90s, 1.5m, 500ms or 2h";
  if (!d) refuse(v, "not a duration", hint);
  if (d->count() == 0) refuse(v, "no time for a run", "give 1ms or more; " + hint);
  return *d;
}

// A capability as --cap-add and --cap-drop take it, as written.
std::string capability(const SettingValue& v) {
  if (!is_capability_or_all(v.text))
    refuse(v, "not a capability",
           "use names like NET_ADMIN or CAP_NET_ADMIN (see capabilities(7)), or ALL");
  return v.text;
}

std::vector<Setting> make_settings() {
  using G = HelpGroup;
  return {
      {.name = "volume",
       .short_flag = "-v",
       .metavar = "HOST[:GUEST][:ro]",
       .arity = Arity::kList,
       .group = G::kRoot,
       .help = "share the host directory HOST at GUEST (default: the same path), read-write "
               "unless :ro; GUEST cannot be / nor in /proc, /sys or /dev",
       .file = {"volumes", "volume", FileType::kStringArray},
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             o.volumes.push_back(parse_volume(v.text, v.base, v.label));
           },
       .show =
           [](const RunOptions& o) {
             Shown out;
             for (const auto& v : o.volumes) out.push_back(v.text);
             return out;
           }},
      {.name = "share-fs",
       .metavar = names(kShareFs),
       .group = G::kRoot,
       .help = "how the host's files reach the guest; auto: virtiofs when execvm runs as root "
               "and virtiofsd is installed, else 9p",
       .file = {"share-fs", "share-fs", FileType::kString},
       .parse = [](RunOptions& o, const SettingValue& v) { o.share_fs = choice(v, kShareFs); },
       .show = [](const RunOptions& o) { return shown(kShareFs, o.share_fs); }},
      {.name = "bare",
       .arity = Arity::kFlag,
       .group = G::kRoot,
       .help = "an initramfs holding just COMMAND, its shared libraries (or its #! "
               "interpreter) and execvm's agent; the guest sees nothing else of the host",
       .parse = [](RunOptions& o, const SettingValue& v) { o.bare = v.text == "true"; },
       .show = [](const RunOptions& o) { return yes_no(o.bare); }},
      {.name = "image",
       .metavar = "REF",
       .group = G::kRoot,
       .help = "boot an OCI image as the root: a registry's (alpine, ghcr.io/org/app:1.2, "
               "host:5000/app@sha256:..., pulled when the cache lacks it), an image layout "
               "directory (or oci:DIR[:TAG]), docker-archive:FILE[:NAME:TAG] or "
               "oci-archive:FILE[:TAG]; it is converted once into a cached filesystem image, "
               "read-only under a throwaway writable layer, and runs with docker run's rules for "
               "its config and docker's isolation defaults",
       .file = {"image", "image", FileType::kString},
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             if (v.text.empty()) refuse(v, "no image", "give a layout directory or an archive");
             o.image = v.text;
             o.image_base = v.base;
           },
       .show = [](const RunOptions& o) { return Shown{o.image.empty() ? "none" : o.image}; }},
      {.name = "pull",
       .metavar = names(kPullPolicies),
       .group = G::kRoot,
       .help = "when --image asks its registry: missing (when the cache lacks the image), "
               "always (the tag's manifest each time), never",
       .file = {"pull", "pull", FileType::kString},
       .parse = [](RunOptions& o, const SettingValue& v) { o.pull = choice(v, kPullPolicies); },
       .show = [](const RunOptions& o) { return shown(kPullPolicies, o.pull); }},
      {.name = "platform",
       .metavar = "OS/ARCH[/VARIANT]",
       .group = G::kRoot,
       .help = "the image to choose from a multi-platform image (guests run linux/amd64)",
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             try {
               o.platform = parse_platform(v.text).str();
             } catch (const Error& e) {
               refuse(v, e.what(), e.hint());
             }
           },
       .show = [](const RunOptions& o) { return Shown{o.platform}; }},
      {.name = "tls-verify",
       .metavar = "true|false",
       .group = G::kRoot,
       .help = "false: allow a registry over plain HTTP or with a certificate that is not "
               "trusted; default: verified, unless registries.conf marks it insecure",
       .parse = [](RunOptions& o, const SettingValue& v) { o.tls_verify = choice(v, kBooleans); },
       .show =
           [](const RunOptions& o) {
             return Shown{!o.tls_verify ? "registries.conf's" : *o.tls_verify ? "true" : "false"};
           }},
      {.name = "cert-dir",
       .metavar = "DIR",
       .group = G::kRoot,
       .help = "the registry's CA certificates (*.crt) and client certificate (*.cert, *.key), "
               "instead of /etc/containers/certs.d/HOST:PORT",
       .parse = [](RunOptions& o, const SettingValue& v) { o.cert_dir = path(v); },
       .show =
           [](const RunOptions& o) { return Shown{o.cert_dir.empty() ? "certs.d" : o.cert_dir}; }},
      {.name = "authfile",
       .metavar = "FILE",
       .group = G::kRoot,
       .help = "the registry credentials to use (an auth.json or config.json), instead of "
               "$REGISTRY_AUTH_FILE, podman's and docker's",
       .parse = [](RunOptions& o, const SettingValue& v) { o.authfile = path(v); },
       .show =
           [](const RunOptions& o) {
             return Shown{o.authfile.empty() ? "the default" : o.authfile};
           }},
      {.name = "rootfs",
       .metavar = "DIR",
       .group = G::kRoot,
       .help = "a host directory as the guest's root (an unpacked minirootfs, say), read-only "
               "under a throwaway writable layer, with an image's rules",
       .parse = [](RunOptions& o, const SettingValue& v) { o.rootfs = path(v); },
       .show = [](const RunOptions& o) { return Shown{o.rootfs.empty() ? "none" : o.rootfs}; }},
      {.name = "root-disk",
       .metavar = "FILE[:rw]",
       .group = G::kRoot,
       .help = "a disk image (ext4, erofs or squashfs) as the guest's root, read-only under a "
               "throwaway writable layer, or written through with :rw",
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             SettingValue file = v;
             o.root_disk_rw = v.text.size() > 3 && v.text.ends_with(":rw");
             if (o.root_disk_rw || v.text.ends_with(":ro"))
               file.text = v.text.substr(0, v.text.size() - 3);
             o.root_disk = path(file);
           },
       .show =
           [](const RunOptions& o) {
             return Shown{o.root_disk.empty() ? "none"
                                              : o.root_disk + (o.root_disk_rw ? ":rw" : "")};
           }},
      {.name = "initrd",
       .metavar = "FILE",
       .group = G::kRoot,
       .help = "an initramfs of your own (a cpio archive, compressed or not, such as execvm "
               "initramfs writes) as the guest's root, in memory and writable, with execvm's "
               "agent added to it and an image's rules for the command",
       .parse = [](RunOptions& o, const SettingValue& v) { o.initrd = path(v); },
       .show = [](const RunOptions& o) { return Shown{o.initrd.empty() ? "none" : o.initrd}; }},
      {.name = "kernel",
       .metavar = "PATH",
       .group = G::kVm,
       .help = "the guest kernel to boot, a bzImage or vmlinux",
       .file = {"kernel", "kernel", FileType::kString},
       .parse = [](RunOptions& o, const SettingValue& v) { o.kernel = path(v); },
       .show =
           [](const RunOptions& o) { return Shown{o.kernel.empty() ? "execvm's own" : o.kernel}; }},
      {.name = "accel",
       .metavar = names(kAccels),
       .group = G::kVm,
       .help = "auto: KVM when this host can boot a standard kernel with it, else TCG, "
               "software emulation",
       .file = {"accel", "accel", FileType::kString},
       .parse = [](RunOptions& o, const SettingValue& v) { o.accel = choice(v, kAccels); },
       .show = [](const RunOptions& o) { return shown(kAccels, o.accel); }},
      {.name = "cpus",
       .metavar = "N",
       .group = G::kVm,
       .help = "virtual CPUs, 1 to 64",
       .file = {"cpus", "cpus", FileType::kInteger},
       .parse = [](RunOptions& o, const SettingValue& v) { o.cpus = whole_number(v, 1, 64); },
       .show = [](const RunOptions& o) { return Shown{std::to_string(o.cpus)}; }},
      {.name = "memory",
       .metavar = "SIZE",
       .group = G::kVm,
       .help = "guest memory, e.g. 256M or 2G, at least 64M",
       .file = {"memory", "memory", FileType::kStringOrInteger},
       .parse = [](RunOptions& o, const SettingValue& v) { o.memory_mib = mebibytes(v, 64); },
       .show = [](const RunOptions& o) { return Shown{std::to_string(o.memory_mib) + "M"}; }},
      {.name = "qemu",
       .metavar = "PATH",
       .group = G::kVm,
       .help = "the QEMU to run",
       .parse = [](RunOptions& o, const SettingValue& v) { o.qemu = path(v); },
       .show =
           [](const RunOptions& o) {
             return Shown{o.qemu.empty() ? "qemu-system-x86_64 from PATH" : o.qemu};
           }},
      {.name = "disk",
       .metavar = "FILE[:ro][:serial=NAME]",
       .arity = Arity::kList,
       .group = G::kVm,
       .help = "attach FILE (a disk image) as a virtio block device, read-write unless :ro; the "
               "guest finds it as /dev/disk/by-id/virtio-NAME, NAME being FILE's name (its first "
               "20 bytes) or serial=NAME",
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             o.disks.push_back(parse_disk_option(v.text, v.base, v.label));
           },
       .show =
           [](const RunOptions& o) {
             Shown out;
             for (const auto& d : o.disks) out.push_back(d.text);
             return out;
           }},
      {.name = "sudo",
       .arity = Arity::kFlag,
       .group = G::kCommand,
       .help = "run COMMAND as root in the guest with this environment and working directory "
               "(like sudo --preserve-env, without needing sudo here)",
       .file = {"sudo", "sudo", FileType::kBoolean},
       .parse = [](RunOptions& o, const SettingValue& v) { o.sudo = v.text == "true"; },
       .show = [](const RunOptions& o) { return yes_no(o.sudo); }},
      {.name = "user",
       .short_flag = "-u",
       .metavar = "USER[:GROUP]",
       .group = G::kCommand,
       .help = "run COMMAND as USER (a name or uid, with a group name or gid), looked up in the "
               "guest root's /etc/passwd and /etc/group",
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             if (v.text.empty() || v.text.front() == ':')
               refuse(v, "no user", "write a name or uid, optionally :GROUP, like 1000:1000");
             o.user = v.text;
           },
       .show = [](const RunOptions& o) { return Shown{o.user.empty() ? "yours" : o.user}; }},
      {.name = "entrypoint",
       .metavar = "PROGRAM",
       .group = G::kCommand,
       .help = "with an image: run PROGRAM instead of the image's Entrypoint, without its Cmd "
               "('' for none)",
       .parse = [](RunOptions& o, const SettingValue& v) { o.entrypoint = v.text; },
       .show =
           [](const RunOptions& o) { return Shown{o.entrypoint ? *o.entrypoint : "the image's"}; }},
      {.name = "env",
       .short_flag = "-e",
       .metavar = "NAME[=VALUE]",
       .arity = Arity::kList,
       .group = G::kCommand,
       .help = "set NAME in the command's environment (NAME alone copies it from here)",
       .file = {"env", "env", FileType::kStringTable},
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             if (v.text.empty() || v.text.front() == '=')
               refuse(v, "no variable name", "write NAME=VALUE, or NAME to copy it from here");
             o.env.push_back(v.text);
           },
       .show = [](const RunOptions& o) { return o.env; }},
      {.name = "workdir",
       .short_flag = "-w",
       .metavar = "DIR",
       .group = G::kCommand,
       .help = "the command's working directory",
       .parse = [](RunOptions& o, const SettingValue& v) { o.workdir = path(v); },
       .show =
           [](const RunOptions& o) {
             return Shown{o.workdir.empty() ? "the current directory" : o.workdir};
           }},
      {.name = "tty",
       .metavar = names(kTtyModes),
       .group = G::kCommand,
       .help = "put the command on a terminal; auto: when stdin and stdout are one",
       .parse = [](RunOptions& o, const SettingValue& v) { o.tty = choice(v, kTtyModes); },
       .show = [](const RunOptions& o) { return shown(kTtyModes, o.tty); }},
      {.name = "timeout",
       .metavar = "DURATION",
       .group = G::kCommand,
       .help = "stop the VM and exit 124 after DURATION, boot included, e.g. 90s or 5m",
       .file = {"timeout", "timeout", FileType::kStringOrInteger},
       .parse = [](RunOptions& o, const SettingValue& v) { o.timeout = positive_duration(v); },
       .show =
           [](const RunOptions& o) {
             return Shown{o.timeout ? format_duration(*o.timeout) : "none"};
           }},
      {.name = "boot-timeout",
       .metavar = "DURATION",
       .group = G::kCommand,
       .help = "give up when the guest has not started the command after DURATION (one that "
               "stops answering while it runs: after twice DURATION)",
       .parse = [](RunOptions& o, const SettingValue& v) { o.boot_timeout = positive_duration(v); },
       .show =
           [](const RunOptions& o) {
             return Shown{o.boot_timeout ? format_duration(*o.boot_timeout)
                                         : "30s under TCG, 10s under KVM"};
           }},
      {.name = "output",
       .metavar = "GUEST_PATH[:HOST_PATH]",
       .arity = Arity::kList,
       .group = G::kCommand,
       .help = "copy GUEST_PATH (a file, or a directory whole) out of the guest once the command "
               "ends, also when it failed or timed out, to HOST_PATH (default: its name here)",
       .parse =
           [](RunOptions& o, const SettingValue& v) {
             o.outputs.push_back(parse_output_option(v.text, v.base, v.label));
           },
       .show =
           [](const RunOptions& o) {
             Shown out;
             for (const auto& p : o.outputs) out.push_back(p.text);
             return out;
           }},
      // Isolation (issue "OCI images as VM roots"): the command's confinement and the network.
      {.name = "cap-add",
       .metavar = "CAP",
       .arity = Arity::kList,
       .group = G::kIsolation,
       .help = "let COMMAND keep capability CAP (NET_ADMIN or CAP_NET_ADMIN, any case; ALL for "
               "every one) beyond docker's default set, and the system calls it needs; confines "
               "COMMAND on any root",
       .parse = [](RunOptions& o, const SettingValue& v) { o.cap_add.push_back(capability(v)); },
       .show = [](const RunOptions& o) { return o.cap_add; }},
      {.name = "cap-drop",
       .metavar = "CAP",
       .arity = Arity::kList,
       .group = G::kIsolation,
       .help = "take capability CAP (or ALL) from COMMAND's set; confines COMMAND on any root",
       .parse = [](RunOptions& o, const SettingValue& v) { o.cap_drop.push_back(capability(v)); },
       .show = [](const RunOptions& o) { return o.cap_drop; }},
      {.name = "privileged",
       .arity = Arity::kFlag,
       .group = G::kIsolation,
       .help = "do not confine COMMAND: every capability, no seccomp filter, setuid programs work",
       .parse = [](RunOptions& o, const SettingValue& v) { o.privileged = v.text == "true"; },
       .show = [](const RunOptions& o) { return yes_no(o.privileged); }},
      {.name = "network",
       .metavar = names(kNetworks),
       .group = G::kIsolation,
       .help = "none: no network device, only lo; user: QEMU's user-mode network, a NAT in "
               "QEMU's process to this host's networks (this host is 10.0.2.2, the guest "
               "10.0.2.15)",
       .parse = [](RunOptions& o, const SettingValue& v) { o.network = choice(v, kNetworks); },
       .show = [](const RunOptions& o) { return shown(kNetworks, o.network); }},
      {.name = "publish",
       .short_flag = "-p",
       .metavar = "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]",
       .arity = Arity::kList,
       .group = G::kIsolation,
       .help = "forward HOSTPORT on this host (on 127.0.0.1 unless HOSTIP says otherwise) to "
               "GUESTPORT in the guest, TCP unless /udp; needs --network user",
       .parse = [](RunOptions& o,
                   const SettingValue& v) { o.publish.push_back(parse_publish(v.text, v.label)); },
       .show =
           [](const RunOptions& o) {
             Shown out;
             for (const auto& f : o.publish) out.push_back(f.text);
             return out;
           }},
      {.name = "console",
       .arity = Arity::kFlag,
       .group = G::kDiagnostics,
       .help = "show the guest kernel's log on stderr",
       .parse = [](RunOptions& o, const SettingValue& v) { o.console = v.text == "true"; },
       .show = [](const RunOptions& o) { return yes_no(o.console); }},
      {.name = "stats",
       .arity = Arity::kFlag,
       .group = G::kDiagnostics,
       .help = "print boot time, run time and QEMU's peak memory on stderr",
       .parse = [](RunOptions& o, const SettingValue& v) { o.stats = v.text == "true"; },
       .show = [](const RunOptions& o) { return yes_no(o.stats); }},
  };
}

// The key of VALUE's setting in origins: its name, and for a list the item too.
std::string origin_key(const Setting& s, const std::string& item) {
  return s.arity == Arity::kList ? s.name + " " + item : s.name;
}

void apply(RunOptions& o, const Setting& s, const SettingValue& v) {
  s.parse(o, v);
  o.origins[origin_key(s, v.text)] = v.origin;
}

std::vector<FileKey> project_file_keys() {
  std::vector<FileKey> keys;
  for (const Setting& s : run_settings())
    if (s.file.key) keys.push_back(s.file);
  return keys;
}

const Setting& setting_of_key(std::string_view key) {
  const auto& settings = run_settings();
  return *std::find_if(settings.begin(), settings.end(),
                       [&](const Setting& s) { return s.file.key && s.file.key == key; });
}

// PATH, its symlinks resolved as far as it exists.
std::filesystem::path resolved(const std::string& path) {
  std::error_code ec;
  std::filesystem::path out = std::filesystem::weakly_canonical(path, ec);
  return ec ? std::filesystem::path(path) : out;
}

}  // namespace

const std::vector<Setting>& run_settings() {
  static const std::vector<Setting> settings = make_settings();
  return settings;
}

unsigned whole_number(const SettingValue& v, unsigned min, unsigned max) {
  std::string hint =
      "write a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  if (v.text.empty() || v.text.find_first_not_of("0123456789") != std::string::npos)
    refuse(v, "not a whole number", hint);
  size_t digits = v.text.size() - std::min(v.text.find_first_not_of('0'), v.text.size());
  unsigned long n = digits > 9 ? max + 1ul : std::stoul(v.text);
  if (n < min || n > max) refuse(v, "out of range", hint);
  return static_cast<unsigned>(n);
}

void add_settings(CLI::App& app, RunOptions& options, std::vector<GivenValue>& given) {
  for (const Setting& s : run_settings()) {
    std::string flags = (s.short_flag.empty() ? "" : s.short_flag + ",") + "--" + s.name;
    auto take = [&options, &given, &s](const std::string& text) {
      SettingValue v{text, s.flag() + " " + shell_quote(text), "command line", current_directory()};
      apply(options, s, v);
      given.push_back({&s, std::move(v)});
    };
    if (s.arity == Arity::kFlag) {
      app.add_flag_callback(
             flags, [take] { take("true"); }, s.help)
          ->disable_flag_override();
      continue;
    }
    CLI::Option* option = app.add_option(flags, s.help)->type_name(s.metavar);
    if (s.arity == Arity::kList) {
      option->take_all()->allow_extra_args(false);
    } else {
      option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    option->check(CLI::Validator(
        [take](std::string& text) {
          take(text);
          return std::string();
        },
        "", s.name));  // no description: CLI11 would add it to the metavar in its messages
  }
}

ProjectSettings read_project_settings(const std::string& path) {
  ProjectSettings p;
  p.file = read_project_file(path, project_file_keys());
  for (const FileValue& value : p.file.values)
    apply(p.options, setting_of_key(value.key),
          {value.text, value.label, value.origin, p.file.dir});
  std::filesystem::path tree = resolved(find_work_tree(resolved(p.file.dir).string()));
  p.work_tree = tree.string();
  if (p.options.sudo) p.beyond.push_back("sudo = true");
  for (const Volume& v : p.options.volumes)
    if (!is_within(resolved(v.host).string(), tree.string()))
      p.beyond.push_back("volume " + shell_quote(v.text));
  return p;
}

std::optional<std::string> project_file_for(const RunOptions& o) {
  std::string cwd = o.workdir.empty() ? current_directory() : o.workdir;
  return find_project_file(cwd, find_work_tree(cwd));
}

std::optional<Error> consent_needed(const ProjectSettings& p, const TrustStore& store) {
  if (p.beyond.empty() || store.trusts(trust_name(p.file.path), p.file.content))
    return std::nullopt;
  std::string asks;
  for (size_t i = 0; i < p.beyond.size(); ++i)
    asks += (i == 0 ? "" : i + 1 == p.beyond.size() ? " and " : ", ") + p.beyond[i];
  return Error(p.file.path + " asks for " + asks + ", beyond its work tree " + p.work_tree +
                   ", and you have not allowed it",
               "if you trust it, run `execvm trust " + shell_quote(p.file.path) + "`");
}

void merge_project_settings(RunOptions& o, const std::vector<GivenValue>& given,
                            const ProjectSettings& p) {
  RunOptions merged = p.options;
  for (const GivenValue& g : given) apply(merged, *g.setting, g.value);
  merged.command = std::move(o.command);
  merged.project_file = p.file.path;
  o = std::move(merged);
}

void apply_project_file(ParsedRun& parsed, const TrustStore& store) {
  std::optional<std::string> path = project_file_for(parsed.options);
  if (!path) return;
  ProjectSettings file = read_project_settings(*path);
  if (auto refused = consent_needed(file, store)) throw *refused;
  merge_project_settings(parsed.options, parsed.given, file);
}

std::vector<std::pair<std::string, std::string>> describe_settings(const RunOptions& o) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Setting& s : run_settings()) {
    for (const std::string& value : s.show(o)) {
      auto origin = o.origins.find(origin_key(s, value));
      out.push_back({s.name + " " + value, origin == o.origins.end() ? "default" : origin->second});
    }
  }
  return out;
}

}  // namespace execvm
