// The host-root mode: the plan of which host directories the guest shares read-write (or
// read-only, for `-v ...:ro`) at which paths, on top of the host's / that it sees read-only
// (decisions over the host's filesystem, unit-tested), and the Root that serves them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/volume.h"
#include "root/root.h"
#include "root/share_fs.h"
#include "root/virtiofsd.h"
#include "spec/run_spec.h"
#include "util/fd.h"

namespace execvm {

struct Share {
  std::string host;   // an absolute, canonical host directory (or file, with FROM_ROOT)
  std::string guest;  // where the guest sees it (absolute)
  bool readonly = false;
  std::string reason;  // why it is shared: "work tree", "program", "TMPDIR", "-v"
  // Bound read-only from the host's root as the guest sees it, not served on its own: under
  // the guest's own /tmp, a program directly in /tmp (not all of /tmp is shared), or a
  // directory the caller may enter but not read (which 9p cannot serve on its own).
  bool from_root = false;
  bool operator==(const Share&) const = default;
};

struct ShareRequest {
  std::string cwd;                  // the command's working directory
  std::string program;              // argv[0] as given
  std::string tmpdir;               // TMPDIR in the command's environment, may be empty
  std::vector<Volume> volumes;      // -v HOST[:GUEST][:ro|:rw], in order
  std::string path = kDefaultPath;  // the command's PATH, where a PROGRAM without a slash is
};

// The request of running SPEC's command (its directory, program, TMPDIR and PATH) with VOLUMES.
ShareRequest share_request(const RunSpec& spec, const std::vector<Volume>& volumes);

// The git work tree containing DIR (the nearest directory with a .git entry), or DIR itself
// when it is in none. DIR must be absolute.
std::string find_work_tree(const std::string& dir);

// Whether DIR is the host's system tree (/, /usr, /etc, /var, ... or under them): never
// shared on its own account, only when -v names it.
bool is_system_directory(const std::string& dir);

// The share of one -v volume, its HOST made canonical. Throws Error (exit 125) when HOST is not
// an existing directory, or is one of the guest's own when it is shared at its own path.
Share volume_share(const Volume& volume);

// The shares for REQUEST, parents before children:
// - the work tree of the command's cwd;
// - the program's directory (argv[0] as a path, or found through PATH) when it is outside the
//   system tree: under /tmp its top directory there (Go's work directory), and a program
//   directly in /tmp is shared alone;
// - TMPDIR when it is under /tmp (the guest's /tmp is its own);
// - every -v volume.
// A share inside another one with the same mapping and mode is left out; a -v volume replaces
// an automatic share of the same path. A directory the caller cannot read is not shared
// writable (the guest sees it through the read-only root, as unreadable as here). Throws Error
// for a bad -v.
std::vector<Share> plan_shares(const ShareRequest& request);

// The shares of -v VOLUMES alone, parents before children (the image and directory roots have
// no automatic shares). Throws Error for a bad volume.
std::vector<Share> volume_shares(const std::vector<Volume>& volumes);

// 9p over QEMU's own server: the devices of SHARES (tags share0, share1, ... by index; those
// FROM_ROOT have none) and their mounts in the guest.
void add_nine_p_device(RootDevices& devices, const std::string& tag, const std::string& path,
                       bool readonly);
void add_nine_p_shares(const std::vector<Share>& shares, RootDevices& devices);
void add_nine_p_mounts(const std::vector<Share>& shares, GuestMounts& mounts);

// The host-root mode's root: the host's / read-only under the guest's overlay, the shares at
// their paths, served over virtiofs (the one virtiofsd, owned here) or 9p (QEMU's own).
class HostRoot : public Root {
 public:
  // Plans REQUEST's shares and chooses how they travel. Throws Error for a bad volume, or when
  // virtiofs is asked for and cannot be had.
  HostRoot(const ShareRequest& request, ShareFs fs);
  // --rootfs: the host directory ROOT_DIR as the guest's root, with only the -v VOLUMES shared,
  // over 9p. Throws Error when ROOT_DIR is not a directory, or for a bad volume.
  HostRoot(const std::string& root_dir, const std::vector<Volume>& volumes);

  // The agent's initramfs and the filesystem devices; starts virtiofsd for virtiofs (and falls
  // back to 9p when virtiofs was not asked for and virtiofsd cannot be set up).
  RootDevices prepare() override;
  GuestMounts mounts() const override;
  void vm_started() override;
  std::string diagnostics() const override;
  std::string kind() const override { return share_fs_name(choice_.fs); }

  const std::vector<Share>& shares() const { return shares_; }
  const ShareFsChoice& share_fs() const { return choice_; }

 private:
  RootDevices virtiofs_devices();
  RootDevices nine_p_devices() const;

  ShareFs requested_;
  std::string root_dir_ = "/";
  std::vector<Share> shares_;
  ShareFsChoice choice_;
  Fd initramfs_;
  Fd qemu_socket_;  // virtiofs: QEMU's end of virtiofsd's socket
  std::optional<Virtiofsd> virtiofsd_;
};

}  // namespace execvm
