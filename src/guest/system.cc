#include "guest/system.h"

#include <cpuid.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "util/error.h"
#include "util/paths.h"
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

void mount_sys_and_dev(const std::string& root) {
  // The kernel's own views of devices, private to this VM.
  mount_one("sysfs", root + "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_one("devtmpfs", root + "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
}

void mount_runtime(const std::string& root) {
  // Processes: this VM's own.
  mount_one("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  // Terminals for the command when the caller has one; ptmx usable by any user.
  mount_one("devpts", root + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620,gid=5");
  // Shared memory: /dev is already a tmpfs of the guest's own.
  ::mkdir((root + "/dev/shm").c_str(), 01777);
  ::chmod((root + "/dev/shm").c_str(), 01777);
  // What udev would have made: the conventional links into /proc.
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                       {"/proc/self/fd/0", "/dev/stdin"},
                                                       {"/proc/self/fd/1", "/dev/stdout"},
                                                       {"/proc/self/fd/2", "/dev/stderr"}};
  for (auto [target, link] : links) ::symlink(target, (root + link).c_str());
  ::unlink((root + "/dev/ptmx").c_str());
  ::symlink("pts/ptmx", (root + "/dev/ptmx").c_str());
}

void mount_run_and_tmp(const std::string& root) {
  mount_one("tmpfs", root + "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_one("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

namespace {

// The first line of the file at PATH, or "" when it cannot be read.
std::string first_line(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[256];
  ssize_t n = f ? ::read(f.get(), buf, sizeof buf) : -1;
  if (n <= 0) return "";
  std::string_view text(buf, static_cast<size_t>(n));
  return std::string(trim(text.substr(0, text.find('\n'))));
}

}  // namespace

void make_disk_links(const std::string& root) {
  const std::string by_id = root + "/dev/disk/by-id";
  for (const std::string& disk : directory_names(root + "/sys/block")) {
    if (!disk.starts_with("vd")) continue;
    std::string serial = first_line(root + "/sys/block/" + disk + "/serial");
    // As udev's links have it: what cannot be in a file name becomes '_'.
    for (char& c : serial)
      if (c == '/' || c == ' ' || static_cast<unsigned char>(c) < 0x20) c = '_';
    if (serial.empty()) continue;
    try {
      make_dirs(by_id);
    } catch (const Error&) {
      return;  // no links, and the disks are still there by their device names
    }
    std::string link = by_id + "/virtio-" + serial;
    ::symlink(("../../" + disk).c_str(), link.c_str());
    for (const std::string& part : directory_names(root + "/sys/block/" + disk)) {
      std::string number = first_line(root + "/sys/block/" + disk + "/" + part + "/partition");
      if (!part.starts_with(disk) || number.empty()) continue;
      ::symlink(("../../" + part).c_str(), (link + "-part" + number).c_str());
    }
  }
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

namespace {

// The device of the virtio-serial port named NAME, e.g. "vport0p1", or "" when none is there yet.
std::string find_port(const std::string& name) {
  const std::string ports = "/sys/class/virtio-ports/";
  // execvm's VM has one virtio-serial device whose port 1 is the channel: try that first.
  if (first_line(ports + "vport0p1/name") == name) return "vport0p1";
  for (const std::string& port : directory_names(ports))
    if (first_line(ports + port + "/name") == name) return port;
  return "";
}

}  // namespace

Fd open_port(const std::string& name, int timeout_ms) {
  // Without udev there is no /dev/virtio-ports/: match the name under /sys. The
  // driver adds ports asynchronously after it probes, so the port may not be there yet.
  for (int waited = 0;; ++waited) {
    std::string port = find_port(name);
    if (!port.empty()) {
      std::string dev = "/dev/" + port;
      Fd fd(::open(dev.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
      if (fd) return fd;
      if (errno != ENOENT) throw_errno("open " + dev);
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

uint16_t debug_exit_port() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 31))) return 0;
  for (uint16_t port : {0x501, 0xf4}) {
    if (::ioperm(port, 1, 1) < 0) return 0;
    if (::inb(port) == 0) return port;
    ::ioperm(port, 1, 0);
  }
  return 0;
}

void power_off(std::optional<int> exit_status) {
  ::sync();
  // A root written through (--root-disk FILE:rw) is left clean, its journal empty, where nothing
  // holds it open for writing any more; an overlay root refuses, which does no harm.
  ::mount("", "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr);
  if (exit_status) {
    if (uint16_t port = debug_exit_port()) ::outb(static_cast<unsigned char>(*exit_status), port);
  }
  ::reboot(RB_AUTOBOOT);
  // Only reached if the kernel refused; PID 1 must never exit (that is a kernel panic).
  for (;;) ::pause();
}

}  // namespace execvm::guest
