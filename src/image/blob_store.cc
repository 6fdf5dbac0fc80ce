#include "image/blob_store.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr size_t kBufferSize = 1 << 20;

// A temporary file that is removed unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(const std::string& dir) {
    std::string pattern = join_path(dir, ".tmp-XXXXXX");
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    fd_.reset(::mkostemp(buf.data(), O_CLOEXEC));
    if (!fd_) throw_errno("cannot create a file in " + dir);
    path_ = buf.data();
  }
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  void commit(const std::string& target) {
    if (::fchmod(fd_.get(), 0444) != 0) throw_errno("cannot set the mode of " + path_);
    fd_.reset();
    if (::rename(path_.c_str(), target.c_str()) != 0) throw_errno("cannot rename into " + target);
    path_.clear();
  }

 private:
  Fd fd_;
  std::string path_;
};

void check_result(const ImportedBlob& blob, const BlobExpectation& expect, std::string_view what) {
  if (expect.size && blob.size != *expect.size)
    throw Error(std::string(what) + " has " + std::to_string(blob.size) + " bytes, not the " +
                std::to_string(*expect.size) + " its descriptor says");
  if (expect.digest && blob.digest != *expect.digest) {
    // WHAT may name the blob by that digest already ("the manifest sha256:...").
    std::string digest = expect.digest->str();
    bool named = what.find(digest) != std::string_view::npos;
    throw Error(std::string(what) + " does not match its digest" + (named ? "" : " " + digest) +
                " (its content is " + blob.digest.str() + ")");
  }
}

}  // namespace

void check_blob(std::string_view data, const BlobExpectation& expect, std::string_view what) {
  ImportedBlob blob;
  blob.size = data.size();
  if (expect.size && blob.size != *expect.size) check_result(blob, expect, what);
  blob.digest = digest_of(data, expect.digest ? expect.digest->algorithm : "sha256");
  check_result(blob, expect, what);
}

BlobStore::BlobStore(std::string images_dir) : dir_(std::move(images_dir)) {}

std::string BlobStore::path(const Digest& digest) const {
  return join_path(join_path(join_path(dir_, "blobs"), digest.algorithm), digest.hex);
}

bool BlobStore::contains(const Digest& digest, std::optional<uint64_t> size) const {
  struct stat st;
  if (::lstat(path(digest).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return !size || static_cast<uint64_t>(st.st_size) == *size;
}

ImportedBlob BlobStore::import(const Reader& read, const BlobExpectation& expect,
                               std::string_view what, const Check& check) const {
  std::string algorithm = expect.digest ? expect.digest->algorithm : "sha256";
  std::string dir = join_path(join_path(dir_, "blobs"), algorithm);
  make_dirs(dir);
  TempFile temp(dir);
  DigestHasher hasher(algorithm);
  ImportedBlob blob;
  std::vector<char> buf(kBufferSize);
  for (;;) {
    size_t n = read(buf.data(), buf.size());
    if (n == 0) break;
    if (expect.size && blob.size + n > *expect.size)
      throw Error(std::string(what) + " is larger than the " + std::to_string(*expect.size) +
                  " bytes its descriptor says");
    if (blob.head.size() < kBlobHeadSize)
      blob.head.append(buf.data(), std::min(n, kBlobHeadSize - blob.head.size()));
    hasher.update(buf.data(), n);
    if (!write_all(temp.fd(), std::string_view(buf.data(), n)))
      throw_errno("cannot write " + std::string(what) + " into " + dir);
    blob.size += n;
  }
  blob.digest = hasher.digest();
  check_result(blob, expect, what);
  if (check) check(blob);
  blob.path = path(blob.digest);
  temp.commit(blob.path);
  return blob;
}

ImportedBlob BlobStore::import_fd(int fd, const BlobExpectation& expect, std::string_view what,
                                  const Check& check) const {
  return import(
      [&](char* buf, size_t cap) -> size_t {
        for (;;) {
          ssize_t n = ::read(fd, buf, cap);
          if (n >= 0) return static_cast<size_t>(n);
          if (errno != EINTR) throw_errno("cannot read " + std::string(what));
        }
      },
      expect, what, check);
}

ImportedBlob BlobStore::import_bytes(std::string_view data, const BlobExpectation& expect,
                                     std::string_view what, const Check& check) const {
  return import(
      [&](char* buf, size_t cap) -> size_t {
        size_t n = std::min(cap, data.size());
        std::memcpy(buf, data.data(), n);
        data.remove_prefix(n);
        return n;
      },
      expect, what, check);
}

ImportedBlob BlobStore::import_entry(struct archive* a, const BlobExpectation& expect,
                                     std::string_view what, const Check& check) const {
  return import(
      [&](char* buf, size_t cap) -> size_t {
        la_ssize_t n = archive_read_data(a, buf, cap);
        if (n < 0)
          throw Error("cannot read " + std::string(what) +
                      ": the archive is truncated or damaged (" +
                      (archive_error_string(a) ? archive_error_string(a) : "read error") + ")");
        return static_cast<size_t>(n);
      },
      expect, what, check);
}

}  // namespace execvm
