// CpioWriter: writes a newc cpio archive, the format the Linux kernel unpacks as an initramfs.
//
// Entries are written in the order they are added; the kernel's unpacker does not create missing
// parent directories, so every add_* first adds (mode 0755) each parent directory that was not
// already added as a directory or a symlink. Every entry is owned by uid/gid 0 with mtime 0, so
// that the same inputs give the same bytes. Paths are absolute ("/usr/bin/wc") and stored without
// the leading slash.
//
// Adding a path that was already added (by any add_*, or as an implied parent) is a no-op: the
// first entry wins. (add_entry keeps what an archive says of an entry instead: owner, mtime,
// device numbers, hard links.)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

struct archive;

namespace execvm {

// The compression of the whole archive, which the kernel undoes (its RD_GZIP and RD_ZSTD).
enum class CpioCompression { kNone, kGzip, kZstd };

// One entry as an archive (a tar, say) describes it.
struct CpioEntry {
  std::string path;  // absolute, as for every add_*
  mode_t mode = 0;   // file type and permission bits: S_IFREG | 0644
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime = 0;
  int64_t size = 0;                         // a regular file's: what READ gives
  std::string symlink;                      // a symlink's target
  unsigned rdev_major = 0, rdev_minor = 0;  // a character or block device's
  // Hard links: the entries with the same non-empty LINK are one file with NLINK names, which
  // the kernel links together; the first of them brings the data, the others have size 0.
  std::string link;
  unsigned nlink = 1;
};

class CpioWriter {
 public:
  // Writes to FD, which stays open and owned by the caller, compressed as COMPRESSION (the
  // same inputs still give the same bytes: gzip without a timestamp). Throws Error when
  // libarchive fails.
  explicit CpioWriter(int fd, CpioCompression compression = CpioCompression::kNone);
  // Frees the writer; never throws. Without finish() the archive is left incomplete: no trailer,
  // and up to one buffered block (10 KiB) of the last entries missing.
  ~CpioWriter();
  CpioWriter(const CpioWriter&) = delete;
  CpioWriter& operator=(const CpioWriter&) = delete;

  void add_directory(const std::string& path, mode_t mode = 0755);
  // A regular file holding DATA with permission bits MODE.
  void add_file(const std::string& path, std::string_view data, mode_t mode);
  // A regular file with the bytes (streamed) and permission bits of HOST_PATH, following symlinks.
  void add_host_file(const std::string& path, const std::string& host_path);
  void add_symlink(const std::string& path, const std::string& target);
  void add_char_device(const std::string& path, unsigned major, unsigned minor, mode_t mode);
  // ENTRY with its metadata as it is (a directory, file, symlink, device, FIFO or socket); a
  // regular file's ENTRY.size bytes come from READ, which fills its buffer with up to the size
  // asked for and returns how much it gave (0 at the end, which before the size is an error).
  // Throws Error for another file type, or when READ gives fewer bytes.
  void add_entry(const CpioEntry& entry,
                 const std::function<size_t(char* buffer, size_t size)>& read = {});

  // Writes the trailer and flushes. Idempotent; nothing can be added afterwards.
  void finish();

  // True when PATH was added, explicitly or as a parent directory (and for "/", which always is).
  bool contains(const std::string& path) const;

 private:
  struct Header;

  // Normalizes PATH, adds its missing parents; returns the normalized path, or "" when PATH was
  // already added (the caller then does nothing).
  std::string prepare(const std::string& path);
  void write_header(const Header& header);
  void write_data(const std::string& path, std::string_view data);
  [[noreturn]] void fail(const std::string& what) const;
  // libarchive's output callback: writes to fd_, or drops the bytes of an abandoned archive.
  static ssize_t write_callback(archive* a, void* self, const void* buffer, size_t size);

  int fd_;
  bool discard_ = false;
  archive* archive_ = nullptr;
  bool finished_ = false;
  int64_t next_inode_ = 1;
  std::unordered_set<std::string> added_;           // every path written, normalized
  std::unordered_set<std::string> non_parents_;     // added paths that cannot hold children
  std::unordered_map<std::string, int64_t> links_;  // CpioEntry::link -> its inode number
};

}  // namespace execvm
