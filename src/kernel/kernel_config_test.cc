#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/embedded.h"
#include "kernel/kernel.h"

namespace execvm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(KernelConfig, HashIsStableAnd12Hex) {
  std::string hash = kernel_config_hash();
  EXPECT_EQ(hash.size(), 12u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << hash;
  EXPECT_EQ(kernel_config_hash(), hash);
}

TEST(KernelConfig, ParsesSetAndNotSet) {
  auto symbols = parse_kernel_config(
      "# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S=\"a b\"\nCONFIG_N=64\n"
      "CONFIG_A=m\nnot a line\n");
  EXPECT_EQ(symbols.size(), 4u);
  EXPECT_EQ(symbols["CONFIG_A"], "m");  // a later line wins
  EXPECT_EQ(symbols["CONFIG_B"], "n");
  EXPECT_EQ(symbols["CONFIG_S"], "\"a b\"");
  EXPECT_EQ(symbols["CONFIG_N"], "64");
}

TEST(KernelConfig, MismatchesYesAgainstMissingOrOther) {
  EXPECT_THAT(config_mismatches("CONFIG_A=y\n", "CONFIG_A=y\n"), IsEmpty());
  EXPECT_THAT(config_mismatches("CONFIG_A=y\n", "CONFIG_B=y\n"),
              ElementsAre("CONFIG_A: wanted y, got absent"));
  EXPECT_THAT(config_mismatches("CONFIG_A=y\n", "# CONFIG_A is not set\n"),
              ElementsAre("CONFIG_A: wanted y, got not set"));
  EXPECT_THAT(config_mismatches("CONFIG_A=y\n", "CONFIG_A=m\n"),
              ElementsAre("CONFIG_A: wanted y, got m"));
}

TEST(KernelConfig, MismatchesNoMeansNotSetOrAbsent) {
  EXPECT_THAT(config_mismatches("CONFIG_A=n\n", "# CONFIG_A is not set\n"), IsEmpty());
  EXPECT_THAT(config_mismatches("CONFIG_A=n\n", ""), IsEmpty());
  EXPECT_THAT(config_mismatches("# CONFIG_A is not set\n", "CONFIG_B=y\n"), IsEmpty());
  EXPECT_THAT(config_mismatches("CONFIG_A=n\n", "CONFIG_A=y\n"),
              ElementsAre("CONFIG_A: wanted not set, got y"));
}

TEST(KernelConfig, MismatchesStringsAndNumbers) {
  std::string config = "CONFIG_NR_CPUS=64\nCONFIG_CMDLINE=\"quiet\"\nCONFIG_X=0x10\n";
  EXPECT_THAT(config_mismatches("CONFIG_NR_CPUS=64\nCONFIG_CMDLINE=\"quiet\"\n", config),
              IsEmpty());
  EXPECT_THAT(config_mismatches("CONFIG_NR_CPUS=8\n", config),
              ElementsAre("CONFIG_NR_CPUS: wanted 8, got 64"));
  EXPECT_THAT(config_mismatches("CONFIG_CMDLINE=\"loud\"\n", config),
              ElementsAre("CONFIG_CMDLINE: wanted \"loud\", got \"quiet\""));
}

TEST(KernelConfig, MismatchesKeepFragmentOrderAndLastValue) {
  std::string fragment = "# a comment\nCONFIG_Z=y\nCONFIG_A=y\nCONFIG_Z=n\nCONFIG_M=y\n";
  EXPECT_THAT(config_mismatches(fragment, "CONFIG_Z=y\n"),
              ElementsAre("CONFIG_Z: wanted not set, got y", "CONFIG_A: wanted y, got absent",
                          "CONFIG_M: wanted y, got absent"));
}

TEST(KernelConfig, OwnFragmentHasEverythingExecvmNeeds) {
  EXPECT_THAT(missing_kernel_features(std::string(embedded_kernel_config())), IsEmpty());
}

TEST(KernelConfig, MissingFeaturesOfATinyConfig) {
  std::string config =
      "CONFIG_VIRTIO_MMIO=y\n# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set\n"
      "CONFIG_VIRTIO_CONSOLE=m\nCONFIG_9P_FS=y\n";
  auto missing = missing_kernel_features(config);
  ASSERT_FALSE(missing.empty());
  EXPECT_THAT(missing[0], HasSubstr("CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES ("));
  EXPECT_THAT(missing[1], HasSubstr("CONFIG_VIRTIO_CONSOLE ("));
  EXPECT_THAT(missing[1], HasSubstr("module"));
  bool share = false;
  for (const auto& item : missing) {
    EXPECT_EQ(item.find("CONFIG_VIRTIO_MMIO ("), std::string::npos) << item;
    if (item.find("CONFIG_VIRTIO_FS or CONFIG_9P_FS with CONFIG_NET_9P_VIRTIO") == 0) share = true;
  }
  EXPECT_TRUE(share);
  // With the modules at hand, =m is enough.
  auto with_modules = missing_kernel_features(config, true);
  EXPECT_EQ(with_modules.size(), missing.size() - 1);
}

TEST(KernelConfig, AcpiKernelNeedsNoCommandLineDevices) {
  std::string config = "CONFIG_ACPI=y\n# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set\n";
  for (const auto& item : missing_kernel_features(config))
    EXPECT_EQ(item.find("CMDLINE_DEVICES"), std::string::npos) << item;
}

TEST(KernelConfig, MakefileVersion) {
  EXPECT_EQ(kernel_makefile_version("# SPDX\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\n"
                                    "EXTRAVERSION =\nNAME = Baby Opossum Posse\n"),
            "6.12.117");
  EXPECT_EQ(kernel_makefile_version("VERSION = 6\nPATCHLEVEL = 13\nSUBLEVEL = 0\n"
                                    "EXTRAVERSION = -rc1\n"),
            "6.13.0-rc1");
  EXPECT_EQ(kernel_makefile_version("all:\n\techo hi\n"), std::nullopt);
}

TEST(KernelConfig, CacheIdIsAFileName) {
  EXPECT_EQ(kernel_cache_id("6.12.117-1~deb12u1", "1a2b3c4d5e6f"),
            "6.12.117-1_deb12u1-1a2b3c4d5e6f");
  EXPECT_EQ(kernel_cache_id("6.12+x/y z", "abc"), "6.12+x_y_z-abc");
}

}  // namespace
}  // namespace execvm
