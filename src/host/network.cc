#include "host/network.h"

#include <arpa/inet.h>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {

namespace {

// QEMU's defaults for -netdev user, written out: the guest's agent configures the same.
constexpr const char* kNet = "10.0.2.0/24";
constexpr const char* kGuest = "10.0.2.15";
constexpr const char* kPrefix = "/24";
constexpr const char* kHost = "10.0.2.2";
constexpr const char* kDns = "10.0.2.3";

constexpr const char* kPublishForm = "the form is -p [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]";

uint16_t port(const std::string& text, const std::string& label) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    throw Error(label + ": " + (text.empty() ? "no port" : "not a port: " + text), kPublishForm);
  unsigned long n = std::stoul(text);
  if (n < 1 || n > 65535)
    throw Error(label + ": port " + text + " is out of range", "ports are 1 to 65535");
  return static_cast<uint16_t>(n);
}

}  // namespace

PortForward parse_publish(const std::string& text, const std::string& label) {
  PortForward f;
  f.text = text;
  std::string rest = text;
  if (size_t slash = rest.rfind('/'); slash != std::string::npos) {
    f.protocol = rest.substr(slash + 1);
    if (f.protocol != "tcp" && f.protocol != "udp")
      throw Error(label + ": not a protocol: " + f.protocol, "use /tcp or /udp");
    rest.erase(slash);
  }
  std::vector<std::string> parts = split(rest, ':');
  if (parts.size() == 3) {
    in_addr a;
    if (::inet_pton(AF_INET, parts[0].c_str(), &a) != 1)
      throw Error(label + ": not an IPv4 address: " + parts[0],
                  "give this host's address to listen on, e.g. 127.0.0.1 or 0.0.0.0");
    f.host_address = parts[0];
    parts.erase(parts.begin());
  }
  if (parts.size() != 2) throw Error(label + ": no host and guest ports", kPublishForm);
  f.host_port = port(parts[0], label);
  f.guest_port = port(parts[1], label);
  return f;
}

NetworkSpec guest_network(NetworkMode mode) {
  if (mode == NetworkMode::kNone) return {};
  return {std::string(kGuest) + kPrefix, kHost, kDns};
}

std::vector<std::string> network_qemu_args(NetworkMode mode,
                                           const std::vector<PortForward>& forwards) {
  if (mode == NetworkMode::kNone) return {};
  // The guest kernel has no IPv6: QEMU need not offer it.
  std::string netdev =
      std::string("user,id=net,ipv6=off,net=") + kNet + ",host=" + kHost + ",dns=" + kDns;
  for (const PortForward& f : forwards)
    netdev += ",hostfwd=" + f.protocol + ":" + f.host_address + ":" + std::to_string(f.host_port) +
              "-" + kGuest + ":" + std::to_string(f.guest_port);
  return {"-netdev", netdev, "-device", "virtio-net-device,netdev=net"};
}

}  // namespace execvm
