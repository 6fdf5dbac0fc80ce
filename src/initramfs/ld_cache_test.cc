#include "initramfs/ld_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>

#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::make_ld_cache;

template <typename T>
void put(std::string& out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof value);
}

TEST(LdCache, PicksX8664EntriesFirstOneWins) {
  auto cache = LdCache::parse(make_ld_cache({
      {0x0003, "libz.so.1", "/usr/lib32/libz.so.1"},  // i386 libc6
      {0x0303, "libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"},
      {0x0303, "libz.so.1", "/usr/local/lib/libz.so.1"},
      {0x0303, "libm.so.6", "/opt/v3/libm.so.6", 1ull << 62},  // a glibc-hwcaps entry
      {0x0303, "libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6"},
  }));
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->lookup("libz.so.1"), "/lib/x86_64-linux-gnu/libz.so.1");
  EXPECT_EQ(cache->lookup("libm.so.6"), "/lib/x86_64-linux-gnu/libm.so.6");
  EXPECT_EQ(cache->lookup("libc.so.6"), std::nullopt);
  EXPECT_EQ(cache->size(), 2u);
}

TEST(LdCache, RejectsMalformedCaches) {
  std::string good = make_ld_cache({{0x0303, "libz.so.1", "/lib/libz.so.1"}});
  EXPECT_TRUE(LdCache::parse(good));
  EXPECT_FALSE(LdCache::parse(""));
  EXPECT_FALSE(LdCache::parse("ld.so-1.7.0"));
  EXPECT_FALSE(LdCache::parse(good.substr(0, 47)));
  EXPECT_FALSE(LdCache::parse(good.substr(0, 60)));                       // entries cut off
  EXPECT_FALSE(LdCache::parse(good.substr(0, good.size() - 1)));          // unterminated string
  EXPECT_FALSE(LdCache::parse(make_ld_cache({{0x0303, "a", "/a"}}, 3)));  // big-endian
  std::string huge = good;
  put<uint32_t>(huge, 20, 0xffffffff);
  EXPECT_FALSE(LdCache::parse(huge));
  std::string wild = good;
  put<uint32_t>(wild, 48 + 4, 0x7fffffff);  // a key offset past the end
  EXPECT_FALSE(LdCache::parse(wild));
}

TEST(LdCache, LoadIgnoresMissingAndBrokenFiles) {
  testing::TempDir dir;
  EXPECT_EQ(LdCache::load(dir / "missing").size(), 0u);
  EXPECT_EQ(LdCache::load(dir.write("garbage", "not a cache")).size(), 0u);
  auto cache =
      LdCache::load(dir.write("cache", make_ld_cache({{0x0303, "libq.so", "/q/libq.so"}})));
  EXPECT_EQ(cache.lookup("libq.so"), "/q/libq.so");
}

TEST(LdCache, TheHostCacheFindsLibc) {
  struct stat st;
  if (::stat("/etc/ld.so.cache", &st) != 0) GTEST_SKIP() << "no /etc/ld.so.cache";
  auto cache = LdCache::parse(read_file("/etc/ld.so.cache"));
  ASSERT_TRUE(cache) << "the host's cache should parse";
  auto libc = cache->lookup("libc.so.6");
  ASSERT_TRUE(libc);
  EXPECT_EQ(::stat(libc->c_str(), &st), 0) << *libc;
  EXPECT_TRUE(S_ISREG(st.st_mode)) << *libc;
}

}  // namespace
}  // namespace execvm
