#include "guest/confine.h"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "util/error.h"
#include "util/fd.h"
#include "util/strings.h"

namespace execvm::guest {

namespace {

// The architectures a filter covers (docker's for amd64): x86_64 and, on a kernel that runs
// them, i386 and x32 programs.
enum Arches : unsigned { kX86_64 = 1, kX86 = 2, kX32 = 4, kAllArches = 7 };

// One rule of the profile: NAMES get ACTION (allow, or fail with ERRNO) on ARCHES, when the
// command has capability CAP (or, with WITHOUT, lacks it); with ANY_OF, only when one of these
// comparisons of an argument holds. CAP -1: whatever the capabilities.
struct Rule {
  std::vector<std::string> names;
  int cap = -1;
  bool without = false;
  int errno_value = 0;  // 0: allow
  std::vector<scmp_arg_cmp> any_of;
  unsigned arches = kAllArches;
};

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

// Allowed whatever the capabilities: docker's list, which includes 32-bit and newer calls
// (those a filter's architecture lacks are left out of it).
constexpr const char* kAllowed =
    "accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown "
    "chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
    "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
    "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
    "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit "
    "exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir "
    "fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr "
    "flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 "
    "fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv "
    "futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid "
    "geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp "
    "getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 "
    "getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid "
    "gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init "
    "inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents "
    "io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule "
    "landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat "
    "listen listmount listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr "
    "lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir "
    "mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify "
    "mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink "
    "mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap "
    "name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open "
    "pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 "
    "prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 "
    "pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg "
    "recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename renameat "
    "renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask "
    "rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 "
    "rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max "
    "sched_get_priority_min sched_getscheduler sched_rr_get_interval "
    "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
    "sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop "
    "semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 "
    "setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority "
    "setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 "
    "setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid "
    "setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd "
    "signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 "
    "statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time "
    "timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime "
    "timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
    "timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat "
    "uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid "
    "write writev";

// execvm's table of docker's default seccomp profile (moby/profiles, seccomp/default.json):
// everything else fails with EPERM. Among what it refuses: reboot, kexec_load, the module
// calls, mount and umount and the new mount API, swapon, pivot_root, setns, unshare and clone
// into namespaces, bpf, perf_event_open, keyctl, add_key, userfaultfd, acct, settimeofday: each
// opened only by the capability that lets the kernel allow it, as in docker.
std::vector<Rule> profile() {
  return {
      {.names = split(kAllowed, ' ')},
      // Allowed since Linux 4.8, when ptrace stopped being a way around seccomp.
      {.names = {"process_vm_readv", "process_vm_writev", "ptrace"}},
      // Every address family but AF_ALG (38) and AF_VSOCK (40).
      {.names = {"socket"},
       .any_of = {SCMP_A0(SCMP_CMP_LT, AF_ALG), SCMP_A0(SCMP_CMP_EQ, AF_ALG + 1),
                  SCMP_A0(SCMP_CMP_GT, AF_VSOCK)}},
      // PER_LINUX, UNAME26, PER_LINUX32, PER_LINUX32|UNAME26, and querying.
      {.names = {"personality"},
       .any_of = {SCMP_A0(SCMP_CMP_EQ, 0x0), SCMP_A0(SCMP_CMP_EQ, 0x0008),
                  SCMP_A0(SCMP_CMP_EQ, 0x20000), SCMP_A0(SCMP_CMP_EQ, 0x20008),
                  SCMP_A0(SCMP_CMP_EQ, 0xffffffff)}},
      {.names = {"arch_prctl"}, .arches = kX86_64 | kX32},
      {.names = {"modify_ldt"}},
      {.names = {"open_by_handle_at"}, .cap = CAP_DAC_READ_SEARCH},
      {.names = {"bpf",
                 "clone",
                 "clone3",
                 "fanotify_init",
                 "fsconfig",
                 "fsmount",
                 "fsopen",
                 "fspick",
                 "lookup_dcookie",
                 "lsm_get_self_attr",
                 "lsm_list_modules",
                 "lsm_set_self_attr",
                 "mount",
                 "mount_setattr",
                 "move_mount",
                 "open_tree",
                 "perf_event_open",
                 "quotactl",
                 "quotactl_fd",
                 "setdomainname",
                 "sethostname",
                 "setns",
                 "syslog",
                 "umount",
                 "umount2",
                 "unshare"},
       .cap = CAP_SYS_ADMIN},
      // Threads and processes, but no new namespaces without CAP_SYS_ADMIN.
      {.names = {"clone"},
       .cap = CAP_SYS_ADMIN,
       .without = true,
       .any_of = {SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0)}},
      // clone3's flags are in memory, out of a filter's reach: ENOSYS makes the C library fall
      // back to clone.
      {.names = {"clone3"}, .cap = CAP_SYS_ADMIN, .without = true, .errno_value = ENOSYS},
      {.names = {"reboot"}, .cap = CAP_SYS_BOOT},
      {.names = {"chroot"}, .cap = CAP_SYS_CHROOT},
      {.names = {"delete_module", "init_module", "finit_module"}, .cap = CAP_SYS_MODULE},
      {.names = {"acct"}, .cap = CAP_SYS_PACCT},
      {.names = {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
                 "ptrace"},
       .cap = CAP_SYS_PTRACE},
      {.names = {"iopl", "ioperm"}, .cap = CAP_SYS_RAWIO},
      {.names = {"settimeofday", "stime", "clock_settime", "clock_settime64"}, .cap = CAP_SYS_TIME},
      {.names = {"vhangup"}, .cap = CAP_SYS_TTY_CONFIG},
      {.names = {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},
       .cap = CAP_SYS_NICE},
      {.names = {"syslog"}, .cap = CAP_SYSLOG},
      {.names = {"bpf"}, .cap = CAP_BPF},
      {.names = {"perf_event_open"}, .cap = CAP_PERFMON},
  };
}

// x86_64's numbers of the calls that libseccomp 2.5.4 does not know by name.
struct Number {
  const char* name;
  int number;
};
constexpr Number kNewerCalls[] = {
    {"uretprobe", 335},
    {"statmount", 457},
    {"listmount", 458},
    {"lsm_get_self_attr", 459},
    {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},
    {"mseal", 462},
    // Linux 6.13
    {"setxattrat", 463},
    {"getxattrat", 464},
    {"listxattrat", 465},
    {"removexattrat", 466},
};

// NAME's number as libseccomp's rules take it (the native one, or libseccomp's own for a call
// x86_64 lacks), or -1 when it has none: a call of another architecture, or newer than both.
int syscall_number(const char* name, bool native) {
  int number = seccomp_syscall_resolve_name(name);
  if (number != __NR_SCMP_ERROR) return number;
  if (native)
    for (const Number& n : kNewerCalls)
      if (std::strcmp(n.name, name) == 0) return n.number;
  return -1;
}

// A libseccomp filter, released with it.
class Filter {
 public:
  explicit Filter(uint32_t arch) : ctx_(seccomp_init(SCMP_ACT_ERRNO(EPERM))) {
    if (!ctx_) throw Error("seccomp: cannot make a filter");
    if (arch != SCMP_ARCH_X86_64) {
      check(seccomp_arch_remove(ctx_, SCMP_ARCH_NATIVE), "remove the native architecture");
      check(seccomp_arch_add(ctx_, arch), "add an architecture");
    }
  }
  Filter(Filter&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  Filter& operator=(Filter&&) = delete;
  ~Filter() {
    if (ctx_) seccomp_release(ctx_);
  }
  scmp_filter_ctx get() const { return ctx_; }
  // Merges OTHER's architecture into this one (libseccomp takes OTHER's context).
  void merge(Filter&& other) {
    check(seccomp_merge(ctx_, other.ctx_), "merge the architectures");
    other.ctx_ = nullptr;
  }

  static void check(int rc, const std::string& what) {
    if (rc < 0) throw Error("seccomp: cannot " + what + ": " + std::strerror(-rc));
  }

 private:
  scmp_filter_ctx ctx_;
};

bool applies(const Rule& r, CapabilitySet caps, unsigned arch) {
  if (!(r.arches & arch)) return false;
  if (r.cap < 0) return true;
  bool has = caps & (CapabilitySet{1} << r.cap);
  return has != r.without;
}

Filter arch_filter(uint32_t token, unsigned arch, CapabilitySet caps) {
  Filter f(token);
  for (const Rule& r : profile()) {
    if (!applies(r, caps, arch)) continue;
    uint32_t action = r.errno_value ? SCMP_ACT_ERRNO(r.errno_value) : SCMP_ACT_ALLOW;
    for (const std::string& name : r.names) {
      int number = syscall_number(name.c_str(), arch == kX86_64);
      if (number == -1) continue;  // not on this architecture, or unknown (as runc skips them)
      std::string what = "add the rule for " + name;
      if (r.any_of.empty()) {
        Filter::check(seccomp_rule_add(f.get(), action, number, 0), what);
        continue;
      }
      for (const scmp_arg_cmp& cmp : r.any_of)
        Filter::check(seccomp_rule_add_array(f.get(), action, number, 1, &cmp), what);
    }
  }
  return f;
}

}  // namespace

bool kernel_runs_32_bit_programs() {
  // The sysctl that IA32 emulation brings (arch/x86/entry/vdso/vdso32-setup.c).
  return ::access("/proc/sys/abi/vsyscall32", F_OK) == 0;
}

Confinement prepare_confinement(CapabilitySet capabilities, bool also_32_bit) {
  Confinement c;
  c.capabilities = capabilities;
  Filter filter = arch_filter(SCMP_ARCH_X86_64, kX86_64, capabilities);
  // Without them, a call of theirs is for no architecture of the filter: the process is killed.
  // They make the filter three times larger and eight times slower to build (measured).
  if (also_32_bit) {
    filter.merge(arch_filter(SCMP_ARCH_X86, kX86, capabilities));
    filter.merge(arch_filter(SCMP_ARCH_X32, kX32, capabilities));
  }
  // A binary tree of the calls rather than a list: fewer instructions per call.
  Filter::check(seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize");
  // libseccomp writes the program to a file descriptor.
  Fd out(::memfd_create("execvm-seccomp", MFD_CLOEXEC));
  if (!out) throw_errno("memfd_create for the seccomp filter");
  Filter::check(seccomp_export_bpf(filter.get(), out.get()), "export the filter");
  off_t size = ::lseek(out.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) throw Error("seccomp: an empty filter");
  c.filter.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(out.get(), c.filter.data(), static_cast<size_t>(size), 0) != size)
    throw_errno("read the seccomp filter");
  return c;
}

int limit_capabilities(const Confinement& c) {
  for (int cap = 0; cap < 64; ++cap) {
    int in_set = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in_set < 0) break;  // beyond the kernel's last capability
    if (in_set == 1 && !(c.capabilities & (CapabilitySet{1} << cap)) &&
        ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      return errno;
  }
  return 0;
}

int confine(const Confinement& c) {
  // Root keeps the set (exec then gives it the bounding set, no more); others have none left
  // since they changed uid, and keep none. Inheritable stays empty, as docker has it since
  // CVE-2022-24769.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) < 0) return errno;
  CapabilitySet had = data[0].permitted | (CapabilitySet{data[1].permitted} << 32);
  CapabilitySet keep = ::geteuid() == 0 ? c.capabilities & had : 0;
  for (int i = 0; i < 2; ++i) {
    data[i].permitted = data[i].effective = static_cast<uint32_t>(keep >> (32 * i));
    data[i].inheritable = 0;
  }
  if (::syscall(SYS_capset, &header, data) < 0) return errno;
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return errno;
  // Neither setuid programs nor file capabilities give it more than it has.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno;
  sock_fprog program{static_cast<unsigned short>(c.filter.size()),
                     const_cast<sock_filter*>(c.filter.data())};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) return errno;
  return 0;
}

}  // namespace execvm::guest
