// Kernel configs as text: the fragment's hash, what a .config lacks, what a build got wrong.
#include <string_view>

#include "host/embedded.h"
#include "kernel/kernel.h"
#include "kernel/recipe.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace execvm {

namespace {

// One line of a .config as (symbol, value); nullopt for other lines.
std::optional<std::pair<std::string, std::string>> parse_line(std::string_view line) {
  line = trim(line);
  if (starts_with(line, "# CONFIG_")) {
    std::string_view rest = line.substr(2);
    constexpr std::string_view kNotSet = " is not set";
    if (rest.size() > kNotSet.size() && rest.substr(rest.size() - kNotSet.size()) == kNotSet)
      return std::make_pair(std::string(rest.substr(0, rest.size() - kNotSet.size())), "n");
    return std::nullopt;
  }
  if (!starts_with(line, "CONFIG_")) return std::nullopt;
  size_t eq = line.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(trim(line.substr(0, eq))),
                        std::string(trim(line.substr(eq + 1))));
}

std::string describe(const std::optional<std::string>& value) {
  if (!value) return "absent";
  if (*value == "n") return "not set";
  return *value;
}

// One thing execvm needs: any one of ALTERNATIVES, each a set of symbols that must all be there.
struct Requirement {
  std::vector<std::vector<const char*>> alternatives;
  const char* why;
  bool only_without_acpi = false;
};

const std::vector<Requirement>& requirements() {
  static const std::vector<Requirement> all = {
      {{{"CONFIG_VIRTIO_MMIO"}}, "virtio-mmio devices: the microvm's disks and channel"},
      {{{"CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"}},
       "virtio-mmio devices named on the command line: how a kernel without ACPI finds them",
       true},
      {{{"CONFIG_VIRTIO_CONSOLE"}}, "virtio-serial: the channel to execvm's guest agent"},
      {{{"CONFIG_BLK_DEV_INITRD"}}, "an initramfs: it carries the guest agent"},
      {{{"CONFIG_DEVTMPFS"}}, "devtmpfs: /dev without udev"},
      {{{"CONFIG_PROC_FS"}}, "/proc"},
      {{{"CONFIG_SYSFS"}}, "/sys: the agent finds its channel under /sys/class/virtio-ports"},
      {{{"CONFIG_TMPFS"}}, "tmpfs: /tmp, /run and the writable layer over a read-only root"},
      {{{"CONFIG_OVERLAY_FS"}}, "overlayfs: a writable view of a read-only root"},
      {{{"CONFIG_VIRTIO_FS"}, {"CONFIG_9P_FS", "CONFIG_NET_9P_VIRTIO"}},
       "sharing host directories: the host root and -v"},
      {{{"CONFIG_VIRTIO_BLK"}}, "virtio disks: image roots and --disk"},
      {{{"CONFIG_SQUASHFS"}}, "squashfs: the filesystem of image roots"},
      {{{"CONFIG_EXT4_FS"}}, "ext4: root disks and --disk images"},
      {{{"CONFIG_UNIX98_PTYS"}}, "/dev/pts: a terminal for interactive commands"},
      {{{"CONFIG_BINFMT_ELF"}}, "running ELF programs"},
      {{{"CONFIG_BINFMT_SCRIPT"}}, "running #! scripts"},
      {{{"CONFIG_FUTEX"}}, "futexes: threads and locks in every libc"},
      {{{"CONFIG_EPOLL"}}, "epoll: the agent's relay"},
      {{{"CONFIG_SIGNALFD"}}, "signalfd: the agent's child handling"},
      {{{"CONFIG_SERIAL_8250_CONSOLE"}},
       "a serial console: the boot messages execvm shows when a boot fails"},
  };
  return all;
}

}  // namespace

std::map<std::string, std::string> parse_kernel_config(const std::string& text) {
  std::map<std::string, std::string> symbols;
  for (const auto& line : split(text, '\n')) {
    if (auto entry = parse_line(line)) symbols[entry->first] = entry->second;
  }
  return symbols;
}

std::string kernel_config_hash() {
  std::string input(embedded_kernel_config());
  input += '\n';
  input += kKernelRecipe;
  return sha256_hex(input).substr(0, 12);
}

std::vector<std::string> config_mismatches(const std::string& fragment, const std::string& config) {
  // The fragment's symbols in their order, each with its last value (as merge_config.sh does).
  std::vector<std::string> order;
  std::map<std::string, std::string> wanted;
  for (const auto& line : split(fragment, '\n')) {
    auto entry = parse_line(line);
    if (!entry) continue;
    if (!wanted.count(entry->first)) order.push_back(entry->first);
    wanted[entry->first] = entry->second;
  }
  std::map<std::string, std::string> have = parse_kernel_config(config);
  std::vector<std::string> mismatches;
  for (const auto& symbol : order) {
    const std::string& want = wanted[symbol];
    auto it = have.find(symbol);
    std::optional<std::string> got;
    if (it != have.end()) got = it->second;
    bool ok = want == "n" ? (!got || *got == "n") : (got && *got == want);
    if (!ok) mismatches.push_back(symbol + ": wanted " + describe(want) + ", got " + describe(got));
  }
  return mismatches;
}

std::vector<std::string> missing_kernel_features(const std::string& config_text,
                                                 bool modules_available) {
  std::map<std::string, std::string> have = parse_kernel_config(config_text);
  auto value = [&](const char* symbol) {
    auto it = have.find(symbol);
    return it == have.end() ? std::string("n") : it->second;
  };
  bool acpi = value("CONFIG_ACPI") == "y";
  std::vector<std::string> missing;
  for (const auto& req : requirements()) {
    if (req.only_without_acpi && acpi) continue;
    bool built_in = false, as_module = false;
    for (const auto& all_of : req.alternatives) {
      bool in = true, usable = true;
      for (const char* symbol : all_of) {
        std::string v = value(symbol);
        in = in && v == "y";
        usable = usable && (v == "y" || v == "m");
      }
      built_in = built_in || in;
      as_module = as_module || usable;
    }
    if (built_in || (as_module && modules_available)) continue;
    std::string item;
    for (size_t i = 0; i < req.alternatives.size(); ++i) {
      if (i) item += " or ";
      for (size_t k = 0; k < req.alternatives[i].size(); ++k) {
        if (k) item += " with ";
        item += req.alternatives[i][k];
      }
    }
    item += std::string(" (") + req.why;
    if (as_module) item += "; built as a module here: pass --modules DIR";
    missing.push_back(item + ")");
  }
  return missing;
}

std::optional<std::string> kernel_makefile_version(const std::string& makefile) {
  std::map<std::string, std::string> vars;
  for (const auto& raw : split(makefile, '\n')) {
    std::string_view line = trim(raw);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(trim(line.substr(0, eq)));
    if (name == "VERSION" || name == "PATCHLEVEL" || name == "SUBLEVEL" || name == "EXTRAVERSION") {
      if (!vars.count(name)) vars[name] = std::string(trim(line.substr(eq + 1)));
    }
  }
  for (const char* name : {"VERSION", "PATCHLEVEL", "SUBLEVEL"}) {
    const std::string& v = vars[name];
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  }
  return vars["VERSION"] + "." + vars["PATCHLEVEL"] + "." + vars["SUBLEVEL"] + vars["EXTRAVERSION"];
}

}  // namespace execvm
