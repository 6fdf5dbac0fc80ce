#include "util/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {

namespace {
constexpr const char* kSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

std::string cache_root() {
  if (const char* xdg = getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/execvm";
  const char* home = getenv("HOME");
  if (!home || !*home) home = "/root";
  return std::string(home) + "/.cache/execvm";
}

std::string current_directory() {
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) throw_errno("cannot read the current directory");
  return buf;
}

std::string canonical_path(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return "";
  std::string out = real;
  free(real);
  return out;
}

void make_dirs(const std::string& dir) {
  if (dir.empty()) return;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw Error(dir + " exists and is not a directory");
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) make_dirs(dir.substr(0, slash));
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("cannot create " + dir);
}

std::optional<std::string> find_program(const std::string& name, std::optional<std::string> path) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return name;
  if (!path) {
    // execvm's own helpers (QEMU, virtiofsd, make) are found even when the caller's PATH is
    // empty or odd: the system's directories come after it.
    const char* env = getenv("PATH");
    path = std::string(env && *env ? env : "") + (env && *env ? ":" : "") + kSystemPath;
  }
  for (const auto& dir : split(*path, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

}  // namespace execvm
