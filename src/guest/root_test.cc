#include "guest/root.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>

namespace execvm::guest {
namespace {

using Kind = RootStep::Kind;

// The steps as one line each, for readable expectations.
std::vector<std::string> lines(const std::vector<RootStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) {
    switch (s.kind) {
      case Kind::kDirectory:
        out.push_back("mkdir " + s.target);
        break;
      case Kind::kMount: {
        std::string flags;
        if (s.flags & MS_RDONLY) flags += " ro";
        if (s.flags & MS_MOVE) flags += " move";
        if (s.flags & MS_BIND) flags += " bind";
        if (s.flags & MS_REMOUNT) flags += " remount";
        out.push_back("mount " + s.fstype + " " + s.source + " " + s.target + flags +
                      (s.options.empty() ? "" : " " + s.options));
        break;
      }
      case Kind::kShareTarget:
        out.push_back("target " + s.target + (s.source.empty() ? "" : " like " + s.source));
        break;
      case Kind::kFile:
        out.push_back("file " + s.target);
        break;
      case Kind::kSwitchRoot:
        out.push_back("switch " + s.target);
        break;
    }
  }
  return out;
}

TEST(RootPlan, TheInitramfsStaysTheRootWithoutOneAndOffersTheTools) {
  RunSpec spec;
  std::vector<std::string> want = {
      "mkdir /run/execvm",
      "file /run/execvm/execvm",
      "mount  /init /run/execvm/execvm bind",
      "mount   /run/execvm/execvm ro bind remount",
  };
  EXPECT_EQ(lines(plan_root(spec)), want);
}

TEST(RootPlan, NinePRootWithAShare) {
  RunSpec spec;
  spec.root = {"root", "/", "9p", "trans=virtio", true};
  spec.mounts = {{"share0", "/work/repo", "9p", "trans=virtio", false}};
  std::vector<std::string> want = {
      "mkdir /.execvm/lower",
      "mkdir /.execvm/layer",
      "mkdir /.execvm/root",
      "mount 9p root /.execvm/lower ro trans=virtio",
      "mount tmpfs execvm-layer /.execvm/layer mode=0755",
      "mkdir /.execvm/layer/upper",
      "mkdir /.execvm/layer/work",
      "mount overlay execvm-root /.execvm/root "
      "lowerdir=/.execvm/lower,upperdir=/.execvm/layer/upper,workdir=/.execvm/layer/work",
      "mkdir /.execvm/root/proc",
      "mount  /proc /.execvm/root/proc move",
      "mkdir /.execvm/root/sys",
      "mount  /sys /.execvm/root/sys move",
      "mkdir /.execvm/root/dev",
      "mount  /dev /.execvm/root/dev move",
      "mkdir /.execvm/root/tmp",
      "mount tmpfs tmpfs /.execvm/root/tmp mode=1777",
      "mkdir /.execvm/root/run",
      "mount tmpfs tmpfs /.execvm/root/run mode=0755",
      "mkdir /.execvm/root/run/execvm",
      "file /.execvm/root/run/execvm/execvm",
      "mount  /init /.execvm/root/run/execvm/execvm bind",
      "mount   /.execvm/root/run/execvm/execvm ro bind remount",
      "target /.execvm/root/work/repo",
      "mount 9p share0 /.execvm/root/work/repo trans=virtio",
      "switch /.execvm/root",
  };
  EXPECT_EQ(lines(plan_root(spec)), want);
}

TEST(RootPlan, BindsComeFromTheSharedRootWhichIsThenNotReadOnly) {
  RunSpec spec;
  spec.root = {"root", "/", "virtiofs", "", true};
  spec.mounts = {{"/work/repo", "/work/repo", "bind", "", false},
                 {"/data", "/mnt/data", "bind", "", true}};
  std::vector<std::string> got = lines(plan_root(spec));
  EXPECT_EQ(got[3], "mount virtiofs root /.execvm/lower");  // no "ro": the binds would be too
  std::vector<std::string> tail(got.end() - 6, got.end());
  EXPECT_EQ(tail, (std::vector<std::string>{
                      "target /.execvm/root/work/repo like /.execvm/lower/work/repo",
                      "mount  /.execvm/lower/work/repo /.execvm/root/work/repo bind",
                      "target /.execvm/root/mnt/data like /.execvm/lower/data",
                      "mount  /.execvm/lower/data /.execvm/root/mnt/data bind",
                      "mount   /.execvm/root/mnt/data ro bind remount",
                      "switch /.execvm/root",
                  }));
}

TEST(RootPlan, AnImageDiskUnderTheOverlay) {
  RunSpec spec;
  spec.root = {"/dev/disk/by-id/virtio-execvm-root", "/", "squashfs", "", true};
  std::vector<std::string> got = lines(plan_root(spec));
  EXPECT_EQ(got[3], "mount squashfs /dev/disk/by-id/virtio-execvm-root /.execvm/lower ro");
  EXPECT_EQ(got[7].substr(0, 13), "mount overlay");
}

TEST(RootPlan, AWritableRootIsMountedAsItIsWithoutOverlay) {
  RunSpec spec;
  spec.root = {"/dev/disk/by-id/virtio-execvm-root", "/", "ext4", "", false};
  std::vector<std::string> got = lines(plan_root(spec));
  ASSERT_GE(got.size(), 3u);
  EXPECT_EQ(got[0], "mkdir /.execvm/root");
  EXPECT_EQ(got[1], "mount ext4 /dev/disk/by-id/virtio-execvm-root /.execvm/root");
  for (const auto& line : got) EXPECT_EQ(line.find("overlay"), std::string::npos) << line;
  // The tools on the guest's own /run, not on the disk that is written through.
  auto bind =
      std::find(got.begin(), got.end(), "mount  /init /.execvm/root/run/execvm/execvm bind");
  auto run = std::find(got.begin(), got.end(), "mount tmpfs tmpfs /.execvm/root/run mode=0755");
  EXPECT_LT(run, bind);
  EXPECT_NE(bind, got.end());
  EXPECT_EQ(got.back(), "switch /.execvm/root");
}

}  // namespace
}  // namespace execvm::guest
