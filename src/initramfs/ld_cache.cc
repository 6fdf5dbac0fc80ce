#include "initramfs/ld_cache.h"

#include <cstdint>
#include <cstring>

#include "util/error.h"
#include "util/sys.h"

namespace execvm {

namespace {

// The layout of glibc's sysdeps/generic/dl-cache.h (struct cache_file_new, file_entry_new).
constexpr std::string_view kMagic = "glibc-ld.so.cache1.1";
constexpr size_t kHeaderSize = 48;  // magic 20, nlibs 4, len_strings 4, flags 1, pad 3,
                                    // extension_offset 4, unused 12
constexpr size_t kEntrySize = 24;   // flags 4, key 4, value 4, osversion 4, hwcap 8
constexpr uint8_t kEndianMask = 3, kLittleEndian = 2, kEndianUnset = 0;
constexpr int32_t kX8664Libc6 = 0x0303;  // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64

template <typename T>
T load_le(std::string_view data, size_t offset) {
  T value;
  std::memcpy(&value, data.data() + offset, sizeof value);  // x86-64 is little-endian too
  return value;
}

// The NUL-terminated string at OFFSET (string offsets count from the start of the file).
std::optional<std::string> string_at(std::string_view data, uint32_t offset) {
  if (offset >= data.size()) return std::nullopt;
  size_t end = data.find('\0', offset);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(data.substr(offset, end - offset));
}

}  // namespace

std::optional<LdCache> LdCache::parse(std::string_view data) {
  if (data.size() < kHeaderSize || data.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  uint32_t nlibs = load_le<uint32_t>(data, 20);
  uint8_t endian = load_le<uint8_t>(data, 28) & kEndianMask;
  if (endian != kLittleEndian && endian != kEndianUnset) return std::nullopt;
  if (nlibs > (data.size() - kHeaderSize) / kEntrySize) return std::nullopt;
  LdCache cache;
  for (uint32_t i = 0; i < nlibs; ++i) {
    size_t entry = kHeaderSize + size_t{i} * kEntrySize;
    int32_t flags = load_le<int32_t>(data, entry);
    uint64_t hwcap = load_le<uint64_t>(data, entry + 16);
    // ld.so's _dl_cache_check_flags on x86-64: only 64-bit libc6 libraries.
    if (flags != kX8664Libc6 || hwcap != 0) continue;
    auto key = string_at(data, load_le<uint32_t>(data, entry + 4));
    auto value = string_at(data, load_le<uint32_t>(data, entry + 8));
    if (!key || !value) return std::nullopt;
    cache.paths_.emplace(*key, *value);  // the first entry for a name wins, as in ld.so
  }
  return cache;
}

LdCache LdCache::load(const std::string& path) {
  std::string data;
  try {
    data = read_file(path);
  } catch (const Error&) {
    return {};  // ld.so goes on without a cache it cannot read
  }
  return parse(data).value_or(LdCache{});
}

std::optional<std::string> LdCache::lookup(const std::string& name) const {
  auto it = paths_.find(name);
  if (it == paths_.end()) return std::nullopt;
  return it->second;
}

}  // namespace execvm
