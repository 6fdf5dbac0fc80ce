#include "registry/challenge.h"

#include <cctype>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {
namespace {

bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token68_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("-._~+/").find(c) != std::string_view::npos;
}
bool is_space(char c) {
  return c == ' ' || c == '\t';
}

class Parser {
 public:
  explicit Parser(std::string_view value) : s_(value) {}

  std::vector<Challenge> parse() {
    std::vector<Challenge> out;
    skip_separators();
    while (i_ < s_.size()) {
      Challenge c;
      c.scheme = to_lower(token("an authentication scheme"));
      skip_spaces();
      parse_params(c);
      out.push_back(std::move(c));
      skip_separators();
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("the registry's WWW-Authenticate header \"" + std::string(s_) +
                    "\" is malformed: " + what + " at character " + std::to_string(i_ + 1),
                "the registry answered with a challenge execvm cannot read; check its address "
                "and its authentication setup");
  }

  void skip_spaces() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  void skip_separators() {
    while (i_ < s_.size() && (is_space(s_[i_]) || s_[i_] == ',')) ++i_;
  }

  std::string_view token(const char* what) {
    size_t start = i_;
    while (i_ < s_.size() && is_tchar(s_[i_])) ++i_;
    if (i_ == start) fail(std::string("expected ") + what);
    return s_.substr(start, i_ - start);
  }

  std::string quoted_string() {
    ++i_;  // the opening quote
    std::string out;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (i_ == s_.size()) break;
        c = s_[i_++];
      }
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        fail("a control character in a quoted string");
      out += c;
    }
    fail("an unterminated quoted string");
  }

  // After "SCHEME ": nothing, a token68, or auth-params up to the next challenge's scheme (a
  // token not followed by '=') or the end.
  void parse_params(Challenge& c) {
    if (i_ == s_.size() || s_[i_] == ',') return;  // "Basic" alone, or "Basic, Bearer ..."
    // A token68: its characters, any '='s, then the end or a ','. ("realm=x" goes on past the
    // '=' and is a parameter.)
    size_t start = i_;
    while (i_ < s_.size() && is_token68_char(s_[i_])) ++i_;
    if (i_ > start) {
      while (i_ < s_.size() && s_[i_] == '=') ++i_;
      size_t end = i_;
      skip_spaces();
      if (i_ == s_.size() || s_[i_] == ',') {
        c.token68 = std::string(s_.substr(start, end - start));
        return;
      }
    }
    i_ = start;
    while (true) {
      std::string name = to_lower(token("a parameter name"));
      skip_spaces();
      if (i_ == s_.size() || s_[i_] != '=') fail("a parameter without '=' and a value");
      ++i_;
      skip_spaces();
      std::string value;
      if (i_ < s_.size() && s_[i_] == '"')
        value = quoted_string();
      else
        value = std::string(token("a parameter value"));
      if (!c.params.emplace(name, std::move(value)).second)
        fail("the parameter \"" + name + "\" given twice");
      skip_spaces();
      if (i_ == s_.size()) return;
      if (s_[i_] != ',') fail("expected ',' after a parameter");
      // Past the ',': another parameter, or the next challenge's scheme.
      skip_separators();
      if (i_ == s_.size()) return;
      size_t element = i_;
      token("a parameter or a scheme");
      skip_spaces();
      bool parameter = i_ < s_.size() && s_[i_] == '=';
      i_ = element;
      if (!parameter) return;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::vector<Challenge> parse_challenges(std::string_view value) {
  return Parser(value).parse();
}

std::string percent_encode(std::string_view value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string token_url(const Challenge& challenge, const std::string& scope) {
  auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() || realm->second.empty())
    throw Error("the registry's " + challenge.scheme + " challenge names no realm",
                "the registry's token service is not configured; check the registry's address");
  std::string url = realm->second;
  std::string lowered = to_lower(url.substr(0, 8));
  if (lowered.rfind("https://", 0) != 0 && lowered.rfind("http://", 0) != 0)
    throw Error("the registry's token realm \"" + url + "\" is not an http:// or https:// URL",
                "the registry's token service is misconfigured; check the registry's address");
  if (size_t hash = url.find('#'); hash != std::string::npos) url.resize(hash);
  std::string query;
  auto add = [&](const char* name, const std::string& v) {
    query += (query.empty() ? "" : "&") + std::string(name) + "=" + percent_encode(v);
  };
  if (auto service = challenge.params.find("service"); service != challenge.params.end())
    add("service", service->second);
  if (!scope.empty()) add("scope", scope);
  if (query.empty()) return url;
  if (url.find('?') == std::string::npos)
    url += '?';
  else if (url.back() != '?' && url.back() != '&')
    url += '&';
  return url + query;
}

}  // namespace execvm
