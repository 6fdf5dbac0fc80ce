#include "guest/root.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "tools/tools.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"

namespace execvm::guest {

namespace {

// Where the pieces are put together, in the initramfs (which stays behind, unreachable).
constexpr const char* kLower = "/.execvm/lower";  // the shared root, as the host gives it
constexpr const char* kLayer = "/.execvm/layer";  // tmpfs: the overlay's upper and work dirs
constexpr const char* kRoot = "/.execvm/root";    // the overlay: the new /

void mount_or_throw(const RootStep& s) {
  if (::mount(s.source.c_str(), s.target.c_str(), s.fstype.empty() ? nullptr : s.fstype.c_str(),
              s.flags, s.options.empty() ? nullptr : s.options.c_str()) < 0) {
    std::string what = s.flags & MS_MOVE      ? "--move"
                       : s.flags & MS_REMOUNT ? "remount"
                       : s.flags & MS_BIND    ? "--bind"
                                              : s.fstype;
    throw_errno("mount " + what + " " + s.source + " on " + s.target);
  }
}

// Makes TARGET (a path under kRoot) and its missing parents for a share. A directory made there
// (under the guest's own /tmp, say) takes the mode and owner of the host's at the same path,
// when the host has one; the last component is an empty file when SOURCE is a file.
void make_share_target(const std::string& target, const std::string& source) {
  auto like_the_host = [](const std::string& made) {
    struct stat host;
    std::string path = kLower + made.substr(std::string(kRoot).size());
    if (::stat(path.c_str(), &host) == 0 && S_ISDIR(host.st_mode)) {
      (void)!::chown(made.c_str(), host.st_uid, host.st_gid);
      ::chmod(made.c_str(), host.st_mode & 07777);
    }
  };
  struct stat st;
  if (!source.empty() && ::stat(source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    make_dirs(parent_directory(target), like_the_host);
    if (::lstat(target.c_str(), &st) != 0) {
      Fd made(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
      if (!made) throw_errno("create " + target + " in the guest");
    }
    return;
  }
  make_dirs(target, like_the_host);
}

void apply(const RootStep& s) {
  switch (s.kind) {
    case RootStep::Kind::kDirectory:
      make_dirs(s.target);
      break;
    case RootStep::Kind::kMount:
      mount_or_throw(s);
      break;
    case RootStep::Kind::kShareTarget:
      make_share_target(s.target, s.source);
      break;
    case RootStep::Kind::kFile: {
      struct stat st;
      if (::lstat(s.target.c_str(), &st) == 0) break;
      Fd made(::open(s.target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755));
      if (!made) throw_errno("create " + s.target);
      break;
    }
    case RootStep::Kind::kSwitchRoot:
      if (::chdir(s.target.c_str()) < 0) throw_errno("chdir " + s.target);
      mount_or_throw({RootStep::Kind::kMount, "/", ".", "", "", MS_MOVE});
      if (::chroot(".") < 0) throw_errno("chroot into the new root");
      if (::chdir("/") < 0) throw_errno("chdir /");
      break;
  }
}

}  // namespace

std::vector<RootStep> plan_tools(const std::string& root) {
  using Kind = RootStep::Kind;
  const std::string target = root + tools::kToolsPath;
  return {
      {Kind::kDirectory, parent_directory(target)},
      {Kind::kFile, target},
      {Kind::kMount, target, "/init", "", "", MS_BIND},
      {Kind::kMount, target, "", "", "", MS_REMOUNT | MS_BIND | MS_RDONLY},
  };
}

std::vector<RootStep> plan_root(const RunSpec& spec) {
  using Kind = RootStep::Kind;
  std::vector<RootStep> steps;
  if (spec.root.fstype.empty()) return plan_tools("");
  auto mount = [&](std::string source, std::string target, std::string fstype, unsigned long flags,
                   std::string options) {
    steps.push_back({Kind::kMount, std::move(target), std::move(source), std::move(fstype),
                     std::move(options), flags});
  };
  const std::string lower = kLower, layer = kLayer, root = kRoot;
  if (!spec.root.readonly) {
    // Written through: the root itself, with no overlay.
    steps.push_back({Kind::kDirectory, root});
    mount(spec.root.source, root, spec.root.fstype, 0, spec.root.options);
  } else {
    for (const auto& dir : {lower, layer, root}) steps.push_back({Kind::kDirectory, dir});
    // Read-only here too: the host enforces it, and the guest kernel then never tries to write.
    // (Not for a root that the shares are bound from: a read-only superblock would make them
    // read-only as well.)
    bool binds = false;
    for (const auto& m : spec.mounts) binds = binds || m.fstype == "bind";
    mount(spec.root.source, lower, spec.root.fstype, binds ? 0 : MS_RDONLY, spec.root.options);
    mount("execvm-layer", layer, "tmpfs", MS_NOATIME, "mode=0755");
    steps.push_back({Kind::kDirectory, layer + "/upper"});
    steps.push_back({Kind::kDirectory, layer + "/work"});
    mount("execvm-root", root, "overlay", 0,
          "lowerdir=" + lower + ",upperdir=" + layer + "/upper,workdir=" + layer + "/work");
  }
  // The guest's own filesystems, moved over from the initramfs with what is under them.
  for (const char* dir : {"/proc", "/sys", "/dev"}) {
    steps.push_back({Kind::kDirectory, root + dir});
    mount(dir, root + dir, "", MS_MOVE, "");
  }
  for (auto [dir, mode] : {std::pair{"/tmp", "mode=1777"}, std::pair{"/run", "mode=0755"}}) {
    steps.push_back({Kind::kDirectory, root + dir});
    mount("tmpfs", root + dir, "tmpfs", MS_NOSUID | MS_NODEV, mode);
  }
  for (RootStep& step : plan_tools(root)) steps.push_back(std::move(step));
  for (const auto& m : spec.mounts) {
    std::string target = root + m.target;
    if (m.fstype == "bind") {
      // A path of the shared root that the host serves writable (or a file of it, read-only):
      // bound past the overlay, so that writes reach the host.
      steps.push_back({Kind::kShareTarget, target, lower + m.source});
      mount(lower + m.source, target, "", MS_BIND | MS_REC, "");
      if (m.readonly) mount("", target, "", MS_REMOUNT | MS_BIND | MS_RDONLY, "");
    } else {
      steps.push_back({Kind::kShareTarget, target});
      mount(m.source, target, m.fstype, m.readonly ? MS_RDONLY : 0, m.options);
    }
  }
  steps.push_back({Kind::kSwitchRoot, root});
  return steps;
}

void enter_root(const RunSpec& spec) {
  for (const auto& step : plan_root(spec)) apply(step);
}

}  // namespace execvm::guest
