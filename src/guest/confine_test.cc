#include "guest/confine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/reboot.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "util/error.h"
#include "util/fd.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm::guest {
namespace {

constexpr CapabilitySet bit(int cap) {
  return CapabilitySet{1} << cap;
}

// What a child confined through the agent's functions saw: each probe's errno (0 when the call
// worked), its /proc/self/status, and that of a program it then exec'd (cat).
struct Seen {
  int setup = -1;  // errno of the confinement itself
  std::map<std::string, int> calls;
  std::string status, exec_status;
  // One field of a status, e.g. "CapEff", as written there.
  static std::string field(const std::string& status, const std::string& name) {
    for (const auto& line : split(status, '\n'))
      if (starts_with(line, name + ":")) return std::string(trim(line.substr(name.size() + 1)));
    return "?";
  }
};

int result(long rc) {
  return rc < 0 ? errno : 0;
}

void* nothing(void*) {
  return nullptr;
}

// The calls whose fate the tests look at. Each would succeed or fail otherwise than with EPERM
// for an unconfined root (the reboot magic is wrong, the mount point missing): EPERM is the
// confinement's.
std::map<std::string, int> probe() {
  std::map<std::string, int> calls;
  calls["reboot"] = result(::syscall(SYS_reboot, 0xdead, 0xbeef, LINUX_REBOOT_CMD_RESTART, 0));
  calls["mount"] = result(::mount("none", "/nonexistent-execvm-test", "tmpfs", 0, nullptr));
  calls["umount2"] = result(::umount2("/nonexistent-execvm-test", 0));
  calls["swapon"] = result(::syscall(SYS_swapon, "/nonexistent-execvm-test", 0));
  calls["kexec_load"] = result(::syscall(SYS_kexec_load, 0, 0, nullptr, ~0ul));
  calls["init_module"] = result(::syscall(SYS_init_module, nullptr, 0, ""));
  calls["keyctl"] = result(::syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1, 0));
  calls["pivot_root"] = result(::syscall(SYS_pivot_root, "/nonexistent-a", "/nonexistent-b"));
  calls["bpf"] = result(::syscall(SYS_bpf, ~0, nullptr, 0));
  calls["clone3"] = result(::syscall(SYS_clone3, nullptr, 0));
  calls["personality(READ_IMPLIES_EXEC)"] = result(::personality(READ_IMPLIES_EXEC));
  calls["socket(AF_VSOCK)"] = [] {
    int fd = ::socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd >= 0) ::close(fd);
    return fd < 0 ? errno : 0;
  }();
  // Namespaces: in a child, so that one that works changes nothing here.
  calls["unshare(CLONE_NEWNS)"] = [] {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(::unshare(CLONE_NEWNS) < 0 ? errno : 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WEXITSTATUS(status);
  }();
  // What every program does.
  calls["getpid"] = result(::getpid());
  calls["open"] = [] {
    Fd fd(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    return fd ? 0 : errno;
  }();
  calls["socket(AF_INET)"] = [] {
    Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    return fd ? 0 : errno;
  }();
  calls["personality(query)"] = result(::personality(0xffffffff));
  calls["fork"] = [] {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    if (pid < 0) return errno;
    int status;
    return ::waitpid(pid, &status, 0) == pid ? 0 : errno;
  }();
  // The C library tries clone3 first and falls back to clone on ENOSYS.
  calls["pthread_create"] = [] {
    pthread_t thread;
    int err = ::pthread_create(&thread, nullptr, nothing, nullptr);
    if (err == 0) ::pthread_join(thread, nullptr);
    return err;
  }();
  return calls;
}

// Forks a child that is confined to CAPS as the agent's command is (as UID when not 0), probes
// and then execs cat on its own status.
Seen run_confined(CapabilitySet caps, uid_t uid = 0) {
  Confinement c = prepare_confinement(caps);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    read_end.reset();
    int err = limit_capabilities(c);
    if (!err && uid && (::setresgid(uid, uid, uid) < 0 || ::setresuid(uid, uid, uid) < 0))
      err = errno;
    if (!err) err = confine(c);
    std::string out = std::to_string(err) + "\n";
    if (!err) {
      for (const auto& [name, e] : probe()) out += name + "=" + std::to_string(e) + "\n";
      out += "--\n" + read_file("/proc/self/status") + "--\n";
    }
    write_all(write_end.get(), out);
    if (err) ::_exit(1);
    ::dup2(write_end.get(), 1);
    ::execl("/bin/cat", "cat", "/proc/self/status", nullptr);
    ::_exit(127);
  }
  write_end.reset();
  std::string text = read_all(read_end.get());
  int status;
  ::waitpid(pid, &status, 0);
  Seen seen;
  size_t first = text.find("\n");
  seen.setup = std::stoi(text.substr(0, first));
  size_t a = text.find("--\n"), b = a == std::string::npos ? a : text.find("--\n", a + 3);
  std::string calls = text.substr(first + 1, a == std::string::npos ? 0 : a - first - 1);
  for (const auto& line : split(calls, '\n')) {
    size_t eq = line.rfind('=');
    if (eq != std::string::npos) seen.calls[line.substr(0, eq)] = std::stoi(line.substr(eq + 1));
  }
  if (b != std::string::npos) {
    seen.status = text.substr(a + 3, b - a - 3);
    seen.exec_status = text.substr(b + 3);
  }
  return seen;
}

std::string mask(CapabilitySet set) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(set));
  return buf;
}

// The capabilities this test process has: what a child can keep.
CapabilitySet own_capabilities() {
  return std::stoull(Seen::field(read_file("/proc/self/status"), "CapPrm"), nullptr, 16);
}

class Confine : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "confining a root command needs root";
  }
};

TEST_F(Confine, TheDefaultSetRefusesWhatDockerRefuses) {
  Seen seen = run_confined(default_capabilities());
  ASSERT_EQ(seen.setup, 0) << strerror(seen.setup);
  for (const char* refused :
       {"reboot", "mount", "umount2", "swapon", "kexec_load", "init_module", "keyctl", "pivot_root",
        "bpf", "personality(READ_IMPLIES_EXEC)", "socket(AF_VSOCK)", "unshare(CLONE_NEWNS)"})
    EXPECT_EQ(seen.calls[refused], EPERM) << refused << ": " << strerror(seen.calls[refused]);
  EXPECT_EQ(seen.calls["clone3"], ENOSYS);
  for (const char* works :
       {"getpid", "open", "socket(AF_INET)", "personality(query)", "fork", "pthread_create"})
    EXPECT_EQ(seen.calls[works], 0) << works << ": " << strerror(seen.calls[works]);
}

TEST_F(Confine, StatusShowsTheSetNoNewPrivsAndTheFilter) {
  Seen seen = run_confined(default_capabilities());
  ASSERT_EQ(seen.setup, 0) << strerror(seen.setup);
  // Before exec, and in the program exec'd: docker's 00000000a80425fb.
  for (const std::string& status : {seen.status, seen.exec_status}) {
    EXPECT_EQ(Seen::field(status, "CapEff"), "00000000a80425fb") << status;
    EXPECT_EQ(Seen::field(status, "CapPrm"), "00000000a80425fb");
    EXPECT_EQ(Seen::field(status, "CapBnd"), "00000000a80425fb");
    EXPECT_EQ(Seen::field(status, "CapInh"), "0000000000000000");
    EXPECT_EQ(Seen::field(status, "CapAmb"), "0000000000000000");
    EXPECT_EQ(Seen::field(status, "NoNewPrivs"), "1");
    EXPECT_EQ(Seen::field(status, "Seccomp"), "2");  // filter mode
  }
}

TEST_F(Confine, ACapabilityOpensItsCalls) {
  CapabilitySet caps = default_capabilities() | bit(CAP_SYS_ADMIN) | bit(CAP_SYS_BOOT);
  Seen seen = run_confined(caps);
  ASSERT_EQ(seen.setup, 0) << strerror(seen.setup);
  // Through the filter to the kernel, which then says what it says to root.
  EXPECT_EQ(seen.calls["reboot"], EINVAL);
  EXPECT_EQ(seen.calls["mount"], ENOENT);
  EXPECT_EQ(seen.calls["unshare(CLONE_NEWNS)"], 0);
  EXPECT_EQ(seen.calls["clone3"], EINVAL);
  // What no capability opens.
  for (const char* refused : {"swapon", "kexec_load", "keyctl", "pivot_root"})
    EXPECT_EQ(seen.calls[refused], EPERM) << refused;
  EXPECT_EQ(Seen::field(seen.exec_status, "CapEff"), mask(caps));
}

TEST_F(Confine, EveryCapabilityStillHasTheFilter) {
  Seen seen = run_confined(all_capabilities());
  ASSERT_EQ(seen.setup, 0) << strerror(seen.setup);
  for (const char* refused : {"swapon", "kexec_load", "keyctl", "pivot_root"})
    EXPECT_EQ(seen.calls[refused], EPERM) << refused;
  EXPECT_EQ(Seen::field(seen.exec_status, "CapEff"), mask(all_capabilities() & own_capabilities()));
}

TEST_F(Confine, NoCapabilities) {
  Seen seen = run_confined(0);
  ASSERT_EQ(seen.setup, 0) << strerror(seen.setup);
  EXPECT_EQ(Seen::field(seen.exec_status, "CapEff"), mask(0));
  EXPECT_EQ(Seen::field(seen.exec_status, "CapBnd"), mask(0));
  EXPECT_EQ(seen.calls["open"], 0);
}

TEST_F(Confine, AnotherUserHasNone) {
  Seen seen = run_confined(default_capabilities(), 65534);
  ASSERT_EQ(seen.setup, 0) << strerror(seen.setup);
  for (const std::string& status : {seen.status, seen.exec_status}) {
    EXPECT_EQ(Seen::field(status, "CapEff"), mask(0));
    EXPECT_EQ(Seen::field(status, "CapPrm"), mask(0));
    EXPECT_EQ(Seen::field(status, "CapBnd"), "00000000a80425fb");
    EXPECT_EQ(Seen::field(status, "NoNewPrivs"), "1");
  }
  EXPECT_EQ(seen.calls["mount"], EPERM);
  EXPECT_EQ(seen.calls["fork"], 0);
}

TEST(ConfineFilter, FitsTheKernelsLimit) {
  for (CapabilitySet caps : {CapabilitySet{0}, default_capabilities(), all_capabilities()}) {
    size_t x86_64 = prepare_confinement(caps, false).filter.size();
    size_t all = prepare_confinement(caps, true).filter.size();
    EXPECT_GT(x86_64, 100u);
    EXPECT_GT(all, x86_64);
    EXPECT_LE(all, size_t{BPF_MAXINSNS});
  }
}

}  // namespace
}  // namespace execvm::guest
