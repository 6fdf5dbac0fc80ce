#include "guest/network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/system.h"
#include "util/fd.h"
#include "util/strings.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm::guest {
namespace {

const NetworkSpec kUserNet{"10.0.2.15/24", "10.0.2.2", "10.0.2.3"};

TEST(GuestNetwork, TheInterfaceIsTheOneButLo) {
  testing::TempDir dir;
  dir.mkdir("lo");
  EXPECT_EQ(find_network_interface(dir.path()), "");
  dir.mkdir("eth1");
  dir.mkdir("eth0");
  EXPECT_EQ(find_network_interface(dir.path()), "eth0");
  EXPECT_EQ(find_network_interface(dir / "missing"), "");
}

TEST(GuestNetwork, RefusesBadAddresses) {
  for (const NetworkSpec& bad :
       {NetworkSpec{"10.0.2.15", "10.0.2.2", ""}, NetworkSpec{"10.0.2.15/33", "10.0.2.2", ""},
        NetworkSpec{"10.0.2.15/", "10.0.2.2", ""}, NetworkSpec{"10.0.2/24", "10.0.2.2", ""},
        NetworkSpec{"10.0.2.15/24", "gateway", ""}})
    EXPECT_THROW(configure_interface("lo", bad), Error) << bad.address << " " << bad.gateway;
}

// In a network namespace of its own (a child's), lo stands for the guest's eth0: the address,
// the netmask, up, and the default route, as the kernel then reports them.
TEST(GuestNetwork, ConfiguresAnInterface) {
  if (::geteuid() != 0) GTEST_SKIP() << "a network namespace needs root";
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string out;
    try {
      if (::unshare(CLONE_NEWNET) < 0) throw_errno("unshare");
      // Up first: bringing lo up gives it 127.0.0.1 as well, which the address then replaces.
      bring_up_loopback();
      configure_interface("lo", kUserNet);
      Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      for (unsigned long request : {SIOCGIFADDR, SIOCGIFNETMASK}) {
        ifreq ifr{};
        std::strcpy(ifr.ifr_name, "lo");
        if (::ioctl(sock.get(), request, &ifr) < 0) throw_errno("ioctl");
        out +=
            std::string(inet_ntoa(reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr)->sin_addr)) + " ";
      }
      ifreq ifr{};
      std::strcpy(ifr.ifr_name, "lo");
      if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) throw_errno("ioctl");
      out += (ifr.ifr_flags & IFF_UP) ? "up\n" : "down\n";
      out += read_file("/proc/self/net/route");
    } catch (const std::exception& e) {
      out = std::string("error: ") + e.what();
    }
    write_all(write_end.get(), out);
    ::_exit(0);
  }
  write_end.reset();
  std::string out = read_all(read_end.get());
  int status;
  ::waitpid(pid, &status, 0);
  auto lines = split(out, '\n');
  ASSERT_GE(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0], "10.0.2.15 255.255.255.0 up");
  // The default route: destination 0, gateway 10.0.2.2, flags RTF_UP|RTF_GATEWAY (in the
  // kernel's hexadecimal, the addresses in network order read as little-endian words).
  bool found = false;
  for (const auto& line : lines) {
    auto f = split(line, '\t');
    if (f.size() > 3 && f[0] == "lo" && f[1] == "00000000")
      found = f[2] == "0202000A" && f[3] == "0003";
  }
  EXPECT_TRUE(found) << out;
}

TEST(GuestNetwork, ResolvConfReplacesWhatIsThereWithoutFollowingIt) {
  testing::TempDir dir;
  dir.mkdir("etc");
  std::string outside = dir.write("outside", "nameserver 127.0.0.53\n");
  ASSERT_EQ(::symlink(outside.c_str(), (dir / "etc/resolv.conf").c_str()), 0);
  write_resolv_conf(kUserNet, dir / "etc");
  EXPECT_EQ(read_file(dir / "etc/resolv.conf"), "nameserver 10.0.2.3\n");
  EXPECT_EQ(read_file(outside), "nameserver 127.0.0.53\n");
  struct stat st;
  ASSERT_EQ(::lstat((dir / "etc/resolv.conf").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  // And once more over its own file.
  write_resolv_conf(kUserNet, dir / "etc");
  EXPECT_EQ(read_file(dir / "etc/resolv.conf"), "nameserver 10.0.2.3\n");
  EXPECT_THROW(write_resolv_conf(kUserNet, dir / "missing"), Error);
}

TEST(GuestNetwork, TheKernelsViewsAreNotTheGuestsOwn) {
  EXPECT_FALSE(is_guest_own("/proc"));
  EXPECT_FALSE(is_guest_own("/sys"));
  EXPECT_FALSE(is_guest_own("/nonexistent-execvm"));
}

}  // namespace
}  // namespace execvm::guest
