// CpioWriter: writes a newc cpio archive, the format the Linux kernel unpacks as an initramfs.
//
// Entries are written in the order they are added; the kernel's unpacker does not create missing
// parent directories, so every add_* first adds (mode 0755) each parent directory that was not
// already added as a directory or a symlink. Every entry is owned by uid/gid 0 with mtime 0, so
// that the same inputs give the same bytes. Paths are absolute ("/usr/bin/wc") and stored without
// the leading slash.
//
// Adding a path that was already added (by any add_*, or as an implied parent) is a no-op: the
// first entry wins.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

struct archive;

namespace execvm {

class CpioWriter {
 public:
  // Writes to FD, which stays open and owned by the caller. Throws Error when libarchive fails.
  explicit CpioWriter(int fd);
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
  std::unordered_set<std::string> added_;        // every path written, normalized
  std::unordered_set<std::string> non_parents_;  // added paths that cannot hold children
};

}  // namespace execvm
