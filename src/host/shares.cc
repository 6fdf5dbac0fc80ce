#include "host/shares.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"

namespace execvm {

namespace {

// 9p: large messages, so that a big read or readdir is one round trip.
constexpr const char* k9pOptions = "trans=virtio,version=9p2000.L,msize=512000";
// The VM lives for one command: cache metadata and data in the guest. Without it every stat
// is a round trip: git status on 20,000 files took 4 minutes with cache=mmap, 11 s with loose
// (TCG, measured). The agent syncs before it reports the exit, so writes have reached the host.
constexpr const char* k9pCache = ",cache=loose";

// virtiofsd holds an open file for every host file the guest has looked up and not yet
// forgotten: git status on 20,000 files ran it out of a limit of 20,000 (measured). Below this
// hard limit (systemd's default for services), 9p is the safer choice.
constexpr rlim_t kVirtiofsdMinFiles = 524288;

// QEMU's option syntax doubles a comma inside a value.
std::string qemu_escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

// Whether this process may create a mount namespace, as virtiofsd's set-up does.
bool can_create_mount_namespace() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) < 0) return false;
  return data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32));
}

}  // namespace

const char* share_fs_name(ShareFs fs) {
  switch (fs) {
    case ShareFs::kAuto:
      return "auto";
    case ShareFs::kVirtiofs:
      return "virtiofs";
    case ShareFs::k9p:
      return "9p";
  }
  return "?";
}

ShareFsChoice choose_share_fs(ShareFs request) {
  if (request == ShareFs::k9p) return {ShareFs::k9p, "", "asked for"};
  std::optional<std::string> daemon = find_virtiofsd();
  std::string missing;
  if (!daemon)
    missing = "virtiofsd is not installed (it comes with qemu-system-x86)";
  else if (::geteuid() != 0)
    missing = "virtiofsd needs root";
  else if (!can_create_mount_namespace())
    missing = "virtiofsd's mount namespace needs CAP_SYS_ADMIN, which this process lacks";
  struct rlimit files {};
  ::getrlimit(RLIMIT_NOFILE, &files);
  if (missing.empty() && files.rlim_max < kVirtiofsdMinFiles && request == ShareFs::kAuto)
    missing = "the open-file limit (" + std::to_string(files.rlim_max) +
              ") is too low for virtiofsd on large trees (ulimit -Hn " +
              std::to_string(kVirtiofsdMinFiles) + " or more)";
  if (missing.empty())
    return {ShareFs::kVirtiofs, *daemon, request == ShareFs::kAuto ? "available" : "asked for"};
  if (request == ShareFs::kVirtiofs)
    throw Error("--share-fs virtiofs: " + missing, "use --share-fs 9p or auto");
  return {ShareFs::k9p, "", missing};
}

HostFilesystems::HostFilesystems(const ShareFsChoice& choice, const std::vector<Share>& shares)
    : fs_(choice.fs), shares_(shares) {
  if (fs_ != ShareFs::kVirtiofs) return;
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
  qemu_socket_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!qemu_socket_ ||
      ::connect(qemu_socket_.get(), reinterpret_cast<sockaddr*>(&address), length) < 0)
    throw_errno("connect to virtiofsd's socket");
  int flags = ::fcntl(qemu_socket_.get(), F_GETFL);
  ::fcntl(qemu_socket_.get(), F_SETFL, flags & ~O_NONBLOCK);
  std::vector<std::string> writable;
  for (const auto& s : shares_)
    if (!s.readonly) writable.push_back(s.host);
  virtiofsd_ = std::make_unique<Virtiofsd>(choice.virtiofsd, writable, listener.get());
}

void HostFilesystems::configure(VmConfig& config, RunSpec& spec) const {
  if (fs_ == ShareFs::kVirtiofs) {
    config.shared_memory = true;  // vhost-user: virtiofsd reads the guest's memory
    config.devices.insert(config.devices.end(),
                          {"-chardev", "socket,id=fs,fd=" + std::to_string(qemu_socket_.get()),
                           "-device", "vhost-user-fs-device,chardev=fs,tag=root"});
    spec.root = {"root", "/", "virtiofs", "", true};
    // virtiofsd serves the shares writable in place: the guest binds them past its overlay.
    for (const auto& s : shares_) spec.mounts.push_back({s.host, s.guest, "bind", "", s.readonly});
    return;
  }
  auto add_9p = [&](const std::string& id, const std::string& path, bool readonly) {
    // security_model=none: files are created as the guest's user where QEMU may chown (it runs
    // as root), else as QEMU's own user, which is then the caller. multidevs=remap keeps inode
    // numbers of different host filesystems apart.
    config.devices.insert(
        config.devices.end(),
        {"-fsdev",
         "local,id=" + id + ",path=" + qemu_escape(path) + ",security_model=none,multidevs=remap" +
             (readonly ? ",readonly=on" : ""),
         "-device", "virtio-9p-device,fsdev=" + id + ",mount_tag=" + id});
  };
  add_9p("root", "/", true);
  spec.root = {"root", "/", "9p", std::string(k9pOptions) + k9pCache, true};
  for (size_t i = 0; i < shares_.size(); ++i) {
    std::string id = "share" + std::to_string(i);
    add_9p(id, shares_[i].host, shares_[i].readonly);
    spec.mounts.push_back(
        {id, shares_[i].guest, "9p", std::string(k9pOptions) + k9pCache, shares_[i].readonly});
  }
}

std::vector<int> HostFilesystems::qemu_fds() const {
  if (qemu_socket_) return {qemu_socket_.get()};
  return {};
}

void HostFilesystems::close_qemu_fds() {
  qemu_socket_.reset();
}

std::string HostFilesystems::file_server_messages() const {
  return virtiofsd_ ? virtiofsd_->messages() : "";
}

}  // namespace execvm
