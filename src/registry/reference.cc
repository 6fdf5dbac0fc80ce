#include "registry/reference.h"

#include <algorithm>
#include <cctype>

#include "image/digest.h"
#include "util/error.h"
#include "util/strings.h"

namespace execvm {
namespace {

constexpr size_t kMaxPathLength = 255;
constexpr const char* kHint =
    "write [HOST[:PORT]/]NAME[:TAG][@DIGEST] in lowercase, such as alpine:3.20, "
    "ghcr.io/org/app:1.2 or localhost:5000/app@sha256:<64 hex digits>";

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool is_word(char c) {
  return is_alnum(c) || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}
// [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
bool valid_path_component(std::string_view c) {
  size_t i = 0, n = c.size();
  auto alnums = [&] {
    size_t start = i;
    while (i < n && is_lower_alnum(c[i])) ++i;
    return i > start;
  };
  if (!alnums()) return false;
  while (i < n) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < n && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < n && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnums()) return false;
  }
  return true;
}

bool valid_path(std::string_view path) {
  if (path.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view c =
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    if (!valid_path_component(c)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// (?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])
bool valid_domain_component(std::string_view c) {
  if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) { return is_alnum(ch) || ch == '-'; });
}

// A DNS-like name or IPv4 address ("a.b.c"), or an IPv6 address in brackets ("[::1]"), then an
// optional ":PORT".
bool valid_domain(std::string_view d) {
  std::string_view host = d, port;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view inside = d.substr(1, close - 1);
    if (inside.find_first_not_of("0123456789abcdefABCDEF:") != std::string_view::npos) return false;
    host = d.substr(0, close + 1);
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    if (size_t colon = d.find(':'); colon != std::string_view::npos) {
      host = d.substr(0, colon);
      port = d.substr(colon + 1);
      if (port.empty()) return false;
    }
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      if (!valid_domain_component(
              host.substr(start, dot == std::string_view::npos ? host.npos : dot - start)))
        return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  return std::all_of(port.begin(), port.end(), is_digit);
}

// [\w][\w.-]{0,127}
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !is_word(t.front())) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; });
}

bool is_identifier(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return is_digit(c) || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string RegistryRef::domain() const {
  return docker_hub() ? std::string(kDockerHubDomain) : registry;
}

std::string RegistryRef::name() const {
  std::string out = domain() + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

RegistryRef parse_registry_ref(std::string_view text) {
  std::string quoted = "\"" + std::string(text) + "\"";
  auto fail = [&](const std::string& what) -> Error {
    return Error("the image reference " + quoted + " " + what, kHint);
  };
  if (text.empty()) throw Error("the image reference is empty", kHint);

  RegistryRef ref;
  ref.text = std::string(text);
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    ref.digest = parse_digest(digest, "the image reference " + quoted).str();
  }
  if (rest.empty()) throw fail("names no image before its digest");

  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag))
      throw fail("has a malformed tag \"" + std::string(tag) +
                 "\" (a tag is up to 128 letters, digits, '_', '.' and '-', not starting with "
                 "'.' or '-')");
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) throw fail("names no image before its tag");

  std::string domain, path;
  size_t first = rest.find('/');
  std::string_view head = rest.substr(0, first);
  if (first != std::string_view::npos && (head.find_first_of(".:") != std::string_view::npos ||
                                          head == "localhost" || has_upper(head))) {
    if (!valid_domain(head))
      throw fail("has a malformed registry host \"" + std::string(head) + "\"");
    domain = std::string(head);
    path = std::string(rest.substr(first + 1));
  } else {
    if (first == std::string_view::npos && is_identifier(rest))
      throw fail("is 64 hexadecimal digits, which reads as an image ID, not a name");
    domain = std::string(kDockerHubDomain);
    path = std::string(rest);
  }
  std::string host = to_lower(domain);
  if (host == "index.docker.io" || host == kDockerHubDomain) {
    ref.registry = std::string(kDockerHubRegistry);
    if (path.find('/') == std::string::npos) path = "library/" + path;
  } else {
    ref.registry = host;
  }

  if (has_upper(path)) throw fail("has uppercase letters in its repository name \"" + path + "\"");
  if (!valid_path(path))
    throw fail("has a malformed repository name \"" + path +
               "\" (components of lowercase letters and digits separated by '/', joined by "
               "'.', '_', '__' or dashes)");
  if (path.size() > kMaxPathLength)
    throw fail("has a repository name longer than " + std::to_string(kMaxPathLength) +
               " characters");
  ref.repository = path;
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace execvm
