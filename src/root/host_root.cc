#include "root/host_root.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {

namespace {

std::string canonical(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return "";
  std::string out = real;
  free(real);
  return out;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Whether PATH is DIR or inside it (both canonical).
bool is_within(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (starts_with(path, dir) && path[dir.size()] == '/');
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

}  // namespace

std::string find_work_tree(const std::string& dir) {
  for (std::string d = dir;; d = parent_of(d)) {
    if (exists(d + (d == "/" ? "" : "/") + ".git")) return d;
    if (d == "/") return dir;
  }
}

bool is_system_directory(const std::string& dir) {
  static const char* const kSystem[] = {"/usr",    "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                                        "/libx32", "/etc", "/boot", "/opt", "/var",   "/srv",
                                        "/proc",   "/sys", "/dev",  "/run", "/snap",  "/nix"};
  if (dir == "/" || dir == "/tmp" || dir == "/home") return true;
  for (const char* s : kSystem)
    if (is_within(dir, s)) return true;
  return false;
}

Share volume_share(const Volume& volume) {
  std::string label = "-v " + shell_quote(volume.text);
  auto bad = [&](const std::string& what) {
    return Error(label + ": " + what, "the form is -v HOST[:GUEST][:ro|:rw]");
  };
  Share share;
  share.reason = "-v";
  share.readonly = volume.readonly;
  share.host = canonical(volume.host);
  if (share.host.empty()) throw bad(volume.host + ": " + strerror(errno));
  if (!is_directory(share.host)) throw bad(volume.host + " is not a directory");
  share.guest = volume.guest.empty() ? share.host : volume.guest;
  check_guest_path(share.guest, label);
  return share;
}

std::vector<Share> plan_shares(const ShareRequest& request) {
  std::vector<Share> automatic;
  auto add = [&](const std::string& dir, const char* reason) {
    if (dir.empty() || is_system_directory(dir) || !is_directory(dir)) return;
    automatic.push_back({dir, dir, false, reason});
  };

  std::string cwd = canonical(request.cwd);
  if (!cwd.empty()) add(find_work_tree(cwd), "work tree");

  if (request.program.find('/') != std::string::npos) {
    std::string program =
        request.program[0] == '/' ? request.program : request.cwd + "/" + request.program;
    std::string dir = canonical(parent_of(program));
    // Under /tmp, the whole of the tool's directory there: go test's work directory holds
    // the test binary in one of its subdirectories.
    if (starts_with(dir, "/tmp/")) dir = dir.substr(0, dir.find('/', 5));
    add(dir, "program");
  }

  if (!request.tmpdir.empty()) {
    std::string tmpdir = canonical(request.tmpdir);
    if (starts_with(tmpdir, "/tmp/")) add(tmpdir, "TMPDIR");
  }

  std::vector<Share> shares;
  for (const auto& v : request.volumes) shares.push_back(volume_share(v));
  // Automatic shares are all mapped to themselves and writable: one inside another, or one
  // that a volume maps at the same path, adds nothing.
  for (const auto& a : automatic) {
    bool covered = false;
    for (const auto& other : automatic)
      covered = covered || (&other != &a && is_within(a.host, other.host) &&
                            (a.host != other.host || &other < &a));
    for (const auto& v : shares) covered = covered || v.guest == a.guest;
    if (!covered) shares.push_back(a);
  }
  // A later volume at the same guest path wins, as a later mount would hide an earlier one.
  std::vector<Share> out;
  for (size_t i = 0; i < shares.size(); ++i) {
    bool hidden = false;
    for (size_t j = i + 1; j < shares.size(); ++j)
      hidden = hidden || shares[j].guest == shares[i].guest;
    if (!hidden) out.push_back(shares[i]);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Share& a, const Share& b) { return a.guest < b.guest; });
  return out;
}

}  // namespace execvm
