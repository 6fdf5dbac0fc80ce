#include "config/volume.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/error.h"

namespace execvm {
namespace {

using ::testing::HasSubstr;

TEST(Volume, Forms) {
  EXPECT_EQ(parse_volume("/data", "/w"), (Volume{"/data", "", false, "/data"}));
  EXPECT_EQ(parse_volume("/data:ro", "/w"), (Volume{"/data", "", true, "/data:ro"}));
  EXPECT_EQ(parse_volume("/data:rw", "/w"), (Volume{"/data", "", false, "/data:rw"}));
  EXPECT_EQ(parse_volume("/data:/in", "/w"), (Volume{"/data", "/in", false, "/data:/in"}));
  EXPECT_EQ(parse_volume("/data:/in:ro", "/w"), (Volume{"/data", "/in", true, "/data:/in:ro"}));
}

TEST(Volume, PathsAreAbsoluteAndNormal) {
  EXPECT_EQ(parse_volume("data", "/w").host, "/w/data");
  EXPECT_EQ(parse_volume("./a/../b/", "/w/x").host, "/w/x/b");
  EXPECT_EQ(parse_volume("..", "/w/x").host, "/w");
  EXPECT_EQ(parse_volume(".:/in", "/").host, "/");
  EXPECT_EQ(parse_volume("/a//b/.:/in/./x/", "/w").host, "/a/b");
  EXPECT_EQ(parse_volume("/a:/in/./x/", "/w").guest, "/in/x");
  EXPECT_EQ(parse_volume("/a:/in/./x/", "/w").text, "/a:/in/./x/");  // as written
}

// The message parse_volume gives for TEXT; its hint says what to write instead.
std::string refusal(std::string_view text) {
  try {
    parse_volume(text, "/w");
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_THAT(e.hint(), ::testing::AnyOf("the form is -v HOST[:GUEST][:ro|:rw]",
                                           "share it elsewhere, e.g. at /mnt"))
        << text;
    return e.what();
  }
  ADD_FAILURE() << "accepted -v " << text;
  return "";
}

TEST(Volume, BadSyntaxSaysWhatWasWritten) {
  EXPECT_EQ(refusal(""), "-v '': no host directory");
  EXPECT_EQ(refusal(":/in"), "-v :/in: no host directory");
  EXPECT_EQ(refusal("/a:in"), "-v /a:in: the guest path in is not absolute");
  EXPECT_EQ(refusal("/a:"), "-v /a:: the guest path '' is not absolute");
  EXPECT_EQ(refusal("/a:/b:rx"), "-v /a:/b:rx: rx is neither ro nor rw");
  EXPECT_EQ(refusal("/a:/b:ro:x"), "-v /a:/b:ro:x: too many colons");
  EXPECT_EQ(refusal("my dir:in"), "-v 'my dir:in': the guest path in is not absolute");
}

TEST(Volume, TheGuestsOwnDirectoriesAreRefused) {
  for (std::string guest : {"/", "/proc", "/proc/sys", "/sys", "/sys/fs/x", "/dev", "/dev/shm",
                            "/x/../proc", "/proc/"}) {
    std::string message = refusal("/data:" + guest);
    EXPECT_THAT(message, HasSubstr("is the guest's own")) << guest;
  }
  EXPECT_EQ(refusal("/data:/proc"), "-v /data:/proc: /proc is the guest's own");
  // Without GUEST, HOST is where the guest sees it.
  EXPECT_EQ(refusal("/dev"), "-v /dev: /dev is the guest's own");
  EXPECT_THAT(refusal("/"), HasSubstr("/ is the guest's own"));
  // Near names are not theirs.
  for (std::string guest : {"/procs", "/system", "/devices", "/mnt/proc"})
    EXPECT_EQ(parse_volume("/data:" + guest, "/w").guest, guest);
  EXPECT_EQ(parse_volume("/:/host", "/w").host, "/");  // the host's / elsewhere is fine
}

TEST(Volume, ALabelNamesWhereItCameFrom) {
  try {
    parse_volume(":x", "/w", "f.toml:1:12: volume \":x\"");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "f.toml:1:12: volume \":x\": no host directory");
  }
}

}  // namespace
}  // namespace execvm
