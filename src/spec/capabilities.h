// Linux capabilities by name and as sets (bit N is capability N, as the kernel numbers them):
// the names --cap-add and --cap-drop take and the run spec carries, and docker's rules for the
// set a confined command keeps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execvm {

using CapabilitySet = uint64_t;

// The highest capability execvm knows (CAP_CHECKPOINT_RESTORE, Linux 5.9).
inline constexpr int kLastCapability = 40;

// Every capability execvm knows.
CapabilitySet all_capabilities();

// Docker's default set: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID,
// SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL and AUDIT_WRITE.
CapabilitySet default_capabilities();

// The number of capability NAME: "NET_RAW", "CAP_NET_RAW", "net_raw" (any case); nullopt when
// it is no capability execvm knows.
std::optional<int> capability_number(std::string_view name);

// "CAP_NET_RAW" for capability 13.
std::string capability_name(int number);

// The capabilities of SET by name, in the kernel's order.
std::vector<std::string> capability_names(CapabilitySet set);

// The set of NAMES (as capability_number takes them); nullopt when one is not known.
std::optional<CapabilitySet> capability_set(const std::vector<std::string>& names);

// Docker's rules for --cap-add and --cap-drop over BASE (names, or ALL, as capability_number
// takes them, already checked): with ALL added, every capability but the dropped ones; with ALL
// dropped, the added ones alone; otherwise BASE without the dropped ones, then the added ones
// (an added capability is kept even when it is also dropped). Throws std::invalid_argument for a
// name that is not known.
CapabilitySet adjust_capabilities(CapabilitySet base, const std::vector<std::string>& add,
                                  const std::vector<std::string>& drop);

// Whether NAME is ALL (any case) or a capability execvm knows: what --cap-add takes.
bool is_capability_or_all(std::string_view name);

}  // namespace execvm
