#include "host/network.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace execvm {
namespace {

TEST(Publish, TheFormsDockerTakes) {
  PortForward f = parse_publish("8080:80", "-p 8080:80");
  EXPECT_EQ(f, (PortForward{"8080:80", "tcp", "127.0.0.1", 8080, 80}));
  EXPECT_EQ(parse_publish("0.0.0.0:5353:53/udp", "-p"),
            (PortForward{"0.0.0.0:5353:53/udp", "udp", "0.0.0.0", 5353, 53}));
  EXPECT_EQ(parse_publish("192.168.1.2:1:65535/tcp", "-p"),
            (PortForward{"192.168.1.2:1:65535/tcp", "tcp", "192.168.1.2", 1, 65535}));
}

TEST(Publish, RefusesWhatItCannotForward) {
  const std::string form = "the form is -p [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]";
  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"80", "-p 80: no host and guest ports: " + form},
           {"", "-p : no host and guest ports: " + form},
           {"1:2:3:4", "-p 1:2:3:4: no host and guest ports: " + form},
           {":80", "-p :80: no port: " + form},
           {"8080:http", "-p 8080:http: not a port: http: " + form},
           {"8080:80/sctp", "-p 8080:80/sctp: not a protocol: sctp: use /tcp or /udp"},
           {"0:80", "-p 0:80: port 0 is out of range: ports are 1 to 65535"},
           {"65536:80", "-p 65536:80: port 65536 is out of range: ports are 1 to 65535"},
           {"localhost:8080:80",
            "-p localhost:8080:80: not an IPv4 address: localhost: give this host's address to "
            "listen on, e.g. 127.0.0.1 or 0.0.0.0"},
           {"[::1]:8080:80", "-p [::1]:8080:80: no host and guest ports: " + form},
       }) {
    try {
      parse_publish(text, "-p " + text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.message(), message);
    }
  }
}

TEST(Network, NoneHasNoDevice) {
  EXPECT_TRUE(network_qemu_args(NetworkMode::kNone, {}).empty());
  EXPECT_EQ(guest_network(NetworkMode::kNone), NetworkSpec{});
}

TEST(Network, UserModeWithForwards) {
  std::vector<PortForward> forwards = {parse_publish("8080:80", "-p"),
                                       parse_publish("0.0.0.0:5353:53/udp", "-p")};
  EXPECT_EQ(network_qemu_args(NetworkMode::kUser, forwards),
            (std::vector<std::string>{
                "-netdev",
                "user,id=net,ipv6=off,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,"
                "hostfwd=tcp:127.0.0.1:8080-10.0.2.15:80,hostfwd=udp:0.0.0.0:5353-10.0.2.15:53",
                "-device", "virtio-net-device,netdev=net"}));
  // What the guest is told matches what QEMU is told.
  EXPECT_EQ(guest_network(NetworkMode::kUser),
            (NetworkSpec{"10.0.2.15/24", "10.0.2.2", "10.0.2.3"}));
}

}  // namespace
}  // namespace execvm
