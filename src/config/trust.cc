#include "config/trust.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/sha256.h"
#include "util/sys.h"

namespace execvm {

namespace {

// The record of FILE holding CONTENT: the path cannot hold a NUL, so the pair is unambiguous.
std::string record_name(const std::string& file, std::string_view content) {
  return sha256_hex(file + '\0' + std::string(content));
}

}  // namespace

std::string default_trust_dir() {
  return xdg_directory("XDG_DATA_HOME", ".local/share") + "/trusted";
}

std::string trust_name(const std::string& path) {
  std::filesystem::path p = std::filesystem::path(current_directory()) / path;
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::canonical(p.parent_path(), ec);
  if (ec) dir = p.parent_path().lexically_normal();  // gone: as written, to revoke it still
  return (dir / p.filename()).string();
}

bool TrustStore::trusts(const std::string& file, std::string_view content) const {
  return ::access((dir_ + "/" + record_name(file, content)).c_str(), F_OK) == 0;
}

void TrustStore::trust(const std::string& file, std::string_view content) {
  make_dirs(dir_);
  std::string name = record_name(file, content);
  std::string temporary = dir_ + "/.new-XXXXXX";
  Fd fd(::mkstemp(temporary.data()));
  if (!fd) throw_errno("cannot create a file in " + dir_);
  if (!write_all(fd.get(), file + "\n") || ::fsync(fd.get()) < 0 ||
      ::rename(temporary.c_str(), (dir_ + "/" + name).c_str()) < 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    throw_errno("cannot record consent in " + dir_, err);
  }
  for (const auto& [record, path] : records())
    if (path == file && record != name) ::unlink((dir_ + "/" + record).c_str());
}

bool TrustStore::revoke(const std::string& file) {
  bool found = false;
  for (const auto& [record, path] : records()) {
    if (path != file) continue;
    if (::unlink((dir_ + "/" + record).c_str()) < 0 && errno != ENOENT)
      throw_errno("cannot remove " + dir_ + "/" + record);
    found = true;
  }
  return found;
}

std::vector<std::string> TrustStore::list() const {
  std::vector<std::string> files;
  for (const auto& record : records()) files.push_back(record.second);
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::pair<std::string, std::string>> TrustStore::records() const {
  std::vector<std::pair<std::string, std::string>> out;
  DIR* dir = ::opendir(dir_.c_str());
  if (!dir) {
    if (errno == ENOENT) return out;  // nothing trusted yet
    throw_errno("cannot read " + dir_);
  }
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.') continue;  // ".", ".." and records being written
    try {
      std::string path = read_file(dir_ + "/" + name);
      if (!path.empty() && path.back() == '\n') path.pop_back();
      out.emplace_back(name, path);
    } catch (const Error&) {
      // Removed meanwhile by another execvm: not a record any more.
    }
  }
  ::closedir(dir);
  return out;
}

}  // namespace execvm
