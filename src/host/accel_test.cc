#include "host/accel.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace execvm {
namespace {

AccelFacts kvm_host(const char* module) {
  AccelFacts f;
  f.device_exists = f.device_usable = true;
  f.vendor_module = module;
  return f;
}

TEST(Accel, AutoPicksKvmOnlyWithAHardwareVendorModule) {
  EXPECT_EQ(choose_accel(AccelRequest::kAuto, kvm_host("kvm_intel")).accel, Accel::kKvm);
  EXPECT_EQ(choose_accel(AccelRequest::kAuto, kvm_host("kvm_amd")).accel, Accel::kKvm);
  auto pvm = choose_accel(AccelRequest::kAuto, kvm_host("kvm_pvm"));
  EXPECT_EQ(pvm.accel, Accel::kTcg);
  EXPECT_NE(pvm.reason.find("PVM"), std::string::npos);
}

TEST(Accel, AutoFallsBackToTcgWithAReason) {
  AccelFacts none;
  auto c = choose_accel(AccelRequest::kAuto, none);
  EXPECT_EQ(c.accel, Accel::kTcg);
  EXPECT_NE(c.reason.find("does not exist"), std::string::npos);
  AccelFacts denied = kvm_host("kvm_intel");
  denied.device_usable = false;
  denied.device_error = "cannot open /dev/kvm: Permission denied";
  c = choose_accel(AccelRequest::kAuto, denied);
  EXPECT_EQ(c.accel, Accel::kTcg);
  EXPECT_NE(c.reason.find("Permission denied"), std::string::npos);
}

TEST(Accel, ExplicitRequests) {
  EXPECT_EQ(choose_accel(AccelRequest::kTcg, kvm_host("kvm_intel")).accel, Accel::kTcg);
  EXPECT_EQ(choose_accel(AccelRequest::kKvm, kvm_host("kvm_amd")).accel, Accel::kKvm);
  EXPECT_THROW(choose_accel(AccelRequest::kKvm, kvm_host("kvm_pvm")), Error);
  EXPECT_THROW(choose_accel(AccelRequest::kKvm, AccelFacts{}), Error);
}

}  // namespace
}  // namespace execvm
