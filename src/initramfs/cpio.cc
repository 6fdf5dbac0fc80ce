#include "initramfs/cpio.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "util/error.h"
#include "util/fd.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr const char* kHint = "check the disk space and the permissions of the output";

// "/usr//bin/" -> "/usr/bin"; nullopt for relative paths and "." or ".." components, which the
// kernel's unpacker would not resolve the way the caller means.
std::optional<std::string> try_normalize(const std::string& path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::string out;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    if (part == "." || part == "..") return std::nullopt;
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

std::string normalize(const std::string& path) {
  auto normal = try_normalize(path);
  if (!normal)
    throw Error("cpio: bad archive path \"" + path + "\"",
                "use an absolute path without '.' or '..' components");
  return *normal;
}

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

// What one entry's header says, before it becomes a libarchive entry.
struct CpioWriter::Header {
  std::string path;  // normalized, with the leading slash
  mode_t type;       // AE_IFDIR, AE_IFREG, AE_IFLNK, AE_IFCHR, AE_IFBLK, AE_IFIFO, AE_IFSOCK
  mode_t permissions;
  int64_t size = 0;
  std::string symlink;
  unsigned major = 0, minor = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime = 0;
  int64_t ino = 0;     // 0: the next one
  unsigned nlink = 0;  // 0: one each (two for a directory)
};

namespace {

int add_filter(archive* a, CpioCompression compression) {
  switch (compression) {
    case CpioCompression::kNone:
      return archive_write_add_filter_none(a);
    case CpioCompression::kGzip:
      if (int r = archive_write_add_filter_gzip(a); r != ARCHIVE_OK) return r;
      return archive_write_set_filter_option(a, "gzip", "timestamp", nullptr);
    case CpioCompression::kZstd:
      return archive_write_add_filter_zstd(a);
  }
  return ARCHIVE_FATAL;
}

}  // namespace

CpioWriter::CpioWriter(int fd, CpioCompression compression) : fd_(fd) {
  archive_ = archive_write_new();
  if (!archive_) throw Error("cpio: cannot allocate a libarchive writer");
  if (archive_write_set_format_cpio_newc(archive_) != ARCHIVE_OK ||
      add_filter(archive_, compression) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(archive_, 1) != ARCHIVE_OK ||
      archive_write_open2(archive_, this, nullptr, &CpioWriter::write_callback, nullptr, nullptr) !=
          ARCHIVE_OK) {
    std::string why = archive_error_string(archive_) ? archive_error_string(archive_) : "unknown";
    archive_write_free(archive_);
    throw Error("cpio: cannot start an archive on fd " + std::to_string(fd) + ": " + why, kHint);
  }
}

CpioWriter::~CpioWriter() {
  // An unfinished archive is abandoned: closed (which frees libarchive's buffers) with its last
  // bytes and trailer discarded, so that nobody mistakes it for a complete one.
  if (!finished_) {
    discard_ = true;
    archive_write_close(archive_);
  }
  archive_write_free(archive_);
}

la_ssize_t CpioWriter::write_callback(archive* a, void* self, const void* buffer, size_t size) {
  auto* writer = static_cast<CpioWriter*>(self);
  if (writer->discard_) return static_cast<la_ssize_t>(size);
  if (!write_all(writer->fd_, std::string_view(static_cast<const char*>(buffer), size))) {
    archive_set_error(a, errno, "write: %s", strerror(errno));
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

void CpioWriter::fail(const std::string& what) const {
  const char* why = archive_error_string(archive_);
  throw Error("cpio: " + what + ": " + (why ? why : "unknown libarchive error"), kHint);
}

std::string CpioWriter::prepare(const std::string& path) {
  if (finished_) throw Error("cpio: cannot add " + path + ": the archive is already finished");
  std::string normal = normalize(path);
  if (normal == "/" || added_.count(normal)) return "";
  // Parents first: the kernel's unpacker does not create missing directories.
  for (size_t slash = normal.find('/', 1); slash != std::string::npos;
       slash = normal.find('/', slash + 1)) {
    std::string parent = normal.substr(0, slash);
    if (non_parents_.count(parent))
      throw Error("cpio: cannot add " + normal + ": " + parent + " is not a directory");
    if (!added_.count(parent)) write_header({parent, AE_IFDIR, 0755});
  }
  return normal;
}

void CpioWriter::write_header(const Header& h) {
  std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
  if (!entry) throw Error("cpio: cannot allocate an entry for " + h.path);
  archive_entry_set_pathname(entry.get(), h.path.c_str() + 1);
  archive_entry_set_filetype(entry.get(), h.type);
  archive_entry_set_perm(entry.get(), h.permissions & 07777);
  archive_entry_set_uid(entry.get(), h.uid);
  archive_entry_set_gid(entry.get(), h.gid);
  archive_entry_set_mtime(entry.get(), h.mtime, 0);
  archive_entry_set_ino(entry.get(), h.ino ? h.ino : next_inode_++);
  // One link each unless they are hard links, so that the kernel never takes two entries for
  // hard links of one file.
  archive_entry_set_nlink(entry.get(), h.nlink ? h.nlink : h.type == AE_IFDIR ? 2 : 1);
  archive_entry_set_size(entry.get(), h.type == AE_IFREG ? h.size : 0);  // the writer wants one
  if (h.type == AE_IFLNK) archive_entry_set_symlink(entry.get(), h.symlink.c_str());
  if (h.type == AE_IFCHR || h.type == AE_IFBLK) {
    archive_entry_set_rdevmajor(entry.get(), h.major);
    archive_entry_set_rdevminor(entry.get(), h.minor);
  }
  if (archive_write_header(archive_, entry.get()) != ARCHIVE_OK)
    fail("cannot write the header of " + h.path);
  added_.insert(h.path);
  if (h.type != AE_IFDIR && h.type != AE_IFLNK) non_parents_.insert(h.path);
}

void CpioWriter::write_data(const std::string& path, std::string_view data) {
  while (!data.empty()) {
    la_ssize_t n = archive_write_data(archive_, data.data(), data.size());
    if (n <= 0) fail("cannot write the contents of " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void CpioWriter::add_directory(const std::string& path, mode_t mode) {
  std::string normal = prepare(path);
  if (normal.empty()) return;
  write_header({normal, AE_IFDIR, mode});
}

void CpioWriter::add_file(const std::string& path, std::string_view data, mode_t mode) {
  std::string normal = prepare(path);
  if (normal.empty()) return;
  write_header({normal, AE_IFREG, mode, static_cast<int64_t>(data.size())});
  write_data(normal, data);
}

void CpioWriter::add_host_file(const std::string& path, const std::string& host_path) {
  Fd fd(::open(host_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("cpio: cannot open " + host_path + " to add it as " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) throw_errno("cpio: cannot stat " + host_path);
  if (!S_ISREG(st.st_mode))
    throw Error("cpio: cannot add " + host_path + " as " + path + ": not a regular file");
  std::string normal = prepare(path);
  if (normal.empty()) return;
  write_header({normal, AE_IFREG, st.st_mode, static_cast<int64_t>(st.st_size)});
  // Streamed: exactly the size the header announced, whatever happens to the file meanwhile.
  std::vector<char> buffer(1 << 16);
  off_t left = st.st_size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<off_t>(left, static_cast<off_t>(buffer.size())));
    ssize_t n = ::read(fd.get(), buffer.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cpio: cannot read " + host_path);
    if (n == 0)
      throw Error("cpio: " + host_path + " shrank while it was being added as " + path,
                  "retry when nothing is writing to it");
    write_data(normal, std::string_view(buffer.data(), static_cast<size_t>(n)));
    left -= n;
  }
}

void CpioWriter::add_symlink(const std::string& path, const std::string& target) {
  if (target.empty()) throw Error("cpio: symlink " + path + " has an empty target");
  std::string normal = prepare(path);
  if (normal.empty()) return;
  Header h{normal, AE_IFLNK, 0777};
  h.symlink = target;
  write_header(h);
}

void CpioWriter::add_char_device(const std::string& path, unsigned major, unsigned minor,
                                 mode_t mode) {
  std::string normal = prepare(path);
  if (normal.empty()) return;
  Header h{normal, AE_IFCHR, mode};
  h.major = major;
  h.minor = minor;
  write_header(h);
}

void CpioWriter::add_entry(const CpioEntry& e,
                           const std::function<size_t(char* buffer, size_t size)>& read) {
  mode_t type = e.mode & S_IFMT;
  if (type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK && type != AE_IFCHR &&
      type != AE_IFBLK && type != AE_IFIFO && type != AE_IFSOCK)
    throw Error("cpio: " + e.path + " is of a file type an initramfs cannot hold");
  if (type == AE_IFLNK && e.symlink.empty())
    throw Error("cpio: symlink " + e.path + " has an empty target");
  std::string normal = prepare(e.path);
  if (normal.empty()) return;
  Header h{normal, type, e.mode};
  h.size = type == AE_IFREG ? e.size : 0;
  h.symlink = e.symlink;
  h.major = e.rdev_major;
  h.minor = e.rdev_minor;
  h.uid = e.uid;
  h.gid = e.gid;
  h.mtime = e.mtime;
  if (!e.link.empty()) {
    auto [it, first] = links_.emplace(e.link, next_inode_);
    if (first) {
      ++next_inode_;
    } else {
      h.size = 0;  // the first entry brought it
    }
    h.ino = it->second;
    h.nlink = std::max(e.nlink, 2u);
  }
  write_header(h);
  std::vector<char> buffer(h.size > 0 ? 1 << 16 : 0);
  for (int64_t left = h.size; left > 0;) {
    size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buffer.size())));
    size_t n = read ? read(buffer.data(), want) : 0;
    if (n == 0 || n > want)
      throw Error("cpio: " + e.path + " has fewer bytes than its size, " + std::to_string(h.size));
    write_data(normal, std::string_view(buffer.data(), n));
    left -= static_cast<int64_t>(n);
  }
}

void CpioWriter::finish() {
  if (finished_) return;
  finished_ = true;
  if (archive_write_close(archive_) != ARCHIVE_OK) fail("cannot finish the archive");
}

bool CpioWriter::contains(const std::string& path) const {
  auto normal = try_normalize(path);
  return normal && (*normal == "/" || added_.count(*normal) > 0);
}

}  // namespace execvm
