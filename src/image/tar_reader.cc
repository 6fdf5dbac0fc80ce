#include "image/tar_reader.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "util/strings.h"

namespace execvm {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kBufferSize = 256 << 10;
// The most an extended header (PAX records, a GNU long name) may hold: far more than any
// name, link or set of xattrs that a filesystem takes.
constexpr uint64_t kMaxMetaSize = 1 << 20;
// The largest size that 11 octal digits (the ustar size field) can say.
constexpr uint64_t kMaxOctalSize = 077777777777ULL;

// Offsets and lengths of the ustar header's fields.
struct Field {
  size_t offset, length;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChecksum{148, 8}, kLinkname{157, 100}, kMagic{257, 6}, kVersion{263, 2},
    kDevMajor{329, 8}, kDevMinor{337, 8}, kPrefix{345, 155};
constexpr size_t kTypeflag = 156;

std::string_view field(const unsigned char* block, Field f) {
  return {reinterpret_cast<const char*>(block) + f.offset, f.length};
}

// A NUL-terminated string field (it may fill the field without a NUL).
std::string string_field(const unsigned char* block, Field f) {
  std::string_view v = field(block, f);
  return std::string(v.substr(0, v.find('\0')));
}

uint64_t padding_of(uint64_t size) {
  return (kBlock - size % kBlock) % kBlock;
}

// A numeric field: octal digits, padded with spaces or NULs on either side, or GNU's base-256
// (the high bit of the first byte set; 0xff first for a negative number). nullopt when it is
// neither.
std::optional<int64_t> number_field(const unsigned char* block, Field f) {
  std::string_view v = field(block, f);
  auto first = static_cast<unsigned char>(v[0]);
  if (first & 0x80) {
    if (first != 0x80 && first != 0xff) return std::nullopt;
    bool negative = first == 0xff;
    uint64_t x = 0;
    for (size_t i = 1; i < v.size(); ++i) {
      auto b = static_cast<unsigned char>(negative ? ~v[i] : v[i]);
      if (x >> 55) return std::nullopt;  // beyond 63 bits
      x = x << 8 | b;
    }
    if (x >> 63) return std::nullopt;
    return negative ? -static_cast<int64_t>(x) - 1 : static_cast<int64_t>(x);
  }
  size_t begin = 0, end = v.size();
  while (begin < end && (v[begin] == ' ' || v[begin] == '\0')) ++begin;
  while (end > begin && (v[end - 1] == ' ' || v[end - 1] == '\0')) --end;
  uint64_t x = 0;
  for (size_t i = begin; i < end; ++i) {
    if (v[i] < '0' || v[i] > '7') return std::nullopt;
    x = x << 3 | static_cast<uint64_t>(v[i] - '0');
  }
  return static_cast<int64_t>(x);  // at most 12 digits: 36 bits
}

bool is_zero_block(const char* p) {
  static const char zeros[kBlock] = {};
  return std::memcmp(p, zeros, kBlock) == 0;
}

// Whether the header's checksum field matches its bytes (summed as unsigned bytes, as POSIX
// says, or as signed ones, as some old writers did).
bool checksum_matches(const unsigned char* block) {
  auto stored = number_field(block, kChecksum);
  if (!stored) return false;
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.length;
    unsigned char c = in_field ? ' ' : block[i];
    unsigned_sum += c;
    signed_sum += static_cast<signed char>(c);
  }
  return *stored == unsigned_sum || *stored == signed_sum;
}

std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    x = x * 10 + static_cast<uint64_t>(c - '0');
  }
  return x;
}

// A PAX time: "[-]SECONDS[.FRACTION]"; the fraction is dropped.
std::optional<int64_t> parse_pax_time(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  size_t dot = s.find('.');
  if (dot != std::string_view::npos) {
    std::string_view fraction = s.substr(dot + 1);
    if (fraction.empty() || !parse_decimal(fraction.substr(0, 18))) return std::nullopt;
    if (fraction.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    s = s.substr(0, dot);
  }
  auto seconds = parse_decimal(s);
  if (!seconds || *seconds > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return negative ? -static_cast<int64_t>(*seconds) : static_cast<int64_t>(*seconds);
}

// libarchive's xattr names are URL-encoded ("%3D" for '=').
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hexval = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

// libarchive's xattr values are base64, with or without the '=' padding.
std::optional<std::string> lenient_base64(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  std::string padded(s);
  if (padded.size() % 4 == 1) return std::nullopt;
  while (padded.size() % 4) padded += '=';
  return base64_decode(padded);
}

// The records of a PAX extended header ("LENGTH KEY=VALUE\n" each), a key given twice with two
// values refused.
std::map<std::string, std::string> parse_pax(std::string_view data, const std::string& entry) {
  std::map<std::string, std::string> records;
  while (!data.empty()) {
    size_t space = data.find(' ');
    auto length =
        space == std::string_view::npos ? std::nullopt : parse_decimal(data.substr(0, space));
    if (!length || (data[0] == '0') || *length <= space + 1 || *length > data.size() ||
        data[*length - 1] != '\n') {
      throw TarError("a malformed PAX record", entry);
    }
    std::string_view record = data.substr(space + 1, *length - space - 2);
    data.remove_prefix(*length);
    size_t eq = record.find('=');
    if (eq == 0 || eq == std::string_view::npos) throw TarError("a malformed PAX record", entry);
    std::string key(record.substr(0, eq));
    std::string value(record.substr(eq + 1));
    auto [it, inserted] = records.emplace(key, value);
    if (!inserted && it->second != value) {
      throw TarError("a PAX header that gives '" + key + "' twice, with two values", entry);
    }
  }
  return records;
}

const char* type_name(char typeflag) {
  switch (typeflag) {
    case '1':
      return "hardlink";
    case '2':
      return "symlink";
    case '3':
      return "character device";
    case '4':
      return "block device";
    case '5':
      return "directory";
    case '6':
      return "fifo";
  }
  return "file";
}

}  // namespace

TarReader::TarReader(Source source) : source_(std::move(source)), buf_(kBufferSize) {}

bool TarReader::fill(size_t n) {
  if (end_ - pos_ >= n) return true;
  if (pos_ + n > buf_.size()) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  while (end_ - pos_ < n) {
    size_t got = source_(buf_.data() + end_, buf_.size() - end_);
    if (got == 0) return false;
    end_ += got;
  }
  return true;
}

void TarReader::skip(uint64_t n, const std::string& entry) {
  while (n > 0) {
    if (pos_ == end_) {
      pos_ = end_ = 0;
      if (!fill(1)) throw TarError("the archive ends inside an entry", entry);
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, end_ - pos_));
    pos_ += take;
    n -= take;
  }
}

std::string TarReader::read_meta(uint64_t size, const std::string& entry) {
  if (size > kMaxMetaSize) throw TarError("an extended header over 1 MiB", entry);
  std::string out;
  out.reserve(size);
  uint64_t left = size;
  while (left > 0) {
    if (pos_ == end_) {
      pos_ = end_ = 0;
      if (!fill(1)) throw TarError("the archive ends inside an extended header", entry);
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, end_ - pos_));
    out.append(buf_.data() + pos_, take);
    pos_ += take;
    left -= take;
  }
  skip(padding_of(size), entry);
  return out;
}

std::string_view TarReader::read_data() {
  if (data_left_ == 0) return {};
  if (pos_ == end_) {
    pos_ = end_ = 0;
    if (!fill(1)) throw TarError("the archive ends inside the data of this entry", name_);
  }
  size_t take = static_cast<size_t>(std::min<uint64_t>(data_left_, end_ - pos_));
  std::string_view out(buf_.data() + pos_, take);
  pos_ += take;
  data_left_ -= take;
  return out;
}

void TarReader::check_trailer() {
  // After the first zero block, only zeros may follow (more zero blocks, a writer's padding to
  // its record size): anything else is an archive that another reader would read on.
  for (;;) {
    for (size_t i = pos_; i < end_; ++i) {
      if (buf_[i] != 0) throw TarError("data after the end-of-archive marker", name_);
    }
    pos_ = end_ = 0;
    if (!fill(1)) break;
  }
  done_ = true;
}

bool TarReader::next(TarEntry& entry) {
  if (done_) return false;
  skip(data_left_ + padding_, name_);
  data_left_ = padding_ = 0;

  std::optional<std::map<std::string, std::string>> pax;
  std::optional<std::string> long_name, long_link;
  const std::string previous = name_;
  for (;;) {
    if (!fill(kBlock)) {
      if (end_ != pos_) throw TarError("the archive ends inside a header", previous);
      if (pax || long_name || long_link) {
        throw TarError("the archive ends after an extended header", previous);
      }
      done_ = true;  // no end-of-archive marker: accepted, as Go's reader does
      return false;
    }
    const char* raw = buf_.data() + pos_;
    const auto* h = reinterpret_cast<const unsigned char*>(raw);
    if (is_zero_block(raw)) {
      if (pax || long_name || long_link) {
        throw TarError("an extended header without an entry", previous);
      }
      pos_ += kBlock;
      check_trailer();
      return false;
    }
    std::string header_name = string_field(h, kName);
    const std::string& context = header_name.empty() ? previous : header_name;
    if (!checksum_matches(h)) throw TarError("a header with a wrong checksum", context);
    std::string_view magic = field(h, kMagic), version = field(h, kVersion);
    bool ustar = magic == std::string_view("ustar\0", 6) && version == "00";
    bool gnu = magic == "ustar " && version == std::string_view(" \0", 2);
    bool v7 = magic == std::string_view("\0\0\0\0\0\0", 6);
    if (!ustar && !gnu && !v7) throw TarError("a header of no known tar format", context);

    char typeflag = raw[kTypeflag];
    auto size_field = number_field(h, kSize);
    if (!size_field || *size_field < 0) throw TarError("a header with a bad size", context);
    uint64_t header_size = static_cast<uint64_t>(*size_field);
    pos_ += kBlock;

    if (typeflag == 'x' || typeflag == 'g') {
      if (!ustar) throw TarError("a PAX header in a non-POSIX archive", context);
      auto records = parse_pax(read_meta(header_size, context), context);
      if (typeflag == 'g') {
        // A global header applies to every later entry for some readers and to none for
        // others: only a comment (what `git archive` writes) reads the same both ways.
        for (const auto& [key, value] : records) {
          if (key != "comment") {
            throw TarError("a global PAX header that sets '" + key + "'", context);
          }
        }
        continue;
      }
      if (pax) throw TarError("two PAX headers for one entry", context);
      pax = std::move(records);
      continue;
    }
    if (typeflag == 'L' || typeflag == 'K') {
      if (!gnu) throw TarError("a GNU long name in a non-GNU archive", context);
      auto& slot = typeflag == 'L' ? long_name : long_link;
      if (slot) throw TarError("two GNU long names for one entry", context);
      std::string value = read_meta(header_size, context);
      while (!value.empty() && value.back() == '\0') value.pop_back();
      if (value.empty() || value.find('\0') != std::string::npos) {
        throw TarError("a malformed GNU long name", context);
      }
      slot = std::move(value);
      continue;
    }

    // The entry itself.
    TarEntry e;
    e.name = header_name;
    if (ustar) {
      std::string prefix = string_field(h, kPrefix);
      if (!prefix.empty()) e.name = prefix + "/" + e.name;
    }
    std::string ustar_name = e.name;
    e.link = string_field(h, kLinkname);
    if (long_name) {
      if (pax && pax->count("path")) throw TarError("both a PAX path and a GNU long name", context);
      e.name = *long_name;
    }
    if (long_link) {
      if (pax && pax->count("linkpath")) {
        throw TarError("both a PAX linkpath and a GNU long link", context);
      }
      e.link = *long_link;
    }
    auto mode = number_field(h, kMode), uid = number_field(h, kUid), gid = number_field(h, kGid),
         mtime = number_field(h, kMtime);
    if (!mode || !uid || !gid || !mtime || *mode < 0 || *uid < 0 || *gid < 0) {
      throw TarError("a header with a malformed number", context);
    }
    e.mode = static_cast<uint32_t>(*mode & 07777);
    e.uid = static_cast<uint64_t>(*uid);
    e.gid = static_cast<uint64_t>(*gid);
    e.mtime = *mtime;
    e.size = header_size;
    if (!v7) {
      auto major = number_field(h, kDevMajor), minor = number_field(h, kDevMinor);
      if (!major || !minor || *major < 0 || *minor < 0 || *major > UINT32_MAX ||
          *minor > UINT32_MAX) {
        throw TarError("a header with a malformed device number", context);
      }
      e.dev_major = static_cast<uint32_t>(*major);
      e.dev_minor = static_cast<uint32_t>(*minor);
    }

    if (pax) {
      for (const auto& [key, value] : *pax) {
        auto bad = [&] { return TarError("a PAX header with a malformed '" + key + "'", context); };
        if (key == "path" || key == "linkpath") {
          if (value.empty() || value.find('\0') != std::string::npos) throw bad();
          (key == "path" ? e.name : e.link) = value;
        } else if (key == "size") {
          auto size = parse_decimal(value);
          if (!size || *size > static_cast<uint64_t>(INT64_MAX)) throw bad();
          // A reader that takes the ustar size would find the next header elsewhere
          // (CVE-2025-62518): the two must agree wherever the ustar field can say the size.
          bool fits = *size <= kMaxOctalSize;
          if (fits ? header_size != *size
                   : header_size != 0 && header_size != *size && header_size != kMaxOctalSize) {
            throw TarError("a PAX size that differs from the header's size", context);
          }
          e.size = *size;
        } else if (key == "uid" || key == "gid") {
          auto id = parse_decimal(value);
          if (!id) throw bad();
          (key == "uid" ? e.uid : e.gid) = *id;
        } else if (key == "mtime") {
          auto t = parse_pax_time(value);
          if (!t) throw bad();
          e.mtime = *t;
        } else if (key == "SCHILY.devmajor" || key == "SCHILY.devminor") {
          auto n = parse_decimal(value);
          if (!n || *n > UINT32_MAX) throw bad();
          (key == "SCHILY.devmajor" ? e.dev_major : e.dev_minor) = static_cast<uint32_t>(*n);
        } else if (starts_with(key, "GNU.sparse.")) {
          throw TarError("a sparse file (not supported)", context);
        }
        // Xattrs are taken below, libarchive's spelling first. Other keys (uname, gname, atime,
        // ctime, charset, comment, vendor keys) change nothing execvm keeps.
      }
      // libarchive writes each xattr twice: LIBARCHIVE.xattr.NAME with NAME URL-encoded and the
      // value in base64, and SCHILY.xattr.NAME (star's, raw) with NAME URL-encoded too. A
      // SCHILY name is the same xattr as a LIBARCHIVE one when it is that one encoded; the two
      // must then agree.
      std::map<std::string, std::string> xattrs;
      auto add_xattr = [&](const std::string& name, const std::string& value) {
        auto [it, inserted] = xattrs.emplace(name, value);
        if (inserted) {
          e.xattrs.emplace_back(name, value);
        } else if (it->second != value) {
          throw TarError("a PAX header that gives xattr '" + name + "' two values", context);
        }
      };
      for (const auto& [key, value] : *pax) {
        if (!starts_with(key, "LIBARCHIVE.xattr.")) continue;
        auto name = url_decode(std::string_view(key).substr(17));
        auto decoded = lenient_base64(value);
        if (!name || name->empty() || !decoded) {
          throw TarError("a PAX header with a malformed '" + key + "'", context);
        }
        add_xattr(*name, *decoded);
      }
      for (const auto& [key, value] : *pax) {
        if (!starts_with(key, "SCHILY.xattr.")) continue;
        std::string raw = key.substr(13);
        if (raw.empty()) throw TarError("a PAX header with a malformed '" + key + "'", context);
        auto decoded_name = url_decode(raw);
        add_xattr(decoded_name && xattrs.count(*decoded_name) ? *decoded_name : raw, value);
      }
    }
    if (e.name.empty()) throw TarError("an entry without a name", previous);
    name_ = e.name;

    switch (typeflag) {
      case '0':
      case '7':
        e.type = TarEntry::Type::kFile;
        break;
      case '\0': {
        // Before POSIX, a directory was a regular entry whose name ends in '/': decided by the
        // header's own name by some readers, by the extended one by others.
        bool dir = ustar_name.ends_with('/');
        if (dir != e.name.ends_with('/')) {
          throw TarError("an entry that is a directory by one name and a file by another", name_);
        }
        e.type = dir ? TarEntry::Type::kDirectory : TarEntry::Type::kFile;
        break;
      }
      case '1':
        e.type = TarEntry::Type::kHardlink;
        break;
      case '2':
        e.type = TarEntry::Type::kSymlink;
        break;
      case '3':
        e.type = TarEntry::Type::kCharDevice;
        break;
      case '4':
        e.type = TarEntry::Type::kBlockDevice;
        break;
      case '5':
        e.type = TarEntry::Type::kDirectory;
        break;
      case '6':
        e.type = TarEntry::Type::kFifo;
        break;
      case 'S':
        throw TarError("a sparse file (not supported)", name_);
      default: {
        std::string shown = typeflag >= 0x20 && typeflag < 0x7f ? std::string(1, typeflag)
                                                                : "\\x" + hex({&typeflag, 1});
        throw TarError("an entry of unsupported type '" + shown + "'", name_);
      }
    }
    if (e.type != TarEntry::Type::kFile) {
      // Readers differ on whether the data of a header-only entry follows it: none may.
      if (e.size != 0) {
        throw TarError(std::string("a ") +
                           type_name(e.type == TarEntry::Type::kDirectory ? '5' : typeflag) +
                           " entry that carries data",
                       name_);
      }
    } else if (e.name.ends_with('/')) {
      throw TarError("a file whose name ends in '/'", name_);
    }
    if ((e.type == TarEntry::Type::kHardlink || e.type == TarEntry::Type::kSymlink) &&
        e.link.empty()) {
      throw TarError(std::string("a ") + type_name(typeflag) + " without a target", name_);
    }
    data_left_ = e.size;
    padding_ = padding_of(e.size);
    entry = std::move(e);
    return true;
  }
}

}  // namespace execvm
