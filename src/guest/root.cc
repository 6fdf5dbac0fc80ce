#include "guest/root.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm::guest {

namespace {

// Where the pieces are put together, in the initramfs (which stays behind, unreachable).
constexpr const char* kLower = "/.execvm/lower";  // the shared root, as the host gives it
constexpr const char* kLayer = "/.execvm/layer";  // tmpfs: the overlay's upper and work dirs
constexpr const char* kRoot = "/.execvm/root";    // the overlay: the new /

void mount_or_throw(const std::string& source, const std::string& target, const std::string& fstype,
                    unsigned long flags, const std::string& options) {
  if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
              options.empty() ? nullptr : options.c_str()) < 0) {
    throw_errno("mount " + (fstype.empty() ? std::string("--move") : fstype) + " " + source +
                " on " + target);
  }
}

// mkdir -p of PATH in the new root. A directory made there (under the guest's own /tmp, say)
// takes the mode and owner of the host's directory at the same path, when the host has one.
void make_target(const std::string& path) {
  std::string dir;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    dir += "/" + part;
    std::string target = kRoot + dir;
    struct stat st;
    if (::stat(target.c_str(), &st) == 0) continue;
    struct stat host;
    bool known = ::stat((kLower + dir).c_str(), &host) == 0 && S_ISDIR(host.st_mode);
    if (::mkdir(target.c_str(), known ? host.st_mode & 07777 : 0755) < 0 && errno != EEXIST)
      throw_errno("mkdir " + dir + " in the guest");
    if (known) {
      (void)!::chown(target.c_str(), host.st_uid, host.st_gid);
      ::chmod(target.c_str(), host.st_mode & 07777);  // past the umask
    }
  }
}

void mount_share(const MountSpec& m) {
  std::string target = kRoot + m.target;
  make_target(m.target);
  if (m.fstype == "bind") {
    // A path of the root share that the host serves writable: bound past the overlay, so
    // that writes reach the host.
    mount_or_throw(kLower + m.source, target, "", MS_BIND | MS_REC, "");
    if (m.readonly) mount_or_throw("", target, "", MS_REMOUNT | MS_BIND | MS_RDONLY, "");
    return;
  }
  mount_or_throw(m.source, target, m.fstype, m.readonly ? MS_RDONLY : 0, m.options);
}

}  // namespace

void enter_root(const RunSpec& spec) {
  if (spec.root.fstype.empty()) return;
  make_dirs(kLower);
  make_dirs(kLayer);
  make_dirs(kRoot);
  // Read-only here too: the host enforces it, and the guest kernel then never tries to write.
  // (Not for a root that the shares are bound from: a read-only superblock would make them
  // read-only as well.)
  bool binds = false;
  for (const auto& m : spec.mounts) binds = binds || m.fstype == "bind";
  mount_or_throw(spec.root.source, kLower, spec.root.fstype, binds ? 0 : MS_RDONLY,
                 spec.root.options);
  mount_or_throw("execvm-layer", kLayer, "tmpfs", MS_NOATIME, "mode=0755");
  make_dirs(std::string(kLayer) + "/upper");
  make_dirs(std::string(kLayer) + "/work");
  mount_or_throw("execvm-root", kRoot, "overlay", 0,
                 std::string("lowerdir=") + kLower + ",upperdir=" + kLayer +
                     "/upper,workdir=" + kLayer + "/work");

  // The guest's own filesystems, moved over from the initramfs with what is under them.
  for (const char* dir : {"/proc", "/sys", "/dev"}) {
    std::string target = kRoot + std::string(dir);
    make_dirs(target);
    mount_or_throw(dir, target, "", MS_MOVE, "");
  }
  for (auto [dir, mode] : {std::pair{"/tmp", "mode=1777"}, std::pair{"/run", "mode=0755"}}) {
    std::string target = kRoot + std::string(dir);
    make_dirs(target);
    mount_or_throw("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, mode);
  }

  for (const auto& m : spec.mounts) mount_share(m);

  // switch_root: the new root takes the place of the initramfs's.
  if (::chdir(kRoot) < 0) throw_errno(std::string("chdir ") + kRoot);
  mount_or_throw(".", "/", "", MS_MOVE, "");
  if (::chroot(".") < 0) throw_errno("chroot into the new root");
  if (::chdir("/") < 0) throw_errno("chdir /");
}

}  // namespace execvm::guest
