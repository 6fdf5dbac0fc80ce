#include "host/disks.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <cerrno>

#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

// The id of disk I in QEMU's options, apart from any other drive of the run.
std::string drive_id(size_t i) {
  return "disk-" + std::to_string(i);
}

bool serial_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string serial_from_name(const std::string& name) {
  std::string out;
  for (char c : name.substr(0, kMaxDiskSerial)) out += serial_byte(c) ? c : '_';
  return out;
}

}  // namespace

DiskOption parse_disk_option(const std::string& text, const std::string& base,
                             const std::string& label) {
  std::string hint = "write FILE, FILE:ro, FILE:serial=NAME or FILE:ro:serial=NAME";
  DiskOption d;
  d.text = text;
  std::string file = text;
  bool mode_given = false, serial_given = false;
  for (;;) {
    size_t colon = file.rfind(':');
    if (colon == std::string::npos) break;
    std::string suffix = file.substr(colon + 1);
    if (suffix == "ro" || suffix == "rw") {
      if (mode_given) throw Error(label + ": :ro or :rw given twice", hint);
      mode_given = true;
      d.readonly = suffix == "ro";
    } else if (suffix.starts_with("serial=")) {
      if (serial_given) throw Error(label + ": serial= given twice", hint);
      serial_given = true;
      d.serial = suffix.substr(7);
      std::string rule = "a serial is 1 to " + std::to_string(kMaxDiskSerial) +
                         " letters, digits, '.', '_' or '-'";
      if (d.serial.empty() || d.serial.size() > kMaxDiskSerial)
        throw Error(label + ": serial " + shell_quote(d.serial) + " is not 1 to " +
                        std::to_string(kMaxDiskSerial) + " bytes long",
                    rule);
      for (char c : d.serial)
        if (!serial_byte(c))
          throw Error(label + ": serial " + shell_quote(d.serial) + " has a " +
                          shell_quote(std::string(1, c)),
                      rule);
    } else {
      break;  // part of the file's name
    }
    file.resize(colon);
  }
  if (file.empty()) throw Error(label + ": no file", hint);
  d.path = lexical_absolute(base, file);
  if (!serial_given) d.serial = serial_from_name(base_name(d.path));
  return d;
}

Disks::Disks(const std::vector<DiskOption>& options) {
  for (const DiskOption& o : options) {
    std::string label = "--disk " + shell_quote(o.text);
    Fd fd(::open(o.path.c_str(), (o.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY));
    std::string not_a_disk = label + ": " + o.path + " is not a file nor a block device";
    std::string make_one = "give a disk image (mkfs.ext4 -d DIR FILE SIZE makes one)";
    if (!fd && errno == EISDIR) throw Error(not_a_disk, make_one);
    if (!fd) {
      int err = errno;
      std::string hint = err == ENOENT                  ? "give the path of a disk image"
                         : !o.readonly && err == EACCES ? "attach it read-only with :ro"
                         : !o.readonly && err == EROFS  ? "attach it read-only with :ro"
                                                        : "";
      throw Error(label + ": cannot open " + o.path + (o.readonly ? "" : " for writing") + ": " +
                      strerror(err),
                  hint);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) throw_errno("stat " + o.path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) throw Error(not_a_disk, make_one);
    for (const Disk& other : disks_) {
      std::string other_label = "--disk " + shell_quote(other.option.text);
      if (other.option.serial == o.serial)
        throw Error(label + " and " + other_label + " have the same serial " + o.serial,
                    "give one of them :serial=NAME");
      struct stat ost;
      if (::fstat(other.fd.get(), &ost) < 0) throw_errno("stat " + other.option.path);
      bool same = S_ISBLK(st.st_mode) ? S_ISBLK(ost.st_mode) && ost.st_rdev == st.st_rdev
                                      : ost.st_dev == st.st_dev && ost.st_ino == st.st_ino;
      if (same && (!o.readonly || !other.option.readonly))
        throw Error(label + ": " + o.path + " is attached by " + other_label +
                        " too, and one of them writes to it",
                    "attach a file once, or only read-only (:ro) each time");
    }
    disks_.push_back({o, std::move(fd)});
  }
}

std::vector<std::string> virtio_disk_args(int fd, const std::string& id, const std::string& serial,
                                          bool readonly) {
  return {"-drive",
          "file=/proc/self/fd/" + std::to_string(fd) + ",format=raw,if=none,id=" + id +
              ",readonly=" + (readonly ? "on" : "off") + ",cache=writeback",
          "-device", "virtio-blk-device,drive=" + id + ",serial=" + serial};
}

std::vector<std::string> Disks::qemu_args() const {
  std::vector<std::string> args;
  for (size_t i = 0; i < disks_.size(); ++i) {
    const Disk& d = disks_[i];
    auto disk = virtio_disk_args(d.fd.get(), drive_id(i), d.option.serial, d.option.readonly);
    args.insert(args.end(), disk.begin(), disk.end());
  }
  return args;
}

std::vector<int> Disks::fds() const {
  std::vector<int> out;
  for (const Disk& d : disks_) out.push_back(d.fd.get());
  return out;
}

void Disks::vm_started() {
  for (Disk& d : disks_) d.fd.reset();
}

unsigned virtio_mmio_devices(const std::vector<std::string>& argv) {
  unsigned n = 0;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] != "-device") continue;
    std::string driver = argv[i + 1].substr(0, argv[i + 1].find(','));
    // virtio-*-device and vhost-user-*-device are the mmio forms; virtserialport and the like
    // sit on a bus of such a device.
    if (driver.ends_with("-device")) ++n;
  }
  return n;
}

void check_virtio_slots(const std::vector<std::string>& argv, size_t disks) {
  unsigned total = virtio_mmio_devices(argv);
  if (total <= kVirtioMmioSlots) return;
  unsigned others = total - static_cast<unsigned>(std::min<size_t>(disks, total));
  std::string slots = "microvm has " + std::to_string(kVirtioMmioSlots) + " virtio-mmio slots";
  if (disks == 0 || others >= kVirtioMmioSlots)
    throw Error("this run needs " + std::to_string(total) + " virtio devices and " + slots,
                disks ? "attach no --disk"
                      : "share fewer directories (over virtiofs they take one device in all), "
                        "or drop --network");
  unsigned fit = kVirtioMmioSlots - others;
  throw Error(
      "too many disks: " + slots + ", and this run's other devices (the channel, the " +
          "random number generator, the root and shares, any network) take " +
          std::to_string(others) + ", so " + std::to_string(fit) + " --disk fit, not " +
          std::to_string(disks),
      "attach at most " + std::to_string(fit) + " (a disk image can hold the files of several)");
}

}  // namespace execvm
