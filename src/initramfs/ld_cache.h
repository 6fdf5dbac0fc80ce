// LdCache: the library name -> path table of glibc's /etc/ld.so.cache, as ld.so consults it.
//
// Only the "glibc-ld.so.cache1.1" format (what ldconfig writes since glibc 2.32) is read, and only
// its x86-64 libc6 entries (flags FLAG_ELF_LIBC6 | FLAG_X8664_LIB64) without a hwcap: the
// baseline library, which every x86-64 CPU can run. The old "ld.so-1.7.0" format is ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace execvm {

class LdCache {
 public:
  LdCache() = default;

  // Parses the contents of a cache file; nullopt when they are not a well-formed new-format,
  // little-endian cache.
  static std::optional<LdCache> parse(std::string_view data);

  // Reads the cache at PATH. Like ld.so, a missing, unreadable or malformed cache gives an empty
  // one: the search goes on in the default directories.
  static LdCache load(const std::string& path);

  // The path the cache gives for library NAME ("libc.so.6"); nullopt when it has none.
  std::optional<std::string> lookup(const std::string& name) const;

  size_t size() const { return paths_.size(); }

 private:
  std::unordered_map<std::string, std::string> paths_;  // the first matching entry per name
};

}  // namespace execvm
