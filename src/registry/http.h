// HTTP for the registry client, over libcurl: one GET at a time, the body streamed to a sink,
// redirects followed here rather than by libcurl so that credentials never go to another host
// (a registry redirects blob downloads to storage elsewhere), TLS verified against the system's
// CAs plus a registry's own certs.d directory, plain HTTP only when asked for.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace execvm {

struct HttpResponse;

struct HttpRequest {
  std::string url;
  std::string post_body;  // not empty: a POST of this form (application/x-www-form-urlencoded)
  std::vector<std::pair<std::string, std::string>> headers;  // "Authorization", "Bearer ..."
  std::optional<uint64_t> range_from;  // Range: bytes=N- (resuming a download)
  bool tls_verify = true;              // false: plain http:// allowed, certificates not checked
  std::string certs_dir;  // a certs.d/HOST directory: *.crt are CAs, *.cert + *.key a client
  long connect_timeout_s = 30;
  long low_speed_timeout_s = 60;  // give up when under 1 byte/s for this long
  // Takes the body as it comes; return false to stop (the request then fails). Unset: the body
  // is kept in HttpResponse::body (for small documents; at most 16 MiB).
  std::function<bool(const char* data, size_t size)> on_body;
  // Sees a final 2xx answer's status and headers before ON_BODY gets any of its body: a resumed
  // download learns whether the server sent the part asked for (206) or all of it (200). It must
  // not throw.
  std::function<void(const HttpResponse&)> on_response;
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;
  std::string url;  // where the answer came from, after redirects
  // The value of the last header NAME (lowercase), or "".
  std::string header(const std::string& name) const;
};

// The URL that LOCATION (absolute, or relative to BASE) names. Throws Error when it is none.
std::string resolve_url(const std::string& base, const std::string& location);

// The host[:port] of URL, lowercased ("" when URL has none).
std::string url_host(const std::string& url);

// GETs (or POSTs) REQUEST.url, following up to 5 redirects (301, 302, 303, 307, 308) itself and
// dropping Authorization when one leads to another host. Throws Error (exit 125) for a transport
// failure (no connection, TLS, a timeout, a sink that stopped), saying which URL and why; an HTTP
// error status is a response, for the caller to explain.
HttpResponse http_get(HttpRequest request);

}  // namespace execvm
