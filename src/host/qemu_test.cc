#include "host/qemu.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "util/error.h"

namespace execvm {
namespace {

VmConfig a_config() {
  VmConfig c;
  c.qemu = "qemu-system-x86_64";
  c.kernel = "/k/vmlinux";
  c.initrd = "/proc/self/fd/5";
  return c;
}

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

TEST(QemuArgv, NoNetworkDeviceByDefault) {
  std::vector<std::string> argv = qemu_argv(a_config(), 3, 4);
  EXPECT_TRUE(has(argv, "-nodefaults"));  // else QEMU would add a NIC of its own
  for (const auto& arg : argv) {
    EXPECT_EQ(arg.find("netdev"), std::string::npos) << arg;
    EXPECT_EQ(arg.find("virtio-net"), std::string::npos) << arg;
  }
}

TEST(QemuArgv, UserNetwork) {
  VmConfig c = a_config();
  c.network = NetworkMode::kUser;
  c.publish = {parse_publish("8080:80", "-p")};
  std::vector<std::string> argv = qemu_argv(c, 3, 4);
  EXPECT_TRUE(has(argv, "virtio-net-device,netdev=net"));
  EXPECT_TRUE(has(argv,
                  "user,id=net,ipv6=off,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,"
                  "hostfwd=tcp:127.0.0.1:8080-10.0.2.15:80"));
}

}  // namespace
}  // namespace execvm
