#include "guest/system.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm::guest {

namespace {

void mount_one(const char* source, const std::string& target, const char* fstype,
               unsigned long flags, const char* data) {
  ::mkdir(target.c_str(), 0755);
  if (::mount(source, target.c_str(), fstype, flags, data) < 0)
    throw_errno("mount " + std::string(fstype) + " on " + target);
}

}  // namespace

void mount_basics(const std::string& root) {
  constexpr unsigned long kNoExecDev = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  // The kernel's own views: processes and devices, private to this VM.
  mount_one("proc", root + "/proc", "proc", kNoExecDev, nullptr);
  mount_one("sysfs", root + "/sys", "sysfs", kNoExecDev, nullptr);
  mount_one("devtmpfs", root + "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
  // Terminals for the command when the caller has one; ptmx usable by any user.
  mount_one("devpts", root + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620,gid=5");
  // Shared memory and scratch space in RAM, writable by everyone like on a normal system.
  mount_one("shm", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_one("tmp", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_one("run", root + "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  // What udev would have made: the conventional links into /proc.
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                       {"/proc/self/fd/0", "/dev/stdin"},
                                                       {"/proc/self/fd/1", "/dev/stdout"},
                                                       {"/proc/self/fd/2", "/dev/stderr"}};
  for (auto [target, link] : links) ::symlink(target, (root + link).c_str());
  ::unlink((root + "/dev/ptmx").c_str());
  ::symlink("pts/ptmx", (root + "/dev/ptmx").c_str());
}

void bring_up_loopback() {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("socket for the loopback interface");
  struct ifreq ifr {};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) throw_errno("read the flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) throw_errno("bring up lo");
}

void set_realtime(int64_t realtime_ns) {
  if (realtime_ns <= 0) return;
  struct timespec ts {
    static_cast<time_t>(realtime_ns / 1'000'000'000), static_cast<long>(realtime_ns % 1'000'000'000)
  };
  if (::clock_settime(CLOCK_REALTIME, &ts) < 0) throw_errno("set the clock");
}

Fd open_port(const std::string& name, int timeout_ms) {
  // Without udev there is no /dev/virtio-ports/: match the name under /sys (NOTES.md). The
  // driver adds ports asynchronously after it probes, so the port may not be there yet.
  for (int waited = 0;; ++waited) {
    if (DIR* dir = ::opendir("/sys/class/virtio-ports")) {
      std::string found;
      while (struct dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        std::string base = std::string("/sys/class/virtio-ports/") + e->d_name;
        Fd f(::open((base + "/name").c_str(), O_RDONLY | O_CLOEXEC));
        if (!f) continue;
        char buf[256];
        ssize_t n = ::read(f.get(), buf, sizeof buf);
        if (n > 0 && trim(std::string_view(buf, static_cast<size_t>(n))) == name) found = e->d_name;
      }
      ::closedir(dir);
      if (!found.empty()) {
        std::string dev = "/dev/" + found;
        Fd port(::open(dev.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
        if (port) return port;
        if (errno != ENOENT) throw_errno("open " + dev);
      }
    }
    if (waited >= timeout_ms) break;
    ::usleep(1000);
  }
  throw Error("the virtio-serial port " + name + " did not appear");
}

void log_line(const std::string& line) {
  std::string out = "execvm-agent: " + line + "\n";
  write_all(STDERR_FILENO, out);
}

void power_off() {
  ::sync();
  ::reboot(RB_AUTOBOOT);
  // Only reached if the kernel refused; PID 1 must never exit (that is a kernel panic).
  for (;;) ::pause();
}

}  // namespace execvm::guest
