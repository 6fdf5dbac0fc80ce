#include "guest/user.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace execvm::guest {
namespace {

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n"
    "broken line\n"
    "nohome:x:1002:1002::::\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "staff:x:50:app\n"
    "appgroup:x:1001:\n";

TEST(ResolveUser, NameTakesItsEntry) {
  ResolvedUser u = resolve_user("app", kPasswd, kGroup);
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 1001u);
  EXPECT_EQ(u.home, "/home/app");
  EXPECT_EQ(u.groups, (std::vector<gid_t>{10, 50}));
}

TEST(ResolveUser, NumberFindsItsEntryOrStandsAlone) {
  ResolvedUser root = resolve_user("0", kPasswd, kGroup);
  EXPECT_EQ(root.home, "/root");
  EXPECT_EQ(root.groups, (std::vector<gid_t>{10}));
  ResolvedUser stranger = resolve_user("4242", kPasswd, kGroup);
  EXPECT_EQ(stranger.uid, 4242u);
  EXPECT_EQ(stranger.gid, 0u);
  EXPECT_EQ(stranger.home, "/");
  EXPECT_TRUE(stranger.groups.empty());
}

TEST(ResolveUser, GroupByNameOrNumber) {
  EXPECT_EQ(resolve_user("app:staff", kPasswd, kGroup).gid, 50u);
  EXPECT_TRUE(resolve_user("app:staff", kPasswd, kGroup).groups.empty());
  EXPECT_EQ(resolve_user("1000:1000", kPasswd, kGroup).gid, 1000u);
  EXPECT_EQ(resolve_user("1000:1000", kPasswd, kGroup).uid, 1000u);
  EXPECT_EQ(resolve_user("5:7", "", "").gid, 7u);
}

TEST(ResolveUser, EmptyHomeIsRoot) {
  EXPECT_EQ(resolve_user("nohome", kPasswd, kGroup).home, "/");
}

TEST(ResolveUser, UnknownNamesAreErrors) {
  EXPECT_THROW(resolve_user("nobody", kPasswd, kGroup), Error);
  EXPECT_THROW(resolve_user("app:nogroup", kPasswd, kGroup), Error);
  EXPECT_THROW(resolve_user("", kPasswd, kGroup), Error);
  EXPECT_THROW(resolve_user("app:", kPasswd, kGroup), Error);
  try {
    resolve_user("nobody", "", "");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unable to find user nobody"), std::string::npos);
  }
}

}  // namespace
}  // namespace execvm::guest
