#include "registry/auth_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {
namespace {

using nlohmann::json;

constexpr const char* kHint =
    "correct or remove it (docker login and podman login write it), or point "
    "REGISTRY_AUTH_FILE at another";

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// A host as an auths key names it, Docker Hub's spellings made one.
std::string canonical_host(std::string_view host) {
  std::string h = to_lower(host);
  if (h == "docker.io" || h == "index.docker.io" || h == kDockerHubRegistry)
    return std::string(kDockerHubRegistry);
  return h;
}

// How well KEY matches REF: -1 not at all; 0 a key with a scheme ("https://host/v1/"); 1 a plain
// host ("host:port"); 2 + its length for podman's "host/namespace/repo".
long match_rank(const std::string& key, const RegistryRef& ref) {
  std::string_view k = key;
  bool scheme = false;
  for (std::string_view prefix : {"https://", "http://"}) {
    if (to_lower(k.substr(0, prefix.size())) == prefix) {
      k.remove_prefix(prefix.size());
      scheme = true;
      break;
    }
  }
  size_t slash = k.find('/');
  std::string_view host = k.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : k.substr(slash + 1);
  if (canonical_host(host) != ref.registry) return -1;
  if (scheme) return 0;  // a legacy URL: its path ("/v1/") names no repository
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return 1;
  const std::string& repo = ref.repository;
  if (repo == path ||
      (repo.size() > path.size() && starts_with(repo, path) && repo[path.size()] == '/'))
    return 2 + static_cast<long>(path.size());
  return -1;
}

class AuthFile {
 public:
  AuthFile(std::string path, const std::string& text) : path_(std::move(path)) {
    if (trim(text).empty()) {
      root_ = json::object();
      return;
    }
    try {
      root_ = json::parse(text);
    } catch (const json::parse_error& e) {
      throw Error("the auth file " + path_ + " is not valid JSON (" + e.what() + ")", kHint);
    }
    if (!root_.is_object()) fail("its top level", "an object");
  }

  std::optional<Credentials> find(const RegistryRef& ref) const {
    if (auto helper = best_helper(ref)) return helper;
    if (const json* store = field(root_, "credsStore")) {
      std::string name = string_of(*store, "credsStore");
      if (!name.empty()) return Credentials{"", "", "", name, path_ + " (credsStore)"};
    }
    const json* auths = field(root_, "auths");
    if (!auths) return std::nullopt;
    if (!auths->is_object()) fail("auths", "an object");
    std::optional<Credentials> best;
    long best_rank = -1;
    for (const auto& [key, entry] : auths->items()) {
      long rank = match_rank(key, ref);
      if (rank <= best_rank) continue;
      std::string where = "auths." + quoted(key);
      if (!entry.is_object()) fail(where, "an object");
      Credentials c = credentials_of(entry, where);
      if (c.username.empty() && c.password.empty() && c.identity_token.empty()) continue;
      c.source = path_ + " (auths " + quoted(key) + ")";
      best = std::move(c);
      best_rank = rank;
    }
    return best;
  }

 private:
  [[noreturn]] void fail(const std::string& where, const std::string& want) const {
    throw Error("the auth file " + path_ + " has " + where + " that is not " + want, kHint);
  }

  static const json* field(const json& object, const char* name) {
    auto it = object.find(name);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  std::string string_of(const json& value, const std::string& where) const {
    if (!value.is_string()) fail(where, "a string");
    return value.get<std::string>();
  }

  std::optional<Credentials> best_helper(const RegistryRef& ref) const {
    const json* helpers = field(root_, "credHelpers");
    if (!helpers) return std::nullopt;
    if (!helpers->is_object()) fail("credHelpers", "an object");
    std::optional<Credentials> best;
    long best_rank = -1;
    for (const auto& [key, value] : helpers->items()) {
      std::string where = "credHelpers." + quoted(key);
      std::string name = string_of(value, where);
      long rank = match_rank(key, ref);
      if (rank <= best_rank || name.empty()) continue;
      best = Credentials{"", "", "", name, path_ + " (credHelpers " + quoted(key) + ")"};
      best_rank = rank;
    }
    return best;
  }

  Credentials credentials_of(const json& entry, const std::string& where) const {
    Credentials c;
    auto text = [&](const char* name) {
      const json* v = field(entry, name);
      return v ? string_of(*v, where + "." + name) : std::string();
    };
    std::string auth = text("auth");
    if (!auth.empty()) {
      std::optional<std::string> decoded = base64_decode(auth);
      size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos)
        throw Error("the auth file " + path_ + " has " + where +
                        ".auth that is not base64 of \"user:password\"",
                    kHint);
      c.username = decoded->substr(0, colon);
      c.password = decoded->substr(colon + 1);
    } else {
      c.username = text("username");
      c.password = text("password");
    }
    c.identity_token = text("identitytoken");
    return c;
  }

  std::string path_;
  json root_;
};

// The file's text, or nullopt when there is none at PATH.
std::optional<std::string> read_if_present(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::nullopt;
  return read_file(path);
}

}  // namespace

std::vector<std::string> default_auth_files() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  std::vector<std::string> files;
  if (std::string f = env("REGISTRY_AUTH_FILE"); !f.empty()) files.push_back(f);
  if (std::string d = env("XDG_RUNTIME_DIR"); !d.empty())
    files.push_back(d + "/containers/auth.json");
  if (std::string d = env("DOCKER_CONFIG"); !d.empty())
    files.push_back(d + "/config.json");
  else if (std::string h = env("HOME"); !h.empty())
    files.push_back(h + "/.docker/config.json");
  return files;
}

std::optional<Credentials> find_credentials(const RegistryRef& ref,
                                            const std::vector<std::string>& files) {
  for (const std::string& path : files) {
    std::optional<std::string> text = read_if_present(path);
    if (!text) continue;
    if (auto found = AuthFile(path, *text).find(ref)) return found;
  }
  return std::nullopt;
}

}  // namespace execvm
