#include "root/host_root.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::TempDir;

TEST(HostRoot, WorkTreeIsTheGitRootOrTheDirectoryItself) {
  TempDir t;
  std::string repo = canonical_path(t.mkdir("repo"));
  t.mkdir("repo/.git");
  t.mkdir("repo/a");
  t.mkdir("repo/a/b");
  EXPECT_EQ(find_work_tree(repo + "/a/b"), repo);
  EXPECT_EQ(find_work_tree(repo), repo);
  // A .git file (a linked work tree or a submodule) marks one too.
  t.mkdir("repo/a/sub");
  t.write("repo/a/sub/.git", "gitdir: ../../.git/modules/sub\n");
  EXPECT_EQ(find_work_tree(repo + "/a/sub"), repo + "/a/sub");
  std::string plain = canonical_path(t.mkdir("plain"));
  EXPECT_EQ(find_work_tree(plain), plain);
}

TEST(HostRoot, SystemDirectories) {
  for (const char* d : {"/", "/usr", "/usr/bin", "/etc", "/var/lib/x", "/lib64", "/tmp", "/home"})
    EXPECT_TRUE(is_system_directory(d)) << d;
  for (const char* d : {"/home/me/src", "/tmp/go-build1", "/srvx", "/usrlocal", "/work"})
    EXPECT_FALSE(is_system_directory(d)) << d;
}

// The share of -v TEXT, relative to BASE.
Share parse_share(const std::string& text, const std::string& base) {
  return volume_share(parse_volume(text, base));
}

// The volumes of TEXTS, relative to BASE.
std::vector<Volume> volumes(const std::vector<std::string>& texts, const std::string& base) {
  std::vector<Volume> out;
  for (const auto& text : texts) out.push_back(parse_volume(text, base));
  return out;
}

TEST(HostRoot, Volumes) {
  TempDir t;
  std::string data = canonical_path(t.mkdir("data"));
  Share s = parse_share(data + ":/in:ro", "/");
  EXPECT_EQ(s, (Share{data, "/in", true, "-v"}));
  s = parse_share("data", canonical_path(t.path()));
  EXPECT_EQ(s, (Share{data, data, false, "-v"}));
  EXPECT_EQ(parse_share(data + ":rw", "/"), (Share{data, data, false, "-v"}));
  EXPECT_EQ(parse_share(data + ":/in/", "/").guest, "/in");
  t.write("file", "x");
  t.symlink("proc", "/proc");  // shared at its own path, it would be the guest's /proc
  for (std::string bad : {std::string(""), data + ":relative", t / "missing", t / "file",
                          t / "proc", data + ":/", data + ":/a:/b:ro"}) {
    try {
      parse_share(bad, "/");
      ADD_FAILURE() << "accepted -v " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("-v "), std::string::npos) << e.what();
      EXPECT_EQ(e.exit_code(), kExitFailure);
    }
  }
}

TEST(HostRoot, PlanSharesTheWorkTreeTheProgramAndTmpdir) {
  TempDir t;
  std::string top = canonical_path(t.path());
  t.mkdir("repo");
  t.mkdir("repo/.git");
  t.mkdir("repo/pkg");
  t.mkdir("out");
  t.mkdir("tmp");
  ShareRequest r;
  r.cwd = top + "/repo/pkg";
  r.program = top + "/out/tool";
  std::vector<Share> shares = plan_shares(r);
  // The test's directory is under /tmp: the program's share is its top directory there,
  // which holds the work tree too.
  std::string tmp_top = top.substr(0, top.find('/', 5));
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0], (Share{tmp_top, tmp_top, false, "program"}));

  r.program = "tool";  // found through PATH: nothing of its own to share
  r.tmpdir = top + "/tmp";
  shares = plan_shares(r);
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_EQ(shares[0], (Share{top + "/repo", top + "/repo", false, "work tree"}));
  EXPECT_EQ(shares[1], (Share{top + "/tmp", top + "/tmp", false, "TMPDIR"}));

  r.program = "/usr/bin/env";  // the system's: never shared on its own account
  r.tmpdir = "/tmp";           // the guest's /tmp is its own
  shares = plan_shares(r);
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0].reason, "work tree");
}

TEST(HostRoot, VolumesReplaceAutomaticSharesAndParentsComeFirst) {
  TempDir t;
  std::string top = canonical_path(t.path());
  t.mkdir("repo");
  t.mkdir("repo/.git");
  t.mkdir("repo/data");
  t.mkdir("other");
  ShareRequest r;
  r.cwd = top + "/repo";
  r.program = "tool";
  r.volumes = volumes({"data:ro", top + "/repo:" + top + "/repo:ro", "../other:/mnt/o"}, r.cwd);
  std::vector<Share> shares = plan_shares(r);
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(shares[0], (Share{top + "/other", "/mnt/o", false, "-v"}));
  EXPECT_EQ(shares[1], (Share{top + "/repo", top + "/repo", true, "-v"}));
  EXPECT_EQ(shares[2], (Share{top + "/repo/data", top + "/repo/data", true, "-v"}));
  // A later volume at the same guest path hides an earlier one.
  r.volumes = volumes({"data:/d", "../other:/d"}, r.cwd);
  shares = plan_shares(r);
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_EQ(shares[0], (Share{top + "/other", "/d", false, "-v"}));
  EXPECT_EQ(shares[1].reason, "work tree");
}

}  // namespace
}  // namespace execvm

namespace execvm {
namespace {

TEST(HostRoot, AProgramDirectlyInTmpIsSharedAloneFromTheRoot) {
  std::string program = "/tmp/execvm-unit-prog-" + std::to_string(::getpid());
  write_file(program, "#!/bin/sh\n", 0755);
  ShareRequest r;
  r.cwd = "/";
  r.program = program;
  std::vector<Share> shares = plan_shares(r);
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0], (Share{program, program, true, "program", true}));
  // Found through a PATH entry that is /tmp: the same.
  r.program = base_name(program);
  r.path = "/nonexistent:/tmp";
  EXPECT_EQ(plan_shares(r), shares);
  ::unlink(program.c_str());
}

TEST(HostRoot, NinePServesEachShareOverADeviceOfItsOwn) {
  TempDir t;
  std::string top = canonical_path(t.path());
  t.mkdir("repo");
  t.mkdir("repo/.git");
  ShareRequest r;
  r.cwd = top + "/repo";
  r.program = "true";
  HostRoot root(r, ShareFs::k9p);
  EXPECT_EQ(root.kind(), "9p");
  RootDevices devices = root.prepare();
  EXPECT_GE(devices.initramfs, 0);
  EXPECT_EQ(devices.fds, std::vector<int>{devices.initramfs});
  EXPECT_FALSE(devices.shared_memory);
  std::string args;
  for (const auto& a : devices.qemu_args) args += a + " ";
  EXPECT_NE(args.find("local,id=root,path=/,security_model=none,multidevs=remap,readonly=on"),
            std::string::npos)
      << args;
  EXPECT_NE(args.find("path=" + top + "/repo,"), std::string::npos) << args;
  GuestMounts m = root.mounts();
  EXPECT_EQ(m.root.fstype, "9p");
  EXPECT_TRUE(m.root.readonly);
  ASSERT_EQ(m.mounts.size(), 1u);
  EXPECT_EQ(m.mounts[0].source, "share0");
  EXPECT_EQ(m.mounts[0].target, top + "/repo");
  EXPECT_FALSE(m.mounts[0].readonly);
  root.vm_started();
  EXPECT_EQ(root.diagnostics(), "");
}

}  // namespace
}  // namespace execvm
