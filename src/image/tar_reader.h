// TarReader: a strict reader of the tar streams that image layers are, written for execvm
// because a lenient reader is what a hostile layer exploits. It takes ustar, PAX (local
// headers; global ones only with comments) and GNU long names and links, and refuses what
// readers disagree about: a PAX size that the ustar header contradicts, a key given twice with
// two values, two extended headers for one entry, a header-only entry that carries data, a bad
// checksum, a malformed number, data after the end-of-archive marker, sparse files.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace execvm {

// What a tar entry says, with its extended headers applied.
struct TarEntry {
  enum class Type { kFile, kHardlink, kSymlink, kCharDevice, kBlockDevice, kDirectory, kFifo };
  Type type = Type::kFile;
  std::string name;   // as the archive spells it (PAX path, GNU long name or ustar prefix/name)
  std::string link;   // the target of a hardlink or symlink
  uint32_t mode = 0;  // permission bits with setuid, setgid and sticky (07777)
  uint64_t uid = 0, gid = 0;
  int64_t mtime = 0;  // seconds since the epoch (a PAX fraction is dropped)
  uint64_t size = 0;  // of the data that follows (regular files only)
  uint32_t dev_major = 0, dev_minor = 0;
  // Extended attributes from PAX SCHILY.xattr.* and LIBARCHIVE.xattr.*, in the order given.
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// A malformed or ambiguous archive. ENTRY names the entry it concerns ("" when none is known).
class TarError : public Error {
 public:
  TarError(std::string what, std::string entry)
      : Error(std::move(what)), entry_(std::move(entry)) {}
  const std::string& entry() const { return entry_; }

 private:
  std::string entry_;
};

class TarReader {
 public:
  // Fills BUF with up to SIZE bytes of the archive; 0 at its end.
  using Source = std::function<size_t(char* buf, size_t size)>;

  explicit TarReader(Source source);

  // Reads the next entry's header into ENTRY, skipping what is left of the previous entry's
  // data. False at the end of the archive, once the rest of the input was read and found to be
  // zeros. Throws TarError.
  bool next(TarEntry& entry);

  // The next piece of the current entry's data, valid until the next call; empty once all of it
  // was read. Throws TarError when the archive ends inside it.
  std::string_view read_data();

 private:
  // Makes at least N bytes available at data_ + pos_; false when the input ends first.
  bool fill(size_t n);
  // Reads and drops N bytes of the archive.
  void skip(uint64_t n, const std::string& entry);
  // Reads SIZE bytes of an extended header's data (and its padding) as a string.
  std::string read_meta(uint64_t size, const std::string& entry);
  void check_trailer();

  Source source_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;  // available bytes: buf_[pos_, end_)
  uint64_t data_left_ = 0;    // of the current entry's data
  uint64_t padding_ = 0;      // after it
  std::string name_;          // of the current entry, for errors
  bool done_ = false;
};

}  // namespace execvm
