#include "spec/capabilities.h"

#include <gtest/gtest.h>
#include <linux/capability.h>

namespace execvm {
namespace {

TEST(Capabilities, NamesAsTheKernelNumbersThem) {
  EXPECT_EQ(capability_number("CHOWN"), CAP_CHOWN);
  EXPECT_EQ(capability_number("CAP_NET_RAW"), CAP_NET_RAW);
  EXPECT_EQ(capability_number("net_raw"), CAP_NET_RAW);
  EXPECT_EQ(capability_number("Cap_Sys_Admin"), CAP_SYS_ADMIN);
  EXPECT_EQ(capability_number("SYS_BOOT"), CAP_SYS_BOOT);
  EXPECT_EQ(capability_number("AUDIT_WRITE"), CAP_AUDIT_WRITE);
  EXPECT_EQ(capability_number("PERFMON"), CAP_PERFMON);
  EXPECT_EQ(capability_number("BPF"), CAP_BPF);
  EXPECT_EQ(capability_number("CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
  EXPECT_EQ(kLastCapability, CAP_LAST_CAP);
  for (auto bad : {"", "CAP_", "NET", "ALL", "CAP_ALL", "NET_RAW ", "41", "CAP_NET-RAW"})
    EXPECT_FALSE(capability_number(bad)) << bad;
  for (int i = 0; i <= kLastCapability; ++i)
    EXPECT_EQ(capability_number(capability_name(i)), i) << capability_name(i);
}

TEST(Capabilities, DockersDefaultSet) {
  // What `docker run` shows as CapBnd and, for root, CapEff.
  EXPECT_EQ(default_capabilities(), 0xa80425fbu);
  EXPECT_EQ(capability_names(default_capabilities()).size(), 14u);
  EXPECT_EQ(all_capabilities(), 0x1ffffffffffu);
}

TEST(Capabilities, SetsByName) {
  EXPECT_EQ(capability_set({"CHOWN", "cap_kill"}), (1u << CAP_CHOWN) | (1u << CAP_KILL));
  EXPECT_EQ(capability_set({}), 0u);
  EXPECT_FALSE(capability_set({"CHOWN", "NOPE"}));
  EXPECT_EQ(capability_names((1u << CAP_KILL) | (1u << CAP_CHOWN)),
            (std::vector<std::string>{"CAP_CHOWN", "CAP_KILL"}));
  EXPECT_EQ(capability_set(capability_names(default_capabilities())), default_capabilities());
}

TEST(Capabilities, DockersRulesForAddAndDrop) {
  const CapabilitySet base = default_capabilities();
  const CapabilitySet raw = CapabilitySet{1} << CAP_NET_RAW;
  const CapabilitySet admin = CapabilitySet{1} << CAP_SYS_ADMIN;
  EXPECT_EQ(adjust_capabilities(base, {}, {}), base);
  EXPECT_EQ(adjust_capabilities(base, {}, {"NET_RAW"}), base & ~raw);
  EXPECT_EQ(adjust_capabilities(base, {"sys_admin"}, {}), base | admin);
  EXPECT_EQ(adjust_capabilities(base, {}, {"ALL"}), 0u);
  EXPECT_EQ(adjust_capabilities(base, {"NET_RAW"}, {"all"}), raw);
  EXPECT_EQ(adjust_capabilities(base, {"ALL"}, {}), all_capabilities());
  EXPECT_EQ(adjust_capabilities(base, {"ALL"}, {"SYS_ADMIN"}), all_capabilities() & ~admin);
  // An added capability wins over the same one dropped, as in docker.
  EXPECT_EQ(adjust_capabilities(base, {"SYS_ADMIN"}, {"SYS_ADMIN", "NET_RAW"}),
            (base & ~raw) | admin);
  EXPECT_THROW(adjust_capabilities(base, {"NOPE"}, {}), std::invalid_argument);
  EXPECT_TRUE(is_capability_or_all("all"));
  EXPECT_TRUE(is_capability_or_all("CAP_SYS_ADMIN"));
  EXPECT_FALSE(is_capability_or_all("CAP_ALL"));
}

}  // namespace
}  // namespace execvm
