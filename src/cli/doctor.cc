// execvm doctor: what works on this host and why not, each problem with its fix.
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/settings.h"
#include "config/project_file.h"
#include "config/registries_conf.h"
#include "config/trust.h"
#include "host/accel.h"
#include "host/caller.h"
#include "host/tsc.h"
#include "image/catalog.h"
#include "image/rootfs_cache.h"
#include "image/source.h"
#include "kernel/kernel.h"
#include "registry/auth_file.h"
#include "root/host_root.h"
#include "root/image_root.h"
#include "root/share_fs.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

class Report {
 public:
  void ok(const std::string& item, const std::string& detail) { line("ok", item, detail, ""); }
  void info(const std::string& item, const std::string& detail) { line("--", item, detail, ""); }
  void warn(const std::string& item, const std::string& detail, const std::string& fix) {
    line("warn", item, detail, fix);
  }
  void fail(const std::string& item, const std::string& detail, const std::string& fix) {
    line("FAIL", item, detail, fix);
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  void line(const char* status, const std::string& item, const std::string& detail,
            const std::string& fix) {
    printf("  %-5s %-14s %s\n", status, item.c_str(), detail.c_str());
    if (!fix.empty()) printf("  %-5s %-14s fix: %s\n", "", "", fix.c_str());
    fflush(stdout);
  }
  bool failed_ = false;
};

std::string first_line(const std::string& text) {
  return std::string(trim(split(text, '\n')[0]));
}

constexpr const char* kDoctorUsage =
    R"(usage: execvm doctor [OPTIONS] [--no-boot] [[--] COMMAND [ARG...]]

Checks what execvm needs on this host (QEMU, the accelerator, the guest kernel, the cache)
and says how to fix what is missing; then describes the run `execvm [OPTIONS] COMMAND` would
make here (COMMAND defaults to true): each setting and where it comes from (the command line,
the project file .execvm.toml, the defaults), whether the project file is trusted, how the
host's files reach the guest and what is shared. Last it boots one VM with those options
running true, and when that fails one with --bare, to tell the VM from the host's root.
OPTIONS are those of execvm --help. Exits 1 when such a run cannot work here.

  --no-boot              skip the test boot
  -h, --help             this text
)";

// The command line that gives VALUES again, for the test boot's execvm.
std::vector<std::string> as_arguments(const std::vector<GivenValue>& values, bool vm_only) {
  std::vector<std::string> out;
  for (const GivenValue& g : values) {
    if (vm_only && g.setting->group != HelpGroup::kVm) continue;
    if (g.setting->name == "output") continue;  // the command's files: `true` makes none
    out.push_back("--" + g.setting->name);
    if (g.setting->arity != Arity::kFlag) out.back() += "=" + g.value.text;
  }
  return out;
}

// The boot: execvm with ARGUMENTS running true; true when it worked.
bool test_boot(Report& report, const std::vector<std::string>& arguments) {
  std::vector<std::string> boot = {"/proc/self/exe"};
  boot.insert(boot.end(), arguments.begin(), arguments.end());
  boot.insert(boot.end(), {"--", "true"});
  std::string what = "execvm";
  for (const auto& a : arguments) what += " " + shell_quote(a);
  what += " -- true";
  auto start = std::chrono::steady_clock::now();
  auto result = run_capture(boot, true);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.status != 0) {
    report.fail("boot", what + " failed: " + first_line(result.output),
                "run it with --console to see the guest kernel's log");
    return false;
  }
  char detail[64];
  snprintf(detail, sizeof detail, " ran in %.2fs", seconds);
  report.ok("boot", what + detail);
  return true;
}

// The size of the regular files under DIR, and how many there are.
std::pair<uint64_t, size_t> tree_size(const std::string& dir) {
  namespace fs = std::filesystem;
  uint64_t bytes = 0;
  size_t files = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    uint64_t size = it->file_size(file_ec);
    if (file_ec) continue;
    bytes += size;
    ++files;
  }
  return {bytes, files};
}

// The names in DIR that are not hidden (a temporary file's are) and end with SUFFIX.
size_t count_names(const std::string& dir, std::string_view suffix) {
  size_t n = 0;
  for (const auto& name : directory_names(dir))
    if (!name.starts_with(".") && name.ends_with(suffix)) ++n;
  return n;
}

// "a", "a and b", "a, b and c".
std::string and_list(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return out;
}

std::string plural(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Image mode: the image cache and what it holds, the filesystems of image roots in the kernel
// (CONFIG: its .config, when there is one) and the host's optional image tools.
void image_checks(Report& report, const std::optional<std::string>& config) {
  std::string dir = images_directory();
  if (!is_directory(dir)) {
    report.ok("image cache", dir + " (empty: no image run yet)");
  } else {
    auto [bytes, files] = tree_size(dir);
    size_t blobs = 0;
    for (const auto& algorithm : directory_names(join_path(dir, "blobs")))
      blobs += count_names(join_path(dir, "blobs/" + algorithm), "");
    report.ok("image cache",
              dir + " (" + format_mib(bytes) + " in " + plural(files, "file", "files") + ": " +
                  plural(Catalog(dir).list().size(), "image", "images") + ", " +
                  plural(count_names(join_path(dir, "rootfs"), ".squashfs"), "root filesystem",
                         "root filesystems") +
                  ", " + plural(blobs, "blob", "blobs") + "; execvm image ls, prune)");
  }

  struct Filesystem {
    const char* name;
    const char* symbol;
    const char* used_by;
  };
  const Filesystem filesystems[] = {
      {"squashfs", "CONFIG_SQUASHFS", "--image (its root filesystems) and --root-disk"},
      {"erofs", "CONFIG_EROFS_FS", "--root-disk"},
      {"ext4", "CONFIG_EXT4_FS", "--root-disk"},
  };
  if (!config) {
    report.info("image roots", "no kernel config: squashfs, erofs and ext4 are not checked");
  } else {
    auto symbols = parse_kernel_config(*config);
    std::vector<std::string> built_in;
    for (const auto& f : filesystems) {
      auto it = symbols.find(f.symbol);
      std::string value = it == symbols.end() ? "n" : it->second;
      if (value == "y") {
        built_in.push_back(f.name);
      } else {
        report.warn("image roots",
                    std::string("the kernel has no ") + f.name + " (" + f.symbol + " " +
                        (value == "m" ? "is a module" : "is not set") + "): " + f.used_by +
                        " cannot mount " + f.name + " images",
                    "use execvm's kernel (execvm kernel build)");
      }
    }
    if (!built_in.empty())
      report.ok("image roots",
                "the kernel has " + and_list(built_in) + " (what --image and --root-disk mount)");
  }

  // Registries: the configuration and credentials a pull would read.
  try {
    std::vector<std::string> read;
    for (const auto& f : default_registries_conf_files())
      if (is_regular_file(f)) read.push_back(f);
    RegistriesConf conf = load_registries_conf(read);
    size_t insecure = 0, mirrors = 0, blocked = 0;
    for (const auto& r : conf.registries) {
      insecure += r.insecure;
      blocked += r.blocked;
      mirrors += r.mirrors.size();
    }
    report.ok("registries",
              read.empty()
                  ? "no registries.conf: every registry over verified HTTPS"
                  : and_list(read) + " (" + plural(conf.registries.size(), "entry", "entries") +
                        ": " + std::to_string(insecure) + " insecure, " + std::to_string(mirrors) +
                        " mirrors, " + std::to_string(blocked) + " blocked)");
  } catch (const Error& e) {
    report.fail("registries", e.what(), e.hint());
  }
  std::vector<std::string> auth;
  for (const auto& f : default_auth_files())
    if (is_regular_file(f)) auth.push_back(f);
  report.info("credentials", auth.empty()
                                 ? "no auth file (pulls are anonymous unless --authfile is given)"
                                 : "read from " + and_list(auth));

  // Optional: execvm converts images itself; these make and convert them.
  struct Tool {
    const char* name;
    const char* what;
    const char* package;
  };
  const Tool tools[] = {
      {"skopeo", "copies images between registries, docker-archive, oci-archive and layouts",
       "skopeo"},
      {"umoci", "unpacks and edits OCI image layouts", "umoci"},
      {"mkfs.ext4", "makes ext4 images from a directory, for --root-disk and --disk", "e2fsprogs"},
      {"mksquashfs", "makes squashfs images from a directory, for --root-disk", "squashfs-tools"},
      {"mkfs.erofs", "makes erofs images from a directory, for --root-disk", "erofs-utils"},
  };
  for (const auto& t : tools) {
    if (std::optional<std::string> path = find_program(t.name))
      report.ok("image tool", std::string(t.name) + ": " + *path + " (" + t.what + ")");
    else
      report.info("image tool", std::string(t.name) + ": not found (optional: " + t.what +
                                    "; apt-get install " + t.package + ")");
  }
}

// The report on the run PARSED describes; BOOT: end with a test boot. Returns the status.
int doctor_report(ParsedRun& parsed, const Caller& caller, bool boot) {
  Report report;
  std::string cache = cache_root();
  printf("execvm %s doctor\n", EXECVM_VERSION);

  // The project file first: the checks below use the settings it gives.
  RunOptions& o = parsed.options;
  std::optional<ProjectSettings> project;
  std::optional<Error> project_error;
  try {
    if (std::optional<std::string> path = project_file_for(o)) {
      project = read_project_settings(*path);
      project_error = consent_needed(*project, TrustStore(default_trust_dir()));
      merge_project_settings(o, parsed.given, *project);
    }
  } catch (const Error& e) {
    project_error = e;
  }

  std::optional<std::string> qemu = o.qemu.empty() ? find_program("qemu-system-x86_64") : o.qemu;
  if (qemu && ::access(qemu->c_str(), X_OK) == 0) {
    auto version = run_capture({*qemu, "--version"}, true);
    report.ok("qemu", *qemu + " (" + first_line(version.output) + ")");
  } else if (qemu) {
    report.fail("qemu", *qemu + " is not an executable file", "give --qemu an executable");
  } else {
    report.fail("qemu", "qemu-system-x86_64 is not in PATH", "apt-get install qemu-system-x86");
  }

  try {
    AccelChoice choice = choose_accel(o.accel, probe_accel());
    if (choice.accel == Accel::kKvm) {
      report.ok("accelerator", "kvm: " + choice.reason);
    } else {
      report.ok("accelerator", "tcg: " + choice.reason);
      report.info("tsc", std::to_string(host_tsc_khz(cache)) + " kHz (given to TCG guests)");
    }
  } catch (const Error& e) {
    report.fail("accelerator", e.what(), e.hint());
  }

  std::optional<Kernel> kernel;
  std::optional<std::string> kernel_config;
  try {
    kernel = o.kernel.empty() ? find_cached_kernel(cache) : kernel_from_path(o.kernel);
  } catch (const Error& e) {
    report.fail("kernel", e.what(), e.hint());
  }
  if (kernel) {
    report.ok("kernel", kernel->path + (kernel->acpi ? " (ACPI)" : ""));
    std::string dir = kernel->path.substr(0, kernel->path.find_last_of('/'));
    try {
      kernel_config = read_file(dir + "/config");
      auto missing = missing_kernel_features(*kernel_config);
      if (missing.empty()) {
        report.ok("kernel config", "has everything execvm uses");
      } else {
        for (const auto& m : missing)
          report.warn("kernel config", "missing " + m, "use execvm's kernel (execvm kernel build)");
      }
    } catch (const Error&) {
      report.info("kernel config", "no config beside the kernel: its features are not checked");
    }
  } else if (o.kernel.empty()) {
    report.fail(
        "kernel",
        "execvm's kernel is not built on this machine (config " + kernel_config_hash() + ")",
        "execvm kernel build (about 10 minutes on 2 cores, once)");
  }
  if (::access(kDefaultKernelSource, R_OK) == 0) {
    report.ok("kernel source", std::string(kDefaultKernelSource) + " (to build the kernel)");
  } else {
    report.info("kernel source", std::string(kDefaultKernelSource) +
                                     " is not installed (needed only to build the kernel: "
                                     "apt-get install linux-source-6.12)");
  }

  try {
    make_dirs(cache);
    struct statvfs fs;
    if (::access(cache.c_str(), W_OK) != 0 || ::statvfs(cache.c_str(), &fs) != 0)
      throw Error(cache + " is not writable");
    double free_gib = static_cast<double>(fs.f_bavail) * fs.f_frsize / (1 << 30);
    char detail[64];
    snprintf(detail, sizeof detail, " (%.1f GiB free)", free_gib);
    report.ok("cache", cache + detail);
  } catch (const Error& e) {
    report.fail("cache", e.what(), "set XDG_CACHE_HOME to a writable directory");
  }
  image_checks(report, kernel_config);

  // What this run would use: the project file, the settings, the host's files, the shares.
  if (project_error) {
    report.fail("project file", project_error->what(), project_error->hint());
  } else if (!project) {
    report.info("project file", std::string("none (") + kProjectFileName +
                                    " in this directory or its git work tree)");
  } else if (project->beyond.empty()) {
    report.ok("project file", project->file.path + " (asks for nothing beyond its work tree)");
  } else {
    report.ok("project file", project->file.path + " (trusted)");
  }
  for (const auto& [setting, origin] : describe_settings(o))
    report.info("setting", setting + " (" + origin + ")");
  if (o.bare) {
    report.info("root", "bare: an initramfs with just " + o.command[0] + " and what it loads");
  } else if (!o.image.empty()) {
    try {
      std::string dir = images_directory();
      Image image = open_image(image_reference(o.image, o.image_base), dir, pull_options(o));
      bool cached = ::access((rootfs_path(image, dir) + ".ok").c_str(), F_OK) == 0;
      report.ok("root", "image " + image.reference + " (" + image.source + ", " + image.platform +
                            ", ID " + image.config_digest.substr(7, 12) + ", " +
                            std::to_string(image.layers.size()) + " layers; " +
                            (cached ? "its root filesystem is cached"
                                    : "converted into the cache on its first run") +
                            ")");
    } catch (const Error& e) {
      report.fail("root", e.what(), e.hint());
    }
  } else if (!o.initrd.empty()) {
    report.info("root", "the initramfs " + o.initrd + " with execvm's agent added, in memory");
  } else if (!o.rootfs.empty()) {
    report.info("root", "the directory " + o.rootfs + " over 9p, read-only under the overlay");
  } else if (!o.root_disk.empty()) {
    report.info("root",
                "the disk image " + o.root_disk +
                    (o.root_disk_rw ? ", written through" : ", read-only under the overlay"));
  } else {
    try {
      // The run's own spec: its directory, its program and its TMPDIR decide the shares.
      RunSpec spec = make_run_spec(o, caller);
      HostRoot root(share_request(spec, o.volumes), o.share_fs);
      const ShareFsChoice& fs = root.share_fs();
      report.ok("host files", std::string("over ") + share_fs_name(fs.fs) + " (" + fs.why + ")");
      for (const auto& share : root.shares())
        report.info("share", share.host + (share.guest == share.host ? "" : " at " + share.guest) +
                                 (share.readonly ? " read-only" : " read-write") + " (" +
                                 share.reason + ")");
    } catch (const Error& e) {
      report.fail("host files", e.what(), e.hint());
    }
  }

  // The options as given, then, when that fails, the VM alone (--bare) to tell the two apart.
  if (boot && !report.failed() && !test_boot(report, as_arguments(parsed.given, false)) &&
      !o.bare) {
    std::vector<std::string> bare = as_arguments(parsed.given, true);
    bare.push_back("--bare");
    test_boot(report, bare);
  }
  return report.failed() ? 1 : 0;
}

}  // namespace

Command add_doctor_command(CLI::App& app, const Caller& caller) {
  CLI::App* doctor = app.add_subcommand("doctor", "what works on this host, and the fix");
  struct State {
    ParsedRun parsed;
    bool help = false, no_boot = false;
  };
  auto state = std::make_shared<State>();
  add_run_options(*doctor, state->parsed, state->help);
  doctor->add_flag("--no-boot", state->no_boot);
  return {doctor, [doctor, state, &caller] {
            if (state->help) {
              std::cout << kDoctorUsage;
              return 0;
            }
            finish_run_options(*doctor, state->parsed, false);
            if (state->parsed.options.command.empty()) state->parsed.options.command = {"true"};
            return doctor_report(state->parsed, caller, !state->no_boot);
          }};
}

}  // namespace execvm
