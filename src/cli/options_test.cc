#include "cli/options.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/paths.h"

namespace execvm {
namespace {

using Args = std::vector<std::string>;

RunOptions parse(Args args) {
  return parse_run_options(args).options;
}

int error_code(Args args) {
  try {
    parse_run_options(args);
  } catch (const Error& e) {
    return e.exit_code();
  }
  return 0;
}

TEST(RunOptions, CommandStopsOptionParsing) {
  auto o = parse({"--bare", "echo", "--memory", "-n", "--", "x"});
  EXPECT_TRUE(o.bare);
  EXPECT_EQ(o.command, (Args{"echo", "--memory", "-n", "--", "x"}));
  EXPECT_EQ(o.memory_mib, 512u);
}

TEST(RunOptions, DoubleDashIsDroppedOnce) {
  EXPECT_EQ(parse({"--", "-weird", "a"}).command, (Args{"-weird", "a"}));
  EXPECT_EQ(parse({"--", "--", "x"}).command, (Args{"--", "x"}));
  EXPECT_EQ(parse({"--bare", "--", ""}).command, (Args{""}));
}

TEST(RunOptions, Values) {
  auto o = parse({"--cpus", "2",     "--memory",  "1G",      "--timeout", "1.5s", "--accel",
                  "tcg",    "-e",    "A=1",       "-e",      "B",         "-w",   "/tmp",
                  "--tty",  "never", "--console", "--stats", "--kernel",  "/k",   "--boot-timeout",
                  "5s",     "true"});
  EXPECT_EQ(o.cpus, 2u);
  EXPECT_EQ(o.memory_mib, 1024u);
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.boot_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(o.accel, AccelRequest::kTcg);
  EXPECT_EQ(o.env, (Args{"A=1", "B"}));
  EXPECT_EQ(o.workdir, "/tmp");
  EXPECT_EQ(o.tty, TtyMode::kNever);
  EXPECT_TRUE(o.console);
  EXPECT_TRUE(o.stats);
  EXPECT_EQ(o.kernel, "/k");
  EXPECT_EQ(o.command, (Args{"true"}));
}

TEST(RunOptions, EnvTakesOneValueEach) {
  EXPECT_EQ(parse({"-e", "A=1", "echo", "hi"}).command, (Args{"echo", "hi"}));
}

TEST(RunOptions, HostRootOptions) {
  RunOptions o =
      parse({"-v", "/a:/b:ro", "--volume", "c", "--share-fs", "9p", "--sudo", "--", "x"});
  ASSERT_EQ(o.volumes.size(), 2u);
  EXPECT_EQ(o.volumes[0], (Volume{"/a", "/b", true, "/a:/b:ro"}));
  EXPECT_EQ(o.volumes[1].text, "c");
  EXPECT_EQ(o.volumes[1].host, current_directory() + "/c");  // relative to where execvm runs
  EXPECT_EQ(o.share_fs, ShareFs::k9p);
  EXPECT_TRUE(o.sudo);
  EXPECT_FALSE(o.bare);
  EXPECT_EQ(o.origins.at("share-fs"), "command line");
  EXPECT_EQ(o.origins.at("volume c"), "command line");
  EXPECT_EQ(parse({"x"}).share_fs, ShareFs::kAuto);
  EXPECT_EQ(parse({"x"}).origins.count("share-fs"), 0u);
}

TEST(RunOptions, BadInputIsExit125) {
  for (Args bad : {Args{}, Args{"--bogus", "x"}, Args{"--memory"}, Args{"--memory", "12K", "x"},
                   Args{"--cpus", "0", "x"}, Args{"--cpus", "two", "x"},
                   Args{"--timeout", "soon", "x"}, Args{"--timeout", "0", "x"},
                   Args{"--accel", "hvf", "x"}, Args{"--tty", "maybe", "x"}, Args{"-e", "=x", "y"},
                   Args{"--bare"}, Args{"--share-fs", "nfs", "x"}, Args{"--bare", "-v", "/a", "x"}})
    EXPECT_EQ(error_code(bad), 125) << (bad.empty() ? "(none)" : bad[0]);
}

TEST(RunOptions, UnknownOptionsAreNamed) {
  try {
    parse_run_options({"--cpus", "2", "--bogus", "x"});
    FAIL() << "accepted --bogus";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown option --bogus");
  }
  // After COMMAND, everything is the command's.
  EXPECT_EQ(parse({"x", "--bogus"}).command, (Args{"x", "--bogus"}));
}

TEST(RunOptions, HelpAndVersion) {
  auto help = parse_run_options({"--help"});
  ASSERT_TRUE(help.output);
  EXPECT_NE(help.output->find("usage: execvm"), std::string::npos);
  EXPECT_NE(help.output->find("Exit status"), std::string::npos);
  auto version = parse_run_options({"--version"});
  ASSERT_TRUE(version.output);
  EXPECT_EQ(version.output->rfind("execvm ", 0), 0u);
}

}  // namespace
}  // namespace execvm
