#include "root/host_root.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "root/base.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

std::string find_work_tree(const std::string& dir) {
  for (std::string d = dir;; d = parent_directory(d)) {
    struct stat st;
    if (::lstat(join_path(d, ".git").c_str(), &st) == 0) return d;
    if (d == "/") return dir;
  }
}

bool is_system_directory(const std::string& dir) {
  static const char* const kSystem[] = {"/usr",    "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                                        "/libx32", "/etc", "/boot", "/opt", "/var",   "/srv",
                                        "/proc",   "/sys", "/dev",  "/run", "/snap",  "/nix"};
  if (dir == "/" || dir == "/tmp" || dir == "/home") return true;
  for (const char* s : kSystem)
    if (is_within(dir, s)) return true;
  return false;
}

Share volume_share(const Volume& volume) {
  std::string label = "-v " + shell_quote(volume.text);
  auto bad = [&](const std::string& what) {
    return Error(label + ": " + what, "the form is -v HOST[:GUEST][:ro|:rw]");
  };
  Share share;
  share.reason = "-v";
  share.readonly = volume.readonly;
  share.host = canonical_path(volume.host);
  if (share.host.empty()) throw bad(volume.host + ": " + strerror(errno));
  if (!is_directory(share.host)) throw bad(volume.host + " is not a directory");
  if (::access(share.host.c_str(), R_OK | X_OK) != 0)
    throw bad("cannot read " + volume.host + ": " + strerror(errno));
  share.guest = volume.guest.empty() ? share.host : volume.guest;
  check_guest_path(share.guest, label);
  return share;
}

ShareRequest share_request(const RunSpec& spec, const std::vector<Volume>& volumes) {
  return {spec.cwd, spec.argv[0], env_value(spec.env, "TMPDIR"), volumes, command_path(spec.env)};
}

std::vector<Share> plan_shares(const ShareRequest& request) {
  std::vector<Share> automatic;
  auto add = [&](const std::string& dir, const char* reason) {
    if (dir.empty() || is_system_directory(dir) || !is_directory(dir)) return;
    if (::access(dir.c_str(), R_OK | X_OK) == 0) {
      automatic.push_back({dir, dir, false, reason});
    } else if (starts_with(dir, "/tmp/")) {
      // Unreadable to the caller, which 9p could not serve: as the host's root has it, or the
      // guest's own /tmp would hide it. Elsewhere the root shows it as it is.
      automatic.push_back({dir, dir, true, reason, true});
    }
  };

  std::string cwd = canonical_path(request.cwd);
  if (!cwd.empty()) add(find_work_tree(cwd), "work tree");

  // The program the guest's lookup will find: the host's file at the same path.
  std::optional<std::string> program;
  if (request.program.find('/') != std::string::npos) {
    program = request.program[0] == '/' ? request.program : request.cwd + "/" + request.program;
  } else if ((program = find_program(request.program, request.path)) && (*program)[0] != '/') {
    program = request.cwd + "/" + *program;
  }
  if (program) {
    std::string file = canonical_path(*program);
    std::string dir = canonical_path(parent_directory(*program));
    if (dir == "/tmp" && !file.empty()) {
      // Directly in the guest's own /tmp: the file alone, as the guest names it.
      automatic.push_back(
          {file, "/tmp/" + program->substr(program->rfind('/') + 1), true, "program", true});
    } else {
      // Under /tmp, the whole of the tool's directory there: go test's work directory holds
      // the test binary in one of its subdirectories.
      if (starts_with(dir, "/tmp/")) dir = dir.substr(0, dir.find('/', 5));
      add(dir, "program");
    }
  }

  if (!request.tmpdir.empty()) {
    std::string tmpdir = canonical_path(request.tmpdir);
    if (starts_with(tmpdir, "/tmp/")) add(tmpdir, "TMPDIR");
  }

  std::vector<Share> shares;
  for (const auto& v : request.volumes) shares.push_back(volume_share(v));
  // Automatic shares are all mapped to themselves: one inside a writable one (or the same
  // path again), or one that a volume maps at the same path, adds nothing.
  for (const auto& a : automatic) {
    bool covered = false;
    for (const auto& other : automatic)
      covered =
          covered || (&other != &a && is_within(a.host, other.host) &&
                      (a.host != other.host || &other < &a) && (!other.from_root || a.from_root));
    for (const auto& v : shares) covered = covered || v.guest == a.guest;
    if (!covered) shares.push_back(a);
  }
  // A later volume at the same guest path wins, as a later mount would hide an earlier one.
  std::vector<Share> out;
  for (size_t i = 0; i < shares.size(); ++i) {
    bool hidden = false;
    for (size_t j = i + 1; j < shares.size(); ++j)
      hidden = hidden || shares[j].guest == shares[i].guest;
    if (!hidden) out.push_back(shares[i]);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Share& a, const Share& b) { return a.guest < b.guest; });
  return out;
}

namespace {

// 9p: large messages, so that a big read or readdir is one round trip. The VM lives for one
// command: metadata and data are cached in the guest. Without it every stat is a round trip:
// git status on 20,000 files took 4 minutes with cache=mmap, 11 s with loose (TCG, measured).
// The agent syncs before it reports the end, so writes have reached the host by then.
constexpr const char* k9pOptions = "trans=virtio,version=9p2000.L,msize=512000,cache=loose";

}  // namespace

HostRoot::HostRoot(const ShareRequest& request, ShareFs fs)
    : requested_(fs), shares_(plan_shares(request)), choice_(choose_share_fs(fs)) {}

HostRoot::HostRoot(const std::string& root_dir, const std::vector<Volume>& volumes)
    : requested_(ShareFs::k9p),
      root_dir_(canonical_path(root_dir)),
      shares_(volume_shares(volumes)),
      choice_{ShareFs::k9p, "", ""} {
  if (root_dir_.empty() || !is_directory(root_dir_))
    throw Error("--rootfs " + root_dir + ": not a directory",
                "give a directory holding a root filesystem (an unpacked minirootfs, say)");
}

std::vector<Share> volume_shares(const std::vector<Volume>& volumes) {
  std::vector<Share> shares;
  for (const auto& v : volumes) shares.push_back(volume_share(v));
  std::stable_sort(shares.begin(), shares.end(),
                   [](const Share& a, const Share& b) { return a.guest < b.guest; });
  return shares;
}

RootDevices HostRoot::prepare() {
  initramfs_ = build_agent_initramfs();
  RootDevices devices;
  if (choice_.fs == ShareFs::kVirtiofs) {
    try {
      devices = virtiofs_devices();
    } catch (const Error& e) {
      // virtiofsd could not be set up (in a container without CAP_SYS_ADMIN, say): unless
      // virtiofs was asked for, 9p serves the same.
      if (requested_ != ShareFs::kAuto) throw;
      choice_ = {ShareFs::k9p, "", e.what()};
    }
  }
  if (choice_.fs == ShareFs::k9p) devices = nine_p_devices();
  devices.initramfs = initramfs_.get();
  devices.fds.push_back(initramfs_.get());
  return devices;
}

RootDevices HostRoot::virtiofs_devices() {
  // virtiofsd accepts its one connection on a listening socket. An abstract, autobound one
  // leaves no file behind; a backlog of 0 admits one connection, which is connected here at
  // once (and given to QEMU), so no other process can take the daemon's place in the queue.
  Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un address {};
  address.sun_family = AF_UNIX;
  socklen_t length = sizeof(sa_family_t);  // the kernel picks an abstract name
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) < 0 ||
      ::listen(listener.get(), 0) < 0)
    throw_errno("listen for virtiofsd");
  length = sizeof address;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0)
    throw_errno("getsockname");
  Fd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket || ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), length) < 0)
    throw_errno("connect to virtiofsd's socket");
  set_nonblocking(socket.get(), false);
  std::vector<std::string> writable;
  for (const auto& s : shares_)
    if (!s.readonly && !s.from_root) writable.push_back(s.host);
  virtiofsd_.emplace(choice_.virtiofsd, writable, listener.get());
  qemu_socket_ = std::move(socket);
  RootDevices devices;
  devices.shared_memory = true;  // vhost-user: virtiofsd reads the guest's memory
  devices.qemu_args = {"-chardev", "socket,id=fs,fd=" + std::to_string(qemu_socket_.get()),
                       "-device", "vhost-user-fs-device,chardev=fs,tag=root"};
  devices.fds = {qemu_socket_.get()};
  return devices;
}

namespace {

// QEMU's option syntax doubles a comma inside a value.
std::string qemu_escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

void add_nine_p_device(RootDevices& devices, const std::string& tag, const std::string& path,
                       bool readonly) {
  // security_model=none: files are created as the guest's user where QEMU may chown (it runs
  // as root), else as QEMU's own user, which is then the caller. multidevs=remap keeps inode
  // numbers of different host filesystems apart.
  devices.qemu_args.insert(
      devices.qemu_args.end(),
      {"-fsdev",
       "local,id=" + tag + ",path=" + qemu_escape(path) + ",security_model=none,multidevs=remap" +
           (readonly ? ",readonly=on" : ""),
       "-device", "virtio-9p-device,fsdev=" + tag + ",mount_tag=" + tag});
}

void add_nine_p_shares(const std::vector<Share>& shares, RootDevices& devices) {
  for (size_t i = 0; i < shares.size(); ++i)
    if (!shares[i].from_root)
      add_nine_p_device(devices, "share" + std::to_string(i), shares[i].host, shares[i].readonly);
}

void add_nine_p_mounts(const std::vector<Share>& shares, GuestMounts& mounts) {
  for (size_t i = 0; i < shares.size(); ++i) {
    const Share& s = shares[i];
    // From the root's export, read-only; else over a device of its own.
    if (s.from_root)
      mounts.mounts.push_back({s.host, s.guest, "bind", "", true});
    else
      mounts.mounts.push_back({"share" + std::to_string(i), s.guest, "9p", k9pOptions, s.readonly});
  }
}

RootDevices HostRoot::nine_p_devices() const {
  RootDevices devices;
  add_nine_p_device(devices, "root", root_dir_, true);
  add_nine_p_shares(shares_, devices);
  return devices;
}

GuestMounts HostRoot::mounts() const {
  GuestMounts m;
  if (choice_.fs == ShareFs::kVirtiofs) {
    m.root = {"root", "/", "virtiofs", "", true};
    // virtiofsd serves the shares writable in place: the guest binds them past its overlay.
    for (const auto& s : shares_) m.mounts.push_back({s.host, s.guest, "bind", "", s.readonly});
    return m;
  }
  m.root = {"root", "/", "9p", k9pOptions, true};
  add_nine_p_mounts(shares_, m);
  return m;
}

void HostRoot::vm_started() {
  initramfs_.reset();
  qemu_socket_.reset();
}

std::string HostRoot::diagnostics() const {
  return virtiofsd_ ? virtiofsd_->messages() : "";
}

}  // namespace execvm
