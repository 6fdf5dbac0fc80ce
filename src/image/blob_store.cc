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
  BlobWriter writer(*this, expect, std::string(what));
  std::vector<char> buf(kBufferSize);
  for (;;) {
    size_t n = read(buf.data(), buf.size());
    if (n == 0) break;
    writer.write(std::string_view(buf.data(), n));
  }
  return writer.commit(check);
}

Fd BlobStore::lock_blob(const Digest& digest) const {
  std::string dir = join_path(dir_, "locks");
  make_dirs(dir);
  return lock_file(join_path(dir, digest.algorithm + "-" + digest.hex + ".lock"));
}

void BlobStore::unlock_blob(const Digest& digest, Fd held) const {
  std::string path =
      join_path(join_path(dir_, "locks"), digest.algorithm + "-" + digest.hex + ".lock");
  ::unlink(path.c_str());  // under the lock: a waiter then takes the file at PATH anew
  held.reset();
}

BlobWriter::BlobWriter(const BlobStore& store, BlobExpectation expect, std::string what)
    : store_(store),
      expect_(std::move(expect)),
      what_(std::move(what)),
      hasher_(expect_.digest ? expect_.digest->algorithm : "sha256") {
  std::string algorithm = expect_.digest ? expect_.digest->algorithm : "sha256";
  dir_ = join_path(join_path(store_.images_dir(), "blobs"), algorithm);
  make_dirs(dir_);
  std::string pattern = join_path(dir_, ".tmp-XXXXXX");
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  fd_ = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd_ < 0) throw_errno("cannot create a file in " + dir_);
  temp_path_ = buf.data();
}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void BlobWriter::write(std::string_view data) {
  if (data.empty()) return;
  if (expect_.size && blob_.size + data.size() > *expect_.size)
    throw Error(what_ + " is larger than the " + std::to_string(*expect_.size) +
                " bytes its descriptor says");
  if (blob_.head.size() < kBlobHeadSize)
    blob_.head.append(data.substr(0, kBlobHeadSize - blob_.head.size()));
  hasher_.update(data);
  if (!write_all(fd_, data)) throw_errno("cannot write " + what_ + " into " + dir_);
  blob_.size += data.size();
}

void BlobWriter::restart() {
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
    throw_errno("cannot start " + what_ + " again in " + dir_);
  hasher_ = DigestHasher(expect_.digest ? expect_.digest->algorithm : "sha256");
  blob_ = ImportedBlob{};
}

ImportedBlob BlobWriter::commit(const std::function<void(const ImportedBlob&)>& check) {
  if (temp_path_.empty()) throw Error(what_ + " was committed already");
  blob_.digest = hasher_.digest();
  check_result(blob_, expect_, what_);
  if (check) check(blob_);
  blob_.path = store_.path(blob_.digest);
  if (::fchmod(fd_, 0444) != 0) throw_errno("cannot set the mode of " + temp_path_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), blob_.path.c_str()) != 0)
    throw_errno("cannot rename into " + blob_.path);
  temp_path_.clear();
  return blob_;
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
