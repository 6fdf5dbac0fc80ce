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

TEST(QemuArgv, AtMostMicrovmsVirtioSlots) {
  // The channel and entropy take two; with the network, five 9p shares fit, six do not.
  VmConfig c = a_config();
  c.network = NetworkMode::kUser;
  for (int i = 0; i < 5; ++i)
    c.devices.insert(c.devices.end(), {"-fsdev", "local,id=s" + std::to_string(i), "-device",
                                       "virtio-9p-device,fsdev=s" + std::to_string(i)});
  EXPECT_NO_THROW(qemu_argv(c, 3, 4));
  c.devices.insert(c.devices.end(), {"-device", "virtio-blk-device,drive=d"});
  try {
    qemu_argv(c, 3, 4);
    ADD_FAILURE() << "nine devices were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("would need 9 virtio devices"), std::string::npos)
        << e.what();
  }
  c.network = NetworkMode::kNone;
  EXPECT_NO_THROW(qemu_argv(c, 3, 4));
}

}  // namespace
}  // namespace execvm
