#include "host/tsc.h"

#include <gtest/gtest.h>

namespace execvm {
namespace {

TEST(Tsc, MeasuresSomethingPlausible) {
  uint32_t khz = measure_tsc_khz();
  EXPECT_GT(khz, 100'000u);     // > 100 MHz
  EXPECT_LT(khz, 10'000'000u);  // < 10 GHz
}

TEST(Tsc, CacheIsValidOnlyForTheSameBoot) {
  EXPECT_EQ(parse_tsc_cache("abc 2445424\n", "abc"), 2445424u);
  EXPECT_EQ(parse_tsc_cache("abc 2445424\n", "def"), std::nullopt);
  EXPECT_EQ(parse_tsc_cache("abc\n", "abc"), std::nullopt);
  EXPECT_EQ(parse_tsc_cache("abc 0\n", "abc"), std::nullopt);
  EXPECT_EQ(parse_tsc_cache("", ""), std::nullopt);
}

}  // namespace
}  // namespace execvm
