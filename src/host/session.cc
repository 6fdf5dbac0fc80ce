#include "host/session.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "host/accel.h"
#include "host/disks.h"
#include "host/outputs.h"
#include "host/qemu.h"
#include "host/relay.h"
#include "host/report.h"
#include "host/signals.h"
#include "host/terminal.h"
#include "host/tsc.h"
#include "host/vm.h"
#include "image/reference.h"
#include "image/source.h"
#include "initramfs/elf_deps.h"
#include "kernel/kernel.h"
#include "root/bare.h"
#include "root/disk_root.h"
#include "root/host_root.h"
#include "root/image_root.h"
#include "root/initrd_root.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr std::chrono::milliseconds kBootTimeoutTcg{30'000};
constexpr std::chrono::milliseconds kBootTimeoutKvm{10'000};

Kernel choose_kernel(const RunOptions& options) {
  if (!options.kernel.empty()) return kernel_from_path(options.kernel);
  if (auto kernel = find_cached_kernel(cache_root())) return *kernel;
  throw Error(
      "no guest kernel: execvm's kernel has not been built on this machine",
      "run `execvm kernel build` once (about 10 minutes on 2 cores), or pass --kernel PATH");
}

std::string find_qemu(const RunOptions& options) {
  if (!options.qemu.empty()) {
    if (::access(options.qemu.c_str(), X_OK) < 0)
      throw Error("--qemu " + options.qemu + ": not an executable file");
    return options.qemu;
  }
  if (auto qemu = find_program("qemu-system-x86_64")) return *qemu;
  throw Error(
      "QEMU was not found (qemu-system-x86_64 is not in PATH nor in the system's "
      "directories)",
      "install it: apt-get install qemu-system-x86");
}

// The root OPTIONS ask for; it checks the command (bare) or the volumes (host) at once.
std::unique_ptr<Root> make_root(const RunOptions& options, const RunSpec& spec,
                                std::optional<Image>& image) {
  if (image)
    return std::make_unique<ImageRoot>(std::move(*image), images_directory(), options.volumes);
  if (!options.root_disk.empty()) {
    return std::make_unique<DiskRoot>(DiskRootRequest{options.root_disk, "", options.root_disk_rw,
                                                      "--root-disk", options.volumes});
  }
  if (!options.rootfs.empty()) return std::make_unique<HostRoot>(options.rootfs, options.volumes);
  if (!options.initrd.empty()) {
    if (!options.volumes.empty())
      throw Error("--initrd and -v do not go together: the initramfs is the whole guest",
                  "add the files to the initramfs (execvm initramfs --add HOST:GUEST)");
    return std::make_unique<InitrdRoot>(options.initrd);
  }
  if (options.bare) {
    return std::make_unique<BareRoot>(
        BareRootRequest{spec.argv[0], command_path(spec.env), spec.cwd,
                        split_library_path(env_value(spec.env, "LD_LIBRARY_PATH")), spec.argv});
  }
  return std::make_unique<HostRoot>(share_request(spec, options.volumes), options.share_fs);
}

// QEMU's configuration for a run of OPTIONS with KERNEL, ACCEL and the root's DEVICES.
VmConfig vm_config(const RunOptions& options, const std::string& qemu, const Kernel& kernel,
                   const AccelChoice& accel, const RootDevices& devices) {
  VmConfig config;
  config.qemu = qemu;
  config.accel = accel.accel;
  config.kernel = kernel.path;
  config.kernel_acpi = kernel.acpi;
  config.initrd = "/proc/self/fd/" + std::to_string(devices.initramfs);
  config.cpus = options.cpus;
  config.memory_mib = options.memory_mib;
  if (accel.accel == Accel::kTcg) config.tsc_khz = host_tsc_khz(cache_root());
  config.verbose_console = options.console;
  config.shared_memory = devices.shared_memory;
  config.devices = devices.qemu_args;
  config.network = options.network;
  config.publish = options.publish;
  return config;
}

RelayOptions relay_options(const RunOptions& options, const AccelChoice& accel) {
  RelayOptions relay;
  relay.boot_timeout =
      options.boot_timeout.value_or(accel.accel == Accel::kKvm ? kBootTimeoutKvm : kBootTimeoutTcg);
  // A guest that stops answering while the command runs is given twice the boot's time.
  relay.unresponsive = 2 * relay.boot_timeout;
  relay.timeout = options.timeout;
  relay.console_to_stderr = options.console;
  return relay;
}

// What the report needs to know of the run besides how it ended.
ReportContext report_context(const RunOptions& options, const RelayOptions& relay,
                             const AccelChoice& accel, const Root& root) {
  ReportContext context;
  context.boot_timeout = relay.boot_timeout;
  context.unresponsive = relay.unresponsive;
  context.timeout = options.timeout;
  context.accel = accel.accel;
  context.cpus = options.cpus;
  context.host_cpus = usable_cpus();
  context.memory_mib = options.memory_mib;
  context.file_server = root.diagnostics();
  context.console_shown = options.console;
  const char* debug = getenv("EXECVM_DEBUG");
  context.whole_console = debug && std::string(debug) == "1";
  return context;
}

void print_stats(const RelayResult& result, const AccelChoice& accel, const Root& root,
                 const Vm& vm, int exit_code) {
  char line[256];
  snprintf(line, sizeof line,
           "execvm: accel %s, root %s, boot %.3fs, command done %.3fs, end %.3fs, QEMU peak RSS "
           "%ld MiB, exit %d\n",
           accel_name(accel.accel), root.kind().c_str(), result.boot_seconds, result.exit_seconds,
           result.run_seconds, vm.max_rss_kib() / 1024, exit_code);
  write_all(STDERR_FILENO, line);
}

}  // namespace

int run_session(const RunOptions& options, const Caller& caller) {
  // What to run, and the checks that cost nothing, before anything is started.
  // An image is opened at once (its config makes the spec; converting it waits for the root's
  // prepare()). A directory or disk as the root has an image's rules, with an empty config.
  std::optional<Image> image;
  if (!options.image.empty()) {
    // A registry's layers download while the rest is prepared, and are converted as they come.
    PullOptions pull = pull_options(options);
    pull.background = true;
    image =
        open_image(image_reference(options.image, options.image_base), images_directory(), pull);
  }
  std::optional<ImageConfig> image_config;
  if (image)
    image_config = image->config;
  else if (options.image_root())
    image_config.emplace();
  RunSpec spec = make_run_spec(options, caller, image_config ? &*image_config : nullptr);
  Outputs outputs(options.outputs);  // their destinations, checked now
  spec.outputs = outputs.guest_paths();
  Disks disks(options.disks);  // each file open, as the guest will use it
  std::unique_ptr<Root> root = make_root(options, spec, image);
  Kernel kernel = choose_kernel(options);
  std::string qemu = find_qemu(options);
  AccelChoice accel = choose_accel(options.accel, probe_accel());

  RootDevices devices = root->prepare();
  GuestMounts mounts = root->mounts();
  spec.root = mounts.root;
  spec.mounts = mounts.mounts;
  RelayOptions relaying = relay_options(options, accel);

  VmConfig config = vm_config(options, qemu, kernel, accel, devices);
  std::vector<int> inherited = devices.fds;
  std::vector<std::string> disk_args = disks.qemu_args();
  config.devices.insert(config.devices.end(), disk_args.begin(), disk_args.end());
  for (int fd : disks.fds()) inherited.push_back(fd);
  check_virtio_slots(qemu_argv(config, 0, 0), disks.size());

  RunSignals signals(caller.ignored_signals);
  Vm vm(config, inherited);
  root->vm_started();
  disks.vm_started();
  RelayResult result;
  {
    std::optional<RawTerminal> terminal;
    if (spec.tty) terminal.emplace(STDIN_FILENO);
    RelayIo io{STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, signals.fd(),
               terminal ? &*terminal : nullptr};
    io.outputs = &outputs;
    result = relay(vm, spec_to_json(spec), io, relaying);
  }

  ReportContext context = report_context(options, relaying, accel, *root);
  context.outputs = outputs.finish();
  Report report = report_run(result, context);
  write_all(STDERR_FILENO, report.text);
  if (options.stats) print_stats(result, accel, *root, vm, report.exit_code);
  return report.exit_code;
}

}  // namespace execvm
