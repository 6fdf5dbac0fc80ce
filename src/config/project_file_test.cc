#include "config/project_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "initramfs/testing.h"
#include "util/error.h"

namespace execvm {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::TempDir;

// The Error that reading a project file holding TEXT throws; fails the test when none is thrown.
Error read_error(const TempDir& dir, std::string_view text) {
  std::string path = dir.write(".execvm.toml", text);
  try {
    read_project_file(path);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return Error("");
}

// Expects TEXT to be refused with a message that starts with the file and LINE_COL and holds
// every one of WORDS.
void expect_error(std::string_view text, const std::string& line_col,
                  const std::vector<std::string>& words) {
  TempDir dir;
  Error e = read_error(dir, text);
  EXPECT_EQ(e.exit_code(), kExitFailure);
  // "LINE:" checks the line alone; "LINE:COLUMN" both.
  std::string prefix = dir / ".execvm.toml:" + line_col;
  if (line_col.back() != ':') prefix += ": ";
  EXPECT_THAT(e.what(), ::testing::StartsWith(prefix)) << text;
  for (const auto& word : words) EXPECT_THAT(e.message(), HasSubstr(word)) << text;
}

TEST(ProjectFile, FullFile) {
  TempDir dir;
  std::string path = dir.write(".execvm.toml", R"(# settings
kernel = "/boot/vmlinuz"
cpus = 2
memory = "1G"
sudo = true
accel = "kvm"
share-fs = "9p"
timeout = "10m"
volumes = [
  "/data:/data:ro",
  "cache:/var/cache/thing",
]
[env]
ZZZ = "last name, first line"
GOFLAGS = "-count=1"
EMPTY = ""
)");
  ProjectFile f = read_project_file(path);
  EXPECT_EQ(f.path, path);
  ASSERT_TRUE(f.kernel && f.cpus && f.memory_mib && f.sudo && f.accel && f.share_fs && f.timeout);
  EXPECT_EQ(f.kernel->value, "/boot/vmlinuz");
  EXPECT_EQ(f.kernel->origin, path + ":2");
  EXPECT_EQ(f.cpus->value, 2u);
  EXPECT_EQ(f.cpus->origin, path + ":3");
  EXPECT_EQ(f.memory_mib->value, 1024u);
  EXPECT_TRUE(f.sudo->value);
  EXPECT_EQ(f.accel->value, "kvm");
  EXPECT_EQ(f.share_fs->value, "9p");
  EXPECT_EQ(f.share_fs->origin, path + ":7");
  EXPECT_EQ(f.timeout->value, std::chrono::minutes(10));
  ASSERT_EQ(f.volumes.size(), 2u);
  EXPECT_EQ(f.volumes[0].value, "/data:/data:ro");
  EXPECT_EQ(f.volumes[0].origin, path + ":10");
  EXPECT_EQ(f.volumes[1].value, dir / "cache:/var/cache/thing");
  EXPECT_EQ(f.volumes[1].origin, path + ":11");
  ASSERT_EQ(f.env.size(), 3u);
  EXPECT_EQ(f.env[0].value, "ZZZ=last name, first line");  // file order, not sorted
  EXPECT_EQ(f.env[0].origin, path + ":14");
  EXPECT_EQ(f.env[1].value, "GOFLAGS=-count=1");
  EXPECT_EQ(f.env[2].value, "EMPTY=");
}

TEST(ProjectFile, EmptyFileSetsNothing) {
  TempDir dir;
  for (std::string_view text : {"", "# only a comment\n\n"}) {
    ProjectFile f = read_project_file(dir.write(".execvm.toml", text));
    EXPECT_FALSE(f.kernel || f.cpus || f.memory_mib || f.sudo || f.accel || f.share_fs ||
                 f.timeout);
    EXPECT_TRUE(f.volumes.empty());
    EXPECT_TRUE(f.env.empty());
  }
}

TEST(ProjectFile, OtherValueForms) {
  TempDir dir;
  ProjectFile f = read_project_file(dir.write(".execvm.toml", R"(
memory = 256
timeout = 90
sudo = false
volumes = ["/a:ro", "/b:/b:rw", "c"]
env.A = "1"
)"));
  EXPECT_EQ(f.memory_mib->value, 256u);
  EXPECT_EQ(f.timeout->value, std::chrono::seconds(90));
  EXPECT_FALSE(f.sudo->value);
  ASSERT_EQ(f.volumes.size(), 3u);
  EXPECT_EQ(f.volumes[0].value, "/a:ro");
  EXPECT_EQ(f.volumes[1].value, "/b:/b:rw");
  EXPECT_EQ(f.volumes[2].value, dir / "c");
  ASSERT_EQ(f.env.size(), 1u);
  EXPECT_EQ(f.env[0].value, "A=1");
}

TEST(ProjectFile, RelativePathsAreAgainstTheFilesDirectory) {
  TempDir dir;
  dir.mkdir("sub");
  ProjectFile f = read_project_file(dir.write("sub/.execvm.toml", R"(
kernel = "kernels/vmlinux"
volumes = ["./data:/data", "../cache:/cache:ro", ".:/src"]
)"));
  ASSERT_TRUE(f.kernel);
  EXPECT_EQ(f.kernel->value, dir / "sub/kernels/vmlinux");
  ASSERT_EQ(f.volumes.size(), 3u);
  EXPECT_EQ(f.volumes[0].value, dir / "sub/data:/data");
  EXPECT_EQ(f.volumes[1].value, dir / "cache:/cache:ro");
  EXPECT_EQ(f.volumes[2].value, dir / "sub:/src");
}

TEST(ProjectFile, RelativeFileNameIsMadeAbsolute) {
  TempDir dir;
  dir.write(".execvm.toml", "kernel = \"vmlinux\"\n");
  char old[4096];
  ASSERT_TRUE(getcwd(old, sizeof old));
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  ProjectFile f = read_project_file(".execvm.toml");
  ASSERT_EQ(chdir(old), 0);
  EXPECT_EQ(f.path, dir / ".execvm.toml");
  EXPECT_EQ(f.kernel->value, dir / "vmlinux");
  EXPECT_EQ(f.kernel->origin, dir / ".execvm.toml:1");
}

TEST(ProjectFile, SyntaxError) {
  expect_error("cpus = 2\nmemory = \"1G\n", "2:", {});
  expect_error("cpus = 2\ncpus = 3\n", "2:", {"cpus"});  // a key given twice
}

TEST(ProjectFile, UnknownKeyIsAnError) {
  expect_error("cpus = 2\n\n  cpu = 2\n", "3:3",
               {"unknown key \"cpu\"", "did you mean \"cpus\"", "share-fs", "volumes", "env"});
  expect_error("share_fs = \"9p\"\n", "1:1", {"\"share_fs\"", "did you mean \"share-fs\""});
  expect_error("[vm]\ncpus = 2\n", "1:", {"unknown key \"vm\""});
}

TEST(ProjectFile, WrongTypes) {
  expect_error("cpus = \"2\"\n", "1:8", {"cpus must be an integer >= 1"});
  expect_error("cpus = 0\n", "1:", {"cpus must be an integer >= 1"});
  expect_error("cpus = 1000\n", "1:", {"cpus 1000", "1 to 64"});
  expect_error("\nsudo = \"yes\"\n", "2:", {"sudo must be true or false"});
  expect_error("kernel = 3\n", "1:", {"kernel must be a path"});
  expect_error("kernel = \"\"\n", "1:", {"kernel must be a path"});
  expect_error("memory = true\n", "1:", {"memory must be a size"});
  expect_error("timeout = 1.5\n", "1:", {"timeout must be a duration"});
  expect_error("volumes = \"/a:/a\"\n", "1:", {"volumes must be an array"});
  expect_error("volumes = [\"/a\", 3]\n", "1:", {"each volume must be a string"});
  expect_error("env = \"A=1\"\n", "1:", {"env must be a table"});
}

TEST(ProjectFile, BadValues) {
  expect_error("memory = \"1T\"\n", "1:", {"memory \"1T\"", "not a usable size"});
  expect_error("memory = \"32M\"\n", "1:", {"memory \"32M\"", "at least 64M"});
  expect_error("memory = 0\n", "1:", {"memory 0"});
  expect_error("timeout = \"soon\"\n", "1:", {"timeout \"soon\"", "not a duration"});
  expect_error("timeout = \"0s\"\n", "1:", {"timeout \"0s\"", "some time"});
  expect_error("timeout = -1\n", "1:", {"timeout -1"});
  expect_error("accel = \"xen\"\n", "1:", {"accel \"xen\"", "\"auto\", \"kvm\" or \"tcg\""});
  expect_error("accel = 1\n", "1:", {"accel must be \"auto\", \"kvm\" or \"tcg\""});
  expect_error("share-fs = \"nfs\"\n", "1:", {"share-fs \"nfs\"", "\"virtiofs\" or \"9p\""});
}

TEST(ProjectFile, BadVolumes) {
  expect_error("volumes = [\n  \"/a:/a\",\n  \":/data\",\n]\n", "3:3",
               {"volume \":/data\"", "no host path"});
  expect_error("volumes = [\"\"]\n", "1:", {"no host path"});
  expect_error("volumes = [\"/a:/b:rx\"]\n", "1:", {"\"rx\" is neither ro nor rw"});
  expect_error("volumes = [\"/a:b\"]\n", "1:", {"guest path must be absolute"});
  expect_error("volumes = [\"/a:/b:ro:x\"]\n", "1:", {"too many colons"});
}

TEST(ProjectFile, EnvValuesMustBeStrings) {
  expect_error("[env]\nA = \"1\"\nB = 2\n", "3:5", {"env B must be a string"});
  expect_error("[env]\nA = [\"1\"]\n", "2:", {"env A must be a string"});
  expect_error("[env]\n\"A=B\" = \"1\"\n", "2:1", {"\"A=B\"", "not a variable name"});
}

TEST(ProjectFile, UnreadableFile) {
  TempDir dir;
  try {
    read_project_file(dir / ".execvm.toml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_THAT(e.what(), HasSubstr(dir / ".execvm.toml"));
  }
}

TEST(FindProjectFile, PrefersTheWorkingDirectory) {
  TempDir dir;
  std::string sub = dir.mkdir("sub");
  std::string in_root = dir.write(".execvm.toml", "");
  std::string in_sub = dir.write("sub/.execvm.toml", "");
  EXPECT_EQ(find_project_file(sub, dir.path()), in_sub);
  EXPECT_EQ(find_project_file(sub + "/", dir.path()), in_sub);
  EXPECT_EQ(find_project_file(dir.path(), dir.path()), in_root);
}

TEST(FindProjectFile, FallsBackToTheWorkTree) {
  TempDir dir;
  std::string sub = dir.mkdir("sub");
  std::string in_root = dir.write(".execvm.toml", "");
  EXPECT_EQ(find_project_file(sub, dir.path()), in_root);
  EXPECT_EQ(find_project_file(sub, ""), std::nullopt);
}

TEST(FindProjectFile, NoneWhenNeitherHasOne) {
  TempDir dir;
  std::string sub = dir.mkdir("sub");
  EXPECT_EQ(find_project_file(sub, dir.path()), std::nullopt);
  EXPECT_EQ(find_project_file(sub, sub), std::nullopt);
  EXPECT_EQ(find_project_file(sub, ""), std::nullopt);
}

}  // namespace
}  // namespace execvm
