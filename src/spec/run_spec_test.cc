#include "spec/run_spec.h"

#include <gtest/gtest.h>

namespace execvm {
namespace {

TEST(RunSpec, RoundTripsByteExact) {
  RunSpec spec;
  spec.argv = {"/bin/echo", "", "a b", "it's \"quoted\"", std::string("\xff\xfe\0x", 4),
               "\xc3\xa9"};
  spec.env = {"PATH=/bin", std::string("BIN=\x80", 5), "EMPTY="};
  spec.cwd = "/work/d\xe9j\xe0";
  spec.uid = 1000;
  spec.gid = 1000;
  spec.groups = {4, 24, 1000};
  spec.user = "nobody:users";
  spec.umask = 077;
  spec.ignored_signals = {1, 2};
  spec.tty = true;
  spec.rows = 40;
  spec.cols = 120;
  spec.stderr_to_stdout = true;
  spec.closed_fds = {2};
  spec.stack_limit = ~uint64_t{0};
  spec.root = {"root", "/", "virtiofs", "", true};
  spec.mounts = {{"/home/u/src", "/home/u/src", "bind", "", false},
                 {"share1", "/data", "9p", "trans=virtio,cache=mmap", true}};
  spec.outputs = {"/tmp/out.json", "relative/dir", "/tmp/\xff\xfe"};
  RunSpec back = spec_from_json(spec_to_json(spec));
  EXPECT_EQ(back, spec);
}

TEST(RunSpec, RoundTripsIsolation) {
  RunSpec spec;
  spec.argv = {"ping", "-c", "1", "10.0.2.2"};
  spec.capabilities = default_capabilities();
  spec.network = {"10.0.2.15/24", "10.0.2.2", "10.0.2.3"};
  std::string json = spec_to_json(spec);
  EXPECT_NE(json.find("\"CAP_NET_RAW\""), std::string::npos) << json;
  EXPECT_EQ(spec_from_json(json), spec);
  // No capabilities at all is a confinement too, unlike none given.
  spec.capabilities = 0;
  spec.network = {};
  RunSpec back = spec_from_json(spec_to_json(spec));
  EXPECT_EQ(back, spec);
  ASSERT_TRUE(back.capabilities);
  EXPECT_EQ(spec_to_json(spec).find("network"), std::string::npos);
  spec.capabilities.reset();
  EXPECT_FALSE(spec_from_json(spec_to_json(spec)).capabilities);
}

TEST(RunSpec, NonUtf8BecomesBase64Object) {
  RunSpec spec;
  spec.argv = {"\xff"};
  EXPECT_NE(spec_to_json(spec).find("{\"base64\":\"/w==\"}"), std::string::npos);
}

TEST(RunSpec, RejectsBadInput) {
  for (auto bad : {"",
                   "[]",
                   "{}",
                   "{\"argv\": []}",
                   "{\"argv\": \"ls\"}",
                   "{\"argv\": [1]}",
                   "{\"argv\": [\"ls\"], \"uid\": \"0\"}",
                   "{\"argv\": [{\"base64\": \"!!\"}]}",
                   "{\"argv\": [\"ls\"], \"tty\": 1}",
                   "{\"argv\": [\"ls\"], \"groups\": [-1]}",
                   "{\"argv\": [\"ls\"], \"mounts\": [1]}",
                   "{\"argv\": [\"ls\"], \"ignored_signals\": [0]}",
                   "{\"argv\": [\"ls\"], \"closed_fds\": [0]}",
                   "{\"argv\": [\"ls\"], \"closed_fds\": 1}",
                   "{\"argv\": [\"ls\"], \"outputs\": \"/x\"}",
                   "{\"argv\": [\"ls\"], \"outputs\": [\"\"]}",
                   "{\"argv\": [\"ls\"], \"outputs\": [2]}",
                   "{\"argv\": [\"ls\"], \"confinement\": []}",
                   "{\"argv\": [\"ls\"], \"confinement\": {\"capabilities\": [\"CAP_NOPE\"]}}",
                   "{\"argv\": [\"ls\"], \"confinement\": {\"capabilities\": [13]}}",
                   "{\"argv\": [\"ls\"], \"network\": {\"address\": \"10.0.2.15/24\"}}"})
    EXPECT_THROW(spec_from_json(bad), SpecError) << bad;
}

TEST(RunSpec, DefaultsForMissingFields) {
  RunSpec spec = spec_from_json("{\"argv\": [\"true\"]}");
  EXPECT_EQ(spec.cwd, "/");
  EXPECT_EQ(spec.uid, 0u);
  EXPECT_FALSE(spec.tty);
  EXPECT_TRUE(spec.outputs.empty());
}

}  // namespace
}  // namespace execvm
