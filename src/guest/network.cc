#include "guest/network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/sys.h"

namespace execvm::guest {

namespace {

// Filesystem types (linux/magic.h) that live in the guest's RAM.
constexpr long kTmpfsMagic = 0x01021994;
constexpr long kRamfsMagic = 0x858458f6;
constexpr long kOverlayMagic = 0x794c7630;

in_addr parse_address(const std::string& text, const std::string& what) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1)
    throw Error("the network's " + what + " " + text + " is not an IPv4 address");
  return a;
}

sockaddr ipv4(in_addr address) {
  sockaddr out{};
  auto* in = reinterpret_cast<sockaddr_in*>(&out);
  in->sin_family = AF_INET;
  in->sin_addr = address;
  return out;
}

ifreq request(const std::string& name) {
  ifreq ifr{};
  if (name.empty() || name.size() >= IFNAMSIZ) throw Error("bad interface name " + name);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  return ifr;
}

}  // namespace

std::string find_network_interface(const std::string& sys_class_net) {
  for (const auto& name : directory_names(sys_class_net))
    if (name != "lo") return name;
  return "";
}

void configure_interface(const std::string& name, const NetworkSpec& network) {
  size_t slash = network.address.find('/');
  std::string prefix_text = slash == std::string::npos ? "" : network.address.substr(slash + 1);
  if (prefix_text.empty() || prefix_text.size() > 2 ||
      prefix_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(prefix_text) > 32)
    throw Error("the network's address " + network.address + " has no prefix length (/0 to /32)");
  int prefix = std::stoi(prefix_text);
  in_addr address = parse_address(network.address.substr(0, slash), "address");
  in_addr gateway = parse_address(network.gateway, "gateway");
  in_addr netmask{htonl(prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix))};

  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("socket for configuring " + name);
  // Its address and the network it is on.
  ifreq ifr = request(name);
  ifr.ifr_addr = ipv4(address);
  if (::ioctl(sock.get(), SIOCSIFADDR, &ifr) < 0) throw_errno("set the address of " + name);
  ifr = request(name);
  ifr.ifr_netmask = ipv4(netmask);
  if (::ioctl(sock.get(), SIOCSIFNETMASK, &ifr) < 0) throw_errno("set the netmask of " + name);
  // Up.
  ifr = request(name);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) throw_errno("read the flags of " + name);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) throw_errno("bring up " + name);
  // Everything beyond its network through the gateway.
  rtentry route{};
  route.rt_dst = ipv4(in_addr{});
  route.rt_genmask = ipv4(in_addr{});
  route.rt_gateway = ipv4(gateway);
  route.rt_flags = RTF_UP | RTF_GATEWAY;
  std::string device = name;
  route.rt_dev = device.data();
  if (::ioctl(sock.get(), SIOCADDRT, &route) < 0)
    throw_errno("add the default route via " + network.gateway);
}

void configure_network(const NetworkSpec& network) {
  std::string name = find_network_interface();
  if (name.empty())
    throw Error("the guest has no network device", "check that the kernel has CONFIG_VIRTIO_NET");
  configure_interface(name, network);
}

bool is_guest_own(const std::string& dir) {
  struct statfs fs;
  if (::statfs(dir.c_str(), &fs) < 0) return false;
  long type = static_cast<long>(fs.f_type);
  return type == kTmpfsMagic || type == kRamfsMagic || type == kOverlayMagic;
}

void write_resolv_conf(const NetworkSpec& network, const std::string& etc_dir) {
  std::string path = etc_dir + "/resolv.conf";
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno("remove " + path);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd || !write_all(fd.get(), "nameserver " + network.dns + "\n")) throw_errno("write " + path);
}

void set_up_network(const NetworkSpec& network) {
  if (network.address.empty()) return;
  configure_network(network);
  if (!network.dns.empty() && is_guest_own("/etc")) write_resolv_conf(network, "/etc");
}

}  // namespace execvm::guest
