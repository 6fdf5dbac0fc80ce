#include "registry/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "util/error.h"
#include "util/interrupt.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

constexpr int kMaxRedirects = 5;
constexpr size_t kMaxKeptBody = 16 << 20;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct UrlHandle {
  CURLU* url = curl_url();
  ~UrlHandle() { curl_url_cleanup(url); }
  std::string get(CURLUPart part) const {
    char* value = nullptr;
    if (curl_url_get(url, part, &value, 0) != CURLUE_OK || !value) return "";
    std::string out = value;
    curl_free(value);
    return out;
  }
};

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  bool sink_stopped = false;
  bool too_large = false;
  bool started = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) t->response->headers.clear();  // a new response (after 100)
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    t->response->headers.emplace_back(to_lower(std::string(trim(line.substr(0, colon)))),
                                      std::string(trim(line.substr(colon + 1))));
  return size * count;
}

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  // Only a final answer's body goes to the sink: a redirect's is dropped.
  long status = t->response->status;
  if (status >= 300 && status < 400) return n;
  if (t->request->on_body && status >= 200 && status < 300) {
    if (!t->started) {
      t->started = true;
      if (t->request->on_response) t->request->on_response(*t->response);
    }
    if (!t->request->on_body(data, n)) {
      t->sink_stopped = true;
      return 0;
    }
    return n;
  }
  if (t->response->body.size() + n > kMaxKeptBody) {
    t->too_large = true;
    return 0;
  }
  t->response->body.append(data, n);
  return n;
}

// The status is known once the headers are in: the write callback needs it.
size_t on_header_status(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    auto space = line.find(' ');
    if (space != std::string_view::npos)
      t->response->status =
          std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
  }
  return on_header(data, size, count, user);
}

// Ends a transfer when execvm is interrupted (util/interrupt.h).
int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return interrupted() ? 1 : 0;
}

// One request, no redirects followed.
HttpResponse get_once(const HttpRequest& request) {
  global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error("cannot start an HTTP client (libcurl)");
  HttpResponse response;
  Transfer transfer{&request, &response};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, request.tls_verify ? "https" : "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, request.low_speed_timeout_s);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "execvm/" EXECVM_VERSION);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header_status);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  if (!request.tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!request.post_body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.post_body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.post_body.size()));
  }
  std::string range;
  if (request.range_from) {
    range = std::to_string(*request.range_from) + "-";
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  if (!request.certs_dir.empty()) {
    // Docker's and podman's layout: ca.crt (any *.crt) as CAs, client.cert + client.key.
    for (const auto& name : directory_names(request.certs_dir)) {
      std::string path = join_path(request.certs_dir, name);
      if (name.ends_with(".crt")) curl_easy_setopt(c, CURLOPT_CAINFO, path.c_str());
      if (name.ends_with(".cert")) curl_easy_setopt(c, CURLOPT_SSLCERT, path.c_str());
      if (name.ends_with(".key")) curl_easy_setopt(c, CURLOPT_SSLKEY, path.c_str());
    }
  }
  struct curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers)
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hold(headers, curl_slist_free_all);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  char detail[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);

  CURLcode code = curl_easy_perform(c);
  throw_if_interrupted();
  if (code != CURLE_OK) {
    std::string why = transfer.sink_stopped ? "the download was stopped"
                      : transfer.too_large  ? "the answer is larger than 16 MiB"
                      : detail[0]           ? detail
                                            : curl_easy_strerror(code);
    std::string hint;
    if (code == CURLE_UNSUPPORTED_PROTOCOL && request.tls_verify)
      hint = "plain HTTP is only used with --tls-verify=false";
    else if (code == CURLE_SSL_CONNECT_ERROR && request.tls_verify)
      hint =
          "if the registry speaks plain HTTP, give --tls-verify=false or mark it insecure in "
          "registries.conf";
    else if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE)
      hint =
          "install the registry's CA in /etc/containers/certs.d/HOST/ca.crt, or use "
          "--tls-verify=false";
    throw Error("GET " + request.url + ": " + why, hint);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  response.url = request.url;
  return response;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  std::string out;
  for (const auto& [n, v] : headers)
    if (n == name) out = v;
  return out;
}

std::string resolve_url(const std::string& base, const std::string& location) {
  UrlHandle u;
  if (curl_url_set(u.url, CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      curl_url_set(u.url, CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
    throw Error("a redirect from " + base + " to '" + location + "', which is not a URL");
  return u.get(CURLUPART_URL);
}

std::string url_host(const std::string& url) {
  UrlHandle u;
  if (curl_url_set(u.url, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  std::string host = to_lower(u.get(CURLUPART_HOST));
  std::string port = u.get(CURLUPART_PORT);
  return port.empty() ? host : host + ":" + port;
}

HttpResponse http_get(HttpRequest request) {
  for (int hops = 0;; ++hops) {
    HttpResponse response = get_once(request);
    bool redirect = response.status == 301 || response.status == 302 || response.status == 303 ||
                    response.status == 307 || response.status == 308;
    std::string location = response.header("location");
    if (!redirect || location.empty()) return response;
    if (hops == kMaxRedirects)
      throw Error("GET " + request.url + ": more than " + std::to_string(kMaxRedirects) +
                  " redirects");
    std::string next = resolve_url(request.url, location);
    if (url_host(next) != url_host(request.url)) {
      // Another host (blob storage): the registry's credentials stay with the registry.
      std::erase_if(request.headers,
                    [](const auto& h) { return to_lower(h.first) == "authorization"; });
      request.certs_dir.clear();
    }
    if (request.tls_verify && next.starts_with("http://"))
      throw Error("GET " + request.url + ": redirected to plain HTTP (" + next + ")",
                  "plain HTTP is only used with --tls-verify=false");
    request.url = next;
  }
}

}  // namespace execvm
