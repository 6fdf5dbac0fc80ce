// execvm doctor: what works on this host and why not, each problem with its fix.
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/settings.h"
#include "config/project_file.h"
#include "host/accel.h"
#include "host/tsc.h"
#include "kernel/kernel.h"
#include "root/host_root.h"
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

}  // namespace

int doctor_command(const std::vector<std::string>& args) {
  CLI::App app{"execvm doctor"};
  app.set_help_flag();
  bool help = false, no_boot = false;
  std::string kernel_path, accel_text = "auto";
  app.add_flag("-h,--help", help);
  app.add_option("--kernel", kernel_path);
  app.add_option("--accel", accel_text);
  app.add_flag("--no-boot", no_boot);
  parse_command_line(app, args, "execvm doctor");
  if (help) {
    std::cout << "usage: execvm doctor [--kernel PATH] [--accel auto|kvm|tcg] [--no-boot]\n\n"
                 "Checks what execvm needs on this host (QEMU, the accelerator, the guest kernel,\n"
                 "the cache) and says how to fix what is missing; shows the settings a run in\n"
                 "this directory would use and where each comes from (the command line, the\n"
                 "project file .execvm.toml, the defaults), how the host's files reach the guest\n"
                 "and what is shared; then boots one VM running /bin/true (skip with --no-boot).\n"
                 "Exits 1 when execvm cannot run here.\n";
    return 0;
  }
  Report report;
  std::string cache = cache_root();
  printf("execvm %s doctor\n", EXECVM_VERSION);

  std::optional<std::string> qemu = find_program("qemu-system-x86_64");
  if (qemu) {
    auto version = run_capture({*qemu, "--version"}, true);
    report.ok("qemu", *qemu + " (" + first_line(version.output) + ")");
  } else {
    report.fail("qemu", "qemu-system-x86_64 is not in PATH", "apt-get install qemu-system-x86");
  }

  AccelRequest request = parse_accel_request("--accel", accel_text);
  try {
    AccelChoice choice = choose_accel(request, probe_accel());
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
  try {
    kernel = kernel_path.empty() ? find_cached_kernel(cache) : kernel_from_path(kernel_path);
  } catch (const Error& e) {
    report.fail("kernel", e.what(), e.hint());
  }
  if (kernel) {
    report.ok("kernel", kernel->path + (kernel->acpi ? " (ACPI)" : ""));
    std::string dir = kernel->path.substr(0, kernel->path.find_last_of('/'));
    try {
      auto missing = missing_kernel_features(read_file(dir + "/config"));
      if (missing.empty()) {
        report.ok("kernel config", "has everything execvm uses");
      } else {
        for (const auto& m : missing)
          report.warn("kernel config", "missing " + m, "use execvm's kernel (execvm kernel build)");
      }
    } catch (const Error&) {
      report.info("kernel config", "no config beside the kernel: its features are not checked");
    }
  } else if (kernel_path.empty()) {
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

  // What a run here would use: the project file, the host's files, the shares.
  RunOptions settings;
  settings.kernel = kernel_path;
  settings.accel = request;
  if (!kernel_path.empty()) settings.origins["kernel"] = "command line";
  if (request != AccelRequest::kAuto) settings.origins["accel"] = "command line";
  try {
    apply_project_file(settings);
    report.info("project file", settings.project_file.empty()
                                    ? std::string("none (") + kProjectFileName +
                                          " in this directory or its git work tree)"
                                    : settings.project_file);
    for (const auto& [setting, origin] : describe_settings(settings))
      report.info("setting", setting + " (" + origin + ")");
  } catch (const Error& e) {
    report.fail("project file", e.what(), e.hint());
  }
  try {
    ShareFsChoice fs = choose_share_fs(settings.share_fs);
    report.ok("host files", std::string("over ") + share_fs_name(fs.fs) + " (" + fs.why + ")");
    ShareRequest shares{current_directory(), "", getenv("TMPDIR") ? getenv("TMPDIR") : "",
                        settings.volumes, current_directory()};
    for (const auto& share : plan_shares(shares))
      report.info("share", share.host + (share.guest == share.host ? "" : " at " + share.guest) +
                               (share.readonly ? " read-only" : " read-write") + " (" +
                               share.reason + ")");
  } catch (const Error& e) {
    report.fail("host files", e.what(), e.hint());
  }

  if (!no_boot && !report.failed()) {
    // The default mode first; when it fails, the bare one says whether the VM itself works.
    for (bool bare : {false, true}) {
      std::vector<std::string> boot = {"/proc/self/exe", "--accel", accel_text};
      if (bare) boot.push_back("--bare");
      if (!kernel_path.empty()) boot.insert(boot.end(), {"--kernel", kernel_path});
      boot.insert(boot.end(), {"--", "true"});
      std::string what = bare ? "execvm --bare -- true" : "execvm -- true";
      auto start = std::chrono::steady_clock::now();
      auto result = run_capture(boot, true);
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      char detail[96];
      snprintf(detail, sizeof detail, "%s ran in %.2fs", what.c_str(), seconds);
      if (result.status == 0) {
        report.ok("boot", detail);
        break;
      }
      report.fail("boot", what + " failed: " + first_line(result.output),
                  "run it with --console to see the guest kernel's log");
    }
  }
  return report.failed() ? 1 : 0;
}

}  // namespace execvm
