#include "config/project_file.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cli/settings.h"
#include "util/error.h"
#include "util/testing.h"

namespace execvm {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::TempDir;

// The project file at PATH as the run settings read it.
RunOptions read(const std::string& path) {
  return read_project_settings(path).options;
}

// The Error that reading a project file holding TEXT throws; fails the test when none is thrown.
Error read_error(const TempDir& dir, std::string_view text) {
  std::string path = dir.write(".execvm.toml", text);
  try {
    read(path);
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
  ProjectSettings p = read_project_settings(path);
  EXPECT_EQ(p.file.path, path);
  const RunOptions& f = p.options;
  EXPECT_EQ(f.origins.size(), 12u);  // every setting of the file, and nothing else
  EXPECT_EQ(f.kernel, "/boot/vmlinuz");
  EXPECT_EQ(f.origins.at("kernel"), path + ":2");
  EXPECT_EQ(f.cpus, 2u);
  EXPECT_EQ(f.origins.at("cpus"), path + ":3");
  EXPECT_EQ(f.memory_mib, 1024u);
  EXPECT_TRUE(f.sudo);
  EXPECT_EQ(f.accel, AccelRequest::kKvm);
  EXPECT_EQ(f.share_fs, ShareFs::k9p);
  EXPECT_EQ(f.origins.at("share-fs"), path + ":7");
  EXPECT_EQ(f.timeout, std::chrono::minutes(10));
  ASSERT_EQ(f.volumes.size(), 2u);
  EXPECT_EQ(f.volumes[0], (Volume{"/data", "/data", true, "/data:/data:ro"}));
  EXPECT_EQ(f.origins.at("volume /data:/data:ro"), path + ":10");
  EXPECT_EQ(f.volumes[1],
            (Volume{dir / "cache", "/var/cache/thing", false, "cache:/var/cache/thing"}));
  EXPECT_EQ(f.origins.at("volume cache:/var/cache/thing"), path + ":11");
  ASSERT_EQ(f.env.size(), 3u);
  EXPECT_EQ(f.env[0], "ZZZ=last name, first line");  // file order, not sorted
  EXPECT_EQ(f.origins.at("env ZZZ=last name, first line"), path + ":14");
  EXPECT_EQ(f.env[1], "GOFLAGS=-count=1");
  EXPECT_EQ(f.env[2], "EMPTY=");
}

TEST(ProjectFile, EmptyFileSetsNothing) {
  TempDir dir;
  for (std::string_view text : {"", "# only a comment\n\n"}) {
    RunOptions f = read(dir.write(".execvm.toml", text));
    EXPECT_TRUE(f.origins.empty());
    EXPECT_TRUE(f.volumes.empty());
    EXPECT_TRUE(f.env.empty());
  }
}

TEST(ProjectFile, OtherValueForms) {
  TempDir dir;
  RunOptions f = read(dir.write(".execvm.toml", R"(
memory = 256
timeout = 90
sudo = false
volumes = ["/a:ro", "/b:/b:rw", "c"]
env.A = "1"
)"));
  EXPECT_EQ(f.memory_mib, 256u);
  EXPECT_EQ(f.timeout, std::chrono::seconds(90));
  EXPECT_FALSE(f.sudo);
  EXPECT_EQ(f.origins.count("sudo"), 1u);
  ASSERT_EQ(f.volumes.size(), 3u);
  EXPECT_EQ(f.volumes[0], (Volume{"/a", "", true, "/a:ro"}));
  EXPECT_EQ(f.volumes[1], (Volume{"/b", "/b", false, "/b:/b:rw"}));
  EXPECT_EQ(f.volumes[2], (Volume{dir / "c", "", false, "c"}));
  ASSERT_EQ(f.env.size(), 1u);
  EXPECT_EQ(f.env[0], "A=1");
}

TEST(ProjectFile, RelativePathsAreAgainstTheFilesDirectory) {
  TempDir dir;
  dir.mkdir("sub");
  RunOptions f = read(dir.write("sub/.execvm.toml", R"(
kernel = "kernels/vmlinux"
volumes = ["./data:/data", "../cache:/cache:ro", ".:/src"]
)"));
  EXPECT_EQ(f.kernel, dir / "sub/kernels/vmlinux");
  ASSERT_EQ(f.volumes.size(), 3u);
  EXPECT_EQ(f.volumes[0].host, dir / "sub/data");
  EXPECT_EQ(f.volumes[0].guest, "/data");
  EXPECT_EQ(f.volumes[1].host, dir / "cache");
  EXPECT_TRUE(f.volumes[1].readonly);
  EXPECT_EQ(f.volumes[2].host, dir / "sub");
  EXPECT_EQ(f.volumes[2].guest, "/src");
}

TEST(ProjectFile, RelativeFileNameIsMadeAbsolute) {
  TempDir dir;
  dir.write(".execvm.toml", "kernel = \"vmlinux\"\n");
  char old[4096];
  ASSERT_TRUE(getcwd(old, sizeof old));
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  ProjectSettings p = read_project_settings(".execvm.toml");
  ASSERT_EQ(chdir(old), 0);
  EXPECT_EQ(p.file.path, dir / ".execvm.toml");
  EXPECT_EQ(p.options.kernel, dir / "vmlinux");
  EXPECT_EQ(p.options.origins.at("kernel"), dir / ".execvm.toml:1");
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
  expect_error("cpus = \"2\"\n", "1:8", {"cpus must be an integer"});
  expect_error("cpus = 0\n", "1:8", {"cpus 0: out of range", "1 to 64"});
  expect_error("cpus = 1000\n", "1:", {"cpus 1000", "1 to 64"});
  expect_error("\nsudo = \"yes\"\n", "2:", {"sudo must be true or false"});
  expect_error("kernel = 3\n", "1:", {"kernel must be a string"});
  expect_error("kernel = \"\"\n", "1:", {"kernel \"\": no path"});
  expect_error("memory = true\n", "1:", {"memory must be a string or an integer"});
  expect_error("timeout = 1.5\n", "1:", {"timeout must be a string or an integer"});
  expect_error("volumes = \"/a:/a\"\n", "1:", {"volumes must be an array"});
  expect_error("volumes = [\"/a\", 3]\n", "1:", {"each volume must be a string"});
  expect_error("env = \"A=1\"\n", "1:", {"env must be a table"});
}

TEST(ProjectFile, BadValues) {
  expect_error("memory = \"1T\"\n", "1:", {"memory \"1T\"", "not a size"});
  expect_error("memory = \"32M\"\n", "1:", {"memory \"32M\"", "at least 64M"});
  expect_error("memory = 0\n", "1:", {"memory 0"});
  expect_error("timeout = \"soon\"\n", "1:", {"timeout \"soon\"", "not a duration"});
  expect_error("timeout = \"0s\"\n", "1:", {"timeout \"0s\"", "no time for a run"});
  expect_error("timeout = -1\n", "1:", {"timeout -1"});
  expect_error("accel = \"xen\"\n", "1:", {"accel \"xen\"", "auto, kvm or tcg"});
  expect_error("accel = 1\n", "1:", {"accel must be a string"});
  expect_error("share-fs = \"nfs\"\n", "1:", {"share-fs \"nfs\"", "virtiofs or 9p"});
}

TEST(ProjectFile, BadVolumes) {
  expect_error("volumes = [\n  \"/a:/a\",\n  \":/data\",\n]\n", "3:3",
               {"volume \":/data\"", "no host directory"});
  expect_error("volumes = [\"\"]\n", "1:", {"no host directory"});
  expect_error("volumes = [\"/a:/b:rx\"]\n", "1:", {"rx is neither ro nor rw"});
  expect_error("volumes = [\"/a:b\"]\n", "1:", {"guest path b is not absolute"});
  expect_error("volumes = [\"/a:/b:ro:x\"]\n", "1:", {"too many colons"});
  expect_error("volumes = [\"/a:/sys/x\"]\n", "1:", {"/sys is the guest's own"});
}

TEST(ProjectFile, EnvValuesMustBeStrings) {
  expect_error("[env]\nA = \"1\"\nB = 2\n", "3:5", {"env B must be a string"});
  expect_error("[env]\nA = [\"1\"]\n", "2:", {"env A must be a string"});
  expect_error("[env]\n\"A=B\" = \"1\"\n", "2:1", {"\"A=B\"", "not a variable name"});
}

TEST(ProjectFile, UnreadableFile) {
  TempDir dir;
  try {
    read(dir / ".execvm.toml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_THAT(e.what(), HasSubstr(dir / ".execvm.toml"));
  }
}

// The one-line Error that reading PATH gives, which must name PATH and say WHAT.
void expect_refused(const std::string& path, const std::string& what) {
  try {
    read_project_text(path);
    ADD_FAILURE() << "read " << path;
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_THAT(e.message(), AllOf(HasSubstr(path), HasSubstr(what)));
    EXPECT_EQ(e.message().find('\n'), std::string::npos);
  }
}

TEST(ProjectFile, OnlyASmallRegularFileIsRead) {
  TempDir dir;
  // A FIFO nobody writes to: reading must not wait for a writer.
  std::string fifo = dir / "fifo.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  expect_refused(fifo, "is a FIFO, not a regular file");
  // A symlink to an endless file: refused before anything is read.
  expect_refused(dir.symlink("zero.toml", "/dev/zero"), "is a character device");
  expect_refused(dir.mkdir("dir.toml"), "is a directory");
  expect_refused(dir / "missing.toml", "No such file or directory");
  std::string large = dir.write("large.toml", std::string(kProjectFileMaxBytes + 1, '#'));
  expect_refused(large, "is larger than 64 KiB");
  // At the limit, and through a symlink to a regular file, it reads.
  std::string full = dir.write("full.toml", std::string(kProjectFileMaxBytes, '#'));
  EXPECT_EQ(read_project_text(dir.symlink("link.toml", full)).size(), kProjectFileMaxBytes);
  // The project file is read the same way.
  dir.symlink(".execvm.toml", "/dev/zero");
  EXPECT_THROW(read(dir / ".execvm.toml"), Error);
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
