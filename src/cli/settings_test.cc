#include "cli/settings.h"

#include <gtest/gtest.h>

#include "initramfs/testing.h"

namespace execvm {
namespace {

using testing::TempDir;

TEST(Settings, CommandLineOverProjectFileOverDefaults) {
  TempDir t;
  t.mkdir("repo");
  t.mkdir("repo/.git");
  t.mkdir("repo/sub");
  t.write("repo/.execvm.toml",
          "cpus = 2\nmemory = \"1G\"\nsudo = true\nshare-fs = \"9p\"\n"
          "volumes = [\"data:/data:ro\"]\n[env]\nA = \"file\"\n");
  ParsedRun parsed = parse_run_options(
      {"--cpus", "3", "-w", t / "repo/sub", "-e", "A=cli", "-v", "/tmp:/mnt", "--", "true"});
  RunOptions& o = parsed.options;
  apply_project_file(o);
  EXPECT_EQ(o.project_file, t / "repo/.execvm.toml");
  EXPECT_EQ(o.cpus, 3u);
  EXPECT_EQ(o.memory_mib, 1024u);
  EXPECT_TRUE(o.sudo);
  EXPECT_EQ(o.share_fs, ShareFs::k9p);
  // The file's come first: a later -e or -v of the command line wins.
  EXPECT_EQ(o.env, (std::vector<std::string>{"A=file", "A=cli"}));
  EXPECT_EQ(o.volumes, (std::vector<std::string>{t / "repo/data:/data:ro", "/tmp:/mnt"}));

  auto settings = describe_settings(o);
  auto origin = [&](const std::string& setting) {
    for (const auto& [s, from] : settings)
      if (s == setting) return from;
    return std::string("(not shown)");
  };
  EXPECT_EQ(origin("cpus 3"), "command line");
  EXPECT_EQ(origin("memory 1024M"), t / "repo/.execvm.toml:2");
  EXPECT_EQ(origin("timeout none"), "default");
  EXPECT_EQ(origin("env A=cli"), "command line");
  EXPECT_EQ(origin("volume " + t / "repo/data:/data:ro"), t / "repo/.execvm.toml:5");
}

TEST(Settings, NoProjectFileChangesNothing) {
  TempDir t;
  ParsedRun parsed = parse_run_options({"-w", t.path(), "true"});
  RunOptions before = parsed.options;
  apply_project_file(parsed.options);
  EXPECT_EQ(parsed.options.project_file, "");
  EXPECT_EQ(parsed.options.cpus, before.cpus);
  EXPECT_TRUE(parsed.options.env.empty());
}

}  // namespace
}  // namespace execvm
