#include "util/paths.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {

std::vector<std::string> directory_names(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {
constexpr const char* kSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

std::string xdg_directory(const char* variable, const char* under_home) {
  if (const char* xdg = getenv(variable); xdg && *xdg == '/') return std::string(xdg) + "/execvm";
  const char* home = getenv("HOME");
  if (!home || !*home) home = "/root";
  return std::string(home) + "/" + under_home + "/execvm";
}

std::string cache_root() {
  return xdg_directory("XDG_CACHE_HOME", ".cache");
}

std::string current_directory() {
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) throw_errno("cannot read the current directory");
  return buf;
}

std::string parent_directory(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

std::string join_path(const std::string& dir, std::string_view name) {
  if (!dir.empty() && dir.back() == '/') return dir + std::string(name);
  return dir + "/" + std::string(name);
}

std::string lexical_absolute(const std::string& base, const std::string& path) {
  std::string out = (std::filesystem::path(base) / path).lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool is_within(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (starts_with(path, dir) && path[dir.size()] == '/');
}

bool is_regular_file(const std::string& path, uint64_t* size) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (size) *size = static_cast<uint64_t>(st.st_size);
  return true;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string canonical_path(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return "";
  std::string out = real;
  free(real);
  return out;
}

void make_dirs(const std::string& dir, const std::function<void(const std::string&)>& made) {
  for (size_t end = dir.find('/', 1);; end = dir.find('/', end + 1)) {
    std::string part = dir.substr(0, end);
    struct stat st;
    if (!part.empty() && part != "/" && ::stat(part.c_str(), &st) != 0) {
      if (::mkdir(part.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("cannot create " + part);
      if (made) made(part);
    } else if (!part.empty() && !S_ISDIR(st.st_mode)) {
      throw Error(part + " exists and is not a directory");
    }
    if (end == std::string::npos) return;
  }
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
