// RunSpec: everything the guest agent needs to run one command, as plain data with a JSON form.
// The host sends it over the channel after the guest's Hello; it is never put on the kernel
// command line nor baked into an image.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "spec/capabilities.h"

namespace execvm {

// One filesystem the agent mounts before it runs the command (used by the host-root, image and
// disk roots; the bare root needs none).
struct MountSpec {
  std::string source;  // a 9p/virtiofs tag; for "bind", a path in the root's lower layer
  std::string target;  // absolute path in the guest
  std::string fstype;  // "9p", "virtiofs", "bind" (of the root share, bypassing the overlay), ...
  std::string options;
  bool readonly = false;
  bool operator==(const MountSpec&) const = default;
};

// The guest's network interface (eth0) as the host's user-mode network expects it.
struct NetworkSpec {
  std::string address;  // "10.0.2.15/24": IPv4 address and prefix length; empty: no network
  std::string gateway;  // the default route's next hop
  std::string dns;  // the resolver written to /etc/resolv.conf where the root is the guest's own
  bool operator==(const NetworkSpec&) const = default;
};

struct RunSpec {
  std::vector<std::string> argv;  // byte strings, argv[0] looked up in the guest's PATH
  std::vector<std::string> env;   // "NAME=value" byte strings, in order
  std::string cwd = "/";          // made (owned by uid:gid) when the guest lacks it
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  // supplementary groups
  // A user as `docker run -u` takes it ("name", "uid", "name:group", "uid:gid"), resolved by
  // the guest in its root's /etc/passwd and /etc/group once it is in it; it then sets uid, gid
  // and groups, and HOME when env has none. Empty: uid, gid and groups as they are.
  std::string user;
  uint32_t umask = 022;
  std::vector<int>
      ignored_signals;      // ignored by the caller: ignored by the command too, as exec keeps them
  bool tty = false;         // stdin and stdout on a pseudo-terminal instead of pipes
  bool stderr_tty = false;  // stderr on that terminal too
  // The caller's stdout and stderr are one open file (2>&1): the command's are one pipe too, so
  // that their order is kept.
  bool stderr_to_stdout = false;
  std::vector<int> closed_fds;  // of 1 and 2: closed for the caller, so for the command too
  // The caller's RLIMIT_STACK, which sets how much argv and environment an exec takes; 0: the
  // guest's default.
  uint64_t stack_limit = 0;
  uint16_t rows = 0, cols = 0;
  std::string hostname = "execvm";
  // The guest's /: ROOT mounted read-only as the lower layer of an overlay whose upper layer is
  // a tmpfs, so the guest writes anywhere and none of it leaves the VM; or, when ROOT is not
  // read-only, mounted writable as the root itself. An empty fstype keeps the initramfs as the
  // root (the bare mode). A disk is named by its
  // serial: /dev/disk/by-id/virtio-SERIAL.
  MountSpec root;
  // Mounted over the root in order (parents before children), after the guest's own /proc,
  // /sys, /dev, /tmp and /run: the shares that write through to the host.
  std::vector<MountSpec> mounts;
  // Files out (--output): guest paths (relative ones against CWD) that the agent sends to the
  // host once the command has ended, in this order. Where they go is the host's business.
  std::vector<std::string> outputs;
  // The command's confinement: when set, these capabilities are its bounding set (a root
  // command has them permitted and effective too, any other none), and it runs with
  // no_new_privs under a seccomp filter like docker's default profile (which lets through what
  // these capabilities need). Unset: no confinement; a root command has all of root's powers.
  std::optional<CapabilitySet> capabilities;
  // Configured before the command starts; no address: the guest has no network but lo.
  NetworkSpec network;
  bool operator==(const RunSpec&) const = default;
};

// glibc's search path for execvp when PATH is not set at all.
inline constexpr const char* kDefaultPath = "/bin:/usr/bin";

// The value of NAME in ENV ("NAME=value" entries; the first one, as getenv(3) finds it), or ""
// when it is not set.
std::string env_value(const std::vector<std::string>& env, std::string_view name);

// The PATH a command with environment ENV is looked up in, as execvp does: its own, or
// kDefaultPath when it has none (an empty one is the current directory).
std::string command_path(const std::vector<std::string>& env);

class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The JSON text of SPEC. Byte strings that are not UTF-8 become {"base64": "..."}.
std::string spec_to_json(const RunSpec& spec);
// Parses the JSON text of a spec. Throws SpecError naming the bad field.
RunSpec spec_from_json(std::string_view json);

}  // namespace execvm
