// The WWW-Authenticate challenges a registry answers 401 with (RFC 7235), and the token request
// a bearer challenge asks for (the distribution token protocol).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace execvm {

struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lowercased, values unquoted and unescaped
  std::string token68;  // a scheme's single token instead of parameters ("Negotiate abc=="); rare
};

// Parses a WWW-Authenticate header value: one or more comma-separated challenges, each a scheme
// and then auth-params (NAME=TOKEN or NAME="quoted \"string\"") or one token68, as
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."
//   Basic realm="Registry Realm"
// Schemes and parameter names are case-insensitive (lowercased here); whitespace around '=' and
// ',' and empty list elements are allowed. An empty or blank VALUE has no challenges. A malformed
// value (an unterminated quoted string, a parameter without a value, a character no token holds,
// a parameter given twice in one challenge) is refused as a whole with an Error (exit 125)
// quoting it: a half-read challenge would send a token request the registry did not ask for.
std::vector<Challenge> parse_challenges(std::string_view value);

// The URL of the token request for a bearer CHALLENGE: its realm with service= (when the
// challenge names one) and scope=SCOPE (when not empty) appended to the realm's query, each
// percent-encoded (RFC 3986: all but A-Z a-z 0-9 - . _ ~). Throws Error (exit 125) when the
// challenge has no realm or the realm is not an http:// or https:// URL.
std::string token_url(const Challenge& challenge, const std::string& scope);

// VALUE percent-encoded for a URL's query: everything but RFC 3986's unreserved characters as %XX.
std::string percent_encode(std::string_view value);

}  // namespace execvm
