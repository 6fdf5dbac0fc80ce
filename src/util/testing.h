// Helpers for the unit tests only: a scratch directory with ways to fill it, and fixtures built
// with the host's C compiler.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/process.h"
#include "util/sys.h"
#include "util/temp_tree.h"

namespace execvm::testing {

// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything in it when
// destroyed, and ways to fill it.
class TempDir : public TempTree {
 public:
  TempDir() : TempTree(base() + "/execvm-test-") {}

  // PATH() + "/" + NAME.
  std::string operator/(std::string_view name) const { return path() + "/" + std::string(name); }

  // Creates the file NAME (its directory must exist) holding DATA.
  std::string write(std::string_view name, std::string_view data, mode_t mode = 0644) const {
    std::string p = *this / name;
    write_file(p, data, mode);
    ::chmod(p.c_str(), mode);
    return p;
  }
  std::string mkdir(std::string_view name) const {
    std::string p = *this / name;
    if (::mkdir(p.c_str(), 0755) < 0) throw_errno("mkdir " + p);
    return p;
  }
  std::string symlink(std::string_view name, const std::string& target) const {
    std::string p = *this / name;
    if (::symlink(target.c_str(), p.c_str()) < 0) throw_errno("symlink " + p);
    return p;
  }

 private:
  static std::string base() {
    const char* tmp = getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
  }
};

// One entry of a fake /etc/ld.so.cache.
struct LdCacheEntry {
  int32_t flags;  // 0x0303: an x86-64 libc6 library
  std::string key, value;
  uint64_t hwcap = 0;
};

// A new-format ld.so.cache as ldconfig lays it out: header, entries, then the strings. FLAGS is
// the header's endianness byte (2: little-endian).
inline std::string make_ld_cache(const std::vector<LdCacheEntry>& entries, uint8_t flags = 2) {
  auto put = [](std::string& out, size_t offset, auto value) {
    std::memcpy(out.data() + offset, &value, sizeof value);
  };
  std::string out(48 + 24 * entries.size(), '\0');
  std::memcpy(out.data(), "glibc-ld.so.cache1.1", 20);
  put(out, 20, static_cast<uint32_t>(entries.size()));
  put(out, 28, flags);
  for (size_t i = 0; i < entries.size(); ++i) {
    size_t e = 48 + 24 * i;
    put(out, e, entries[i].flags);
    put(out, e + 4, static_cast<uint32_t>(out.size()));
    out += entries[i].key + '\0';
    put(out, e + 8, static_cast<uint32_t>(out.size()));
    out += entries[i].value + '\0';
    put(out, e + 16, entries[i].hwcap);
  }
  return out;
}

// True when a C compiler can be run (tests that build fixtures skip without one).
inline bool have_cc() {
  return ::access("/usr/bin/cc", X_OK) == 0;
}

// Runs `cc ARGS` in DIR; throws Error with the compiler's output when it fails.
inline void cc(const TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"cc"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_capture(argv, true, dir.path());
  if (result.status != 0) throw Error("cc failed: " + result.output);
}

}  // namespace execvm::testing
