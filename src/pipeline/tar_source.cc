#include "pipeline/tar_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace execvm::pipeline {

namespace {

struct Output {
  int fd;
  int stop_fd;
  int err = 0;  // errno of a failed write
  bool stopped = false;
};

la_ssize_t write_out(struct archive* a, void* data, const void* buffer, size_t size) {
  auto* out = static_cast<Output*>(data);
  if (out->stop_fd >= 0) {
    struct pollfd p {
      out->stop_fd, POLLIN, 0
    };
    if (::poll(&p, 1, 0) > 0) {
      out->stopped = true;
      archive_set_error(a, EINTR, "stopped");
      return -1;
    }
  }
  const char* at = static_cast<const char*>(buffer);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(out->fd, at, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out->err = errno;
      archive_set_error(a, errno, "%s", strerror(errno));
      return -1;
    }
    at += n;
    left -= static_cast<size_t>(n);
  }
  return static_cast<la_ssize_t>(size);
}

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

int add_filter(struct archive* a, Compression c) {
  switch (c) {
    case Compression::kGzip:
      return archive_write_add_filter_gzip(a);
    case Compression::kZstd:
      return archive_write_add_filter_zstd(a);
    case Compression::kXz:
      return archive_write_add_filter_xz(a);
    case Compression::kNone:
      break;
  }
  return archive_write_add_filter_none(a);
}

}  // namespace

TarOutcome write_tar(const Tar& tar, int out_fd, int stop_fd) {
  Output out{out_fd, stop_fd};
  ArchivePtr a(archive_write_new(), archive_write_free);
  ArchivePtr disk(archive_read_disk_new(), archive_read_free);
  auto failure = [&](struct archive* from, const std::string& what) {
    if (out.stopped) return TarOutcome{130, "stopped"};
    if (out.err == EPIPE) return TarOutcome{141, "the reader of the archive went away"};
    const char* why = from ? archive_error_string(from) : nullptr;
    return TarOutcome{2, what + (why ? std::string(": ") + why : std::string())};
  };
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      add_filter(a.get(), tar.compression) != ARCHIVE_OK)
    return failure(a.get(), "cannot set up the archive");
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &out, nullptr, write_out, nullptr) != ARCHIVE_OK)
    return failure(a.get(), "cannot start the archive");
  archive_read_disk_set_standard_lookup(disk.get());
  for (const std::string& file : tar.files) {
    if (archive_read_disk_open(disk.get(), file.c_str()) != ARCHIVE_OK)
      return failure(disk.get(), file);
    for (;;) {
      EntryPtr entry(archive_entry_new(), archive_entry_free);
      int r = archive_read_next_header2(disk.get(), entry.get());
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return failure(disk.get(), file);
      archive_read_disk_descend(disk.get());
      // As tar names members: without the leading slashes of an absolute path.
      std::string name = archive_entry_pathname(entry.get());
      size_t slashes = name.find_first_not_of('/');
      if (slashes == std::string::npos) continue;  // "/" itself
      if (slashes > 0) archive_entry_copy_pathname(entry.get(), name.c_str() + slashes);
      if (archive_write_header(a.get(), entry.get()) < ARCHIVE_WARN) return failure(a.get(), name);
      if (archive_entry_filetype(entry.get()) != AE_IFREG || archive_entry_size(entry.get()) == 0)
        continue;
      const void* block;
      size_t size;
      la_int64_t offset, written = 0;
      static const char kZeros[65536] = {};
      while ((r = archive_read_data_block(disk.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        for (; written < offset;) {  // a hole of a sparse file, written as the zeros it reads as
          size_t n = static_cast<size_t>(std::min<la_int64_t>(offset - written, sizeof kZeros));
          if (archive_write_data(a.get(), kZeros, n) < 0) return failure(a.get(), name);
          written += static_cast<la_int64_t>(n);
        }
        if (archive_write_data(a.get(), block, size) < 0) return failure(a.get(), name);
        written += static_cast<la_int64_t>(size);
      }
      if (r != ARCHIVE_EOF) return failure(disk.get(), name);
    }
    archive_read_close(disk.get());
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return failure(a.get(), "cannot end the archive");
  return {};
}

}  // namespace execvm::pipeline
