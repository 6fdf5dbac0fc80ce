#include "spec/capabilities.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace execvm {

namespace {

// capabilities(7), by number (include/uapi/linux/capability.h).
constexpr const char* kNames[kLastCapability + 1] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

// moby's default capabilities (daemon/caps/defaults.go).
constexpr const char* kDefaults[] = {
    "CHOWN",  "DAC_OVERRIDE", "FSETID",  "FOWNER",           "MKNOD",      "NET_RAW", "SETGID",
    "SETUID", "SETFCAP",      "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",    "AUDIT_WRITE",
};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_all(std::string_view name) {
  return upper(name) == "ALL";
}

CapabilitySet bit(int number) {
  return CapabilitySet{1} << number;
}

CapabilitySet set_of(const std::vector<std::string>& names) {
  auto set = capability_set(names);
  if (!set) throw std::invalid_argument("not a capability");
  return *set;
}

}  // namespace

CapabilitySet all_capabilities() {
  return bit(kLastCapability + 1) - 1;
}

CapabilitySet default_capabilities() {
  CapabilitySet set = 0;
  for (const char* name : kDefaults) set |= bit(*capability_number(name));
  return set;
}

std::optional<int> capability_number(std::string_view name) {
  std::string key = upper(name);
  if (key.starts_with("CAP_")) key.erase(0, 4);
  for (int i = 0; i <= kLastCapability; ++i)
    if (key == kNames[i]) return i;
  return std::nullopt;
}

std::string capability_name(int number) {
  if (number < 0 || number > kLastCapability) return "CAP_" + std::to_string(number);
  return std::string("CAP_") + kNames[number];
}

std::vector<std::string> capability_names(CapabilitySet set) {
  std::vector<std::string> out;
  for (int i = 0; i < 64; ++i)
    if (set & bit(i)) out.push_back(capability_name(i));
  return out;
}

std::optional<CapabilitySet> capability_set(const std::vector<std::string>& names) {
  CapabilitySet set = 0;
  for (const auto& name : names) {
    auto number = capability_number(name);
    if (!number) return std::nullopt;
    set |= bit(*number);
  }
  return set;
}

bool is_capability_or_all(std::string_view name) {
  return is_all(name) || capability_number(name).has_value();
}

CapabilitySet adjust_capabilities(CapabilitySet base, const std::vector<std::string>& add,
                                  const std::vector<std::string>& drop) {
  auto without_all = [](const std::vector<std::string>& names) {
    std::vector<std::string> out;
    std::copy_if(names.begin(), names.end(), std::back_inserter(out),
                 [](const std::string& n) { return !is_all(n); });
    return out;
  };
  bool add_all = std::any_of(add.begin(), add.end(), [](auto& n) { return is_all(n); });
  bool drop_all = std::any_of(drop.begin(), drop.end(), [](auto& n) { return is_all(n); });
  CapabilitySet added = set_of(without_all(add));
  CapabilitySet dropped = set_of(without_all(drop));
  if (add_all) return all_capabilities() & ~dropped;
  if (drop_all) return added;
  return (base & ~dropped) | added;
}

}  // namespace execvm
