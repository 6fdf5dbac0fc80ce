// The guest's network on the host's side: none (no network device at all), or QEMU's user-mode
// network (a NAT in QEMU's own process, no privileges needed) with -p port forwards, and the
// addresses the guest's agent then gives its interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/run_spec.h"

namespace execvm {

enum class NetworkMode { kNone, kUser };

// One -p [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]: connections to HOSTIP:HOSTPORT on this host go to
// GUESTPORT in the guest.
struct PortForward {
  std::string text;  // as given
  std::string protocol = "tcp";
  std::string host_address = "127.0.0.1";  // only this host, unless given
  uint16_t host_port = 0;
  uint16_t guest_port = 0;
  bool operator==(const PortForward&) const = default;
};

// Parses TEXT as -p takes it. Throws Error "LABEL: what is wrong" with the form to write.
PortForward parse_publish(const std::string& text, const std::string& label);

// The guest's side of QEMU's user-mode network: eth0 at 10.0.2.15/24, the host (and the way out)
// at 10.0.2.2, QEMU's resolver at 10.0.2.3. MODE kNone: no network.
NetworkSpec guest_network(NetworkMode mode);

// QEMU's arguments for MODE with FORWARDS: a user-mode netdev and its virtio-net device (one of
// microvm's virtio-mmio slots), or nothing for kNone.
std::vector<std::string> network_qemu_args(NetworkMode mode,
                                           const std::vector<PortForward>& forwards);

}  // namespace execvm
