// BlobStore: blobs kept by their content's digest under IMAGES_DIR/blobs/ALGORITHM/HEX. A blob is
// written to a temporary name in that same directory and renamed into place only once its digest
// (and size) matched, so that the store never holds a partial or wrong blob under a digest's name,
// and two writers of one blob at once both succeed, leaving one file.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "image/digest.h"
#include "util/fd.h"

struct archive;

namespace execvm {

inline constexpr size_t kBlobHeadSize = 512;

// What a blob being imported must be; either may be unknown.
struct BlobExpectation {
  std::optional<Digest> digest;  // when unset, the blob is hashed with sha256 and kept by that
  std::optional<uint64_t> size;
};

struct ImportedBlob {
  Digest digest;
  uint64_t size = 0;
  std::string path;  // in the store
  std::string head;  // its first kBlobHeadSize bytes (fewer when it is shorter): a tar header, a
                     // compression's magic
};

// Checks DATA against EXPECT as import() would (the same messages), writing nothing.
void check_blob(std::string_view data, const BlobExpectation& expect, std::string_view what);

class BlobStore;

// A blob being written into a store as it arrives (a download): bytes are hashed and written to a
// temporary file in the store, which commit() checks and renames into place. A writer that goes
// without commit() leaves nothing behind.
class BlobWriter {
 public:
  BlobWriter(const BlobStore& store, BlobExpectation expect, std::string what);
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Appends DATA. Throws Error when it makes the blob larger than expected or cannot be written.
  void write(std::string_view data);
  // The bytes written so far (where a resumed download goes on from).
  uint64_t size() const { return blob_.size; }
  // Drops what was written: the blob starts again from its first byte.
  void restart();
  // Checks what was written against the expectation (and CHECK), and renames it into place.
  // Throws Error as BlobStore::import does, leaving nothing.
  ImportedBlob commit(const std::function<void(const ImportedBlob&)>& check = {});

 private:
  const BlobStore& store_;
  BlobExpectation expect_;
  std::string what_, dir_, temp_path_;
  int fd_ = -1;
  DigestHasher hasher_;
  ImportedBlob blob_;
};

class BlobStore {
 public:
  // Reads up to CAP bytes into BUF; returns how many, 0 at the end. Throws Error on failure.
  using Reader = std::function<size_t(char* buf, size_t cap)>;
  // Sees a blob once it is hashed, before it is renamed into place: throwing leaves nothing.
  using Check = std::function<void(const ImportedBlob&)>;

  explicit BlobStore(std::string images_dir);

  const std::string& images_dir() const { return dir_; }
  // IMAGES_DIR/blobs/ALGORITHM/HEX (whether or not it is there).
  std::string path(const Digest& digest) const;
  // Whether the store holds DIGEST as a regular file (of SIZE bytes, when given).
  bool contains(const Digest& digest, std::optional<uint64_t> size = std::nullopt) const;

  // Imports what READ gives, hashing it on the way. When it differs from EXPECT (another digest,
  // more or fewer bytes), or CHECK throws, or reading or writing fails, throws Error naming WHAT
  // ("layer 2") and leaves nothing behind, no temporary file either.
  ImportedBlob import(const Reader& read, const BlobExpectation& expect, std::string_view what,
                      const Check& check = {}) const;
  // The same, from FD (read to its end) or DATA, or from the data of the entry ARCHIVE (a
  // libarchive reader) is at.
  ImportedBlob import_fd(int fd, const BlobExpectation& expect, std::string_view what,
                         const Check& check = {}) const;
  ImportedBlob import_bytes(std::string_view data, const BlobExpectation& expect,
                            std::string_view what, const Check& check = {}) const;
  ImportedBlob import_entry(struct archive* archive, const BlobExpectation& expect,
                            std::string_view what, const Check& check = {}) const;

  // An exclusive lock on DIGEST's blob (a file under IMAGES_DIR/locks/), for one writer of it at
  // a time among processes: whoever holds it and finds the blob missing fetches it. Held until
  // the Fd goes; unlock_blob() removes the lock file while it is held.
  Fd lock_blob(const Digest& digest) const;
  void unlock_blob(const Digest& digest, Fd held) const;

 private:
  std::string dir_;
};

}  // namespace execvm
