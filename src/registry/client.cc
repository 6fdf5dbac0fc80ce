#include "registry/client.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "image/oci.h"
#include "registry/challenge.h"
#include "util/error.h"
#include "util/interrupt.h"
#include "util/paths.h"
#include "util/process.h"
#include "util/strings.h"

namespace execvm {

using nlohmann::json;

namespace {

// The headers a 429 is quoted with, as registries spell them.
constexpr const char* kRateLimitHeaders[] = {"RateLimit-Limit", "RateLimit-Remaining",
                                             "RateLimit-Reset", "Retry-After",
                                             "Docker-RateLimit-Source"};

// The first error of a registry's error body ({"errors":[{"code","message"}]}), "" when none.
std::string registry_error(const std::string& body) {
  try {
    json j = json::parse(body);
    const json& errors = j.at("errors");
    if (!errors.is_array() || errors.empty()) return "";
    const json& e = errors[0];
    std::string code = e.value("code", ""), message = e.value("message", "");
    std::string out = code.empty() ? message : message.empty() ? code : code + ": " + message;
    for (char& c : out)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return out.size() > 200 ? out.substr(0, 200) + "..." : out;
  } catch (const std::exception&) {
    return "";
  }
}

// Waits MS milliseconds before a retry, ending early when execvm is interrupted.
void sleep_ms(long ms) {
  for (long waited = 0; waited < ms && !interrupted(); waited += 50)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50L, ms - waited)));
  throw_if_interrupted();
}

bool transient(long status) {
  return status == 408 || status >= 500;
}

}  // namespace

std::string certs_dir_for(const std::string& registry) {
  for (const std::string& root :
       {join_path(xdg_directory("XDG_CONFIG_HOME", ".config"), "containers/certs.d"),
        std::string("/etc/containers/certs.d"), std::string("/etc/docker/certs.d")}) {
    std::string dir = join_path(root, registry);
    if (is_directory(dir)) return dir;
  }
  return "";
}

Credentials run_credential_helper(const std::string& name, const std::string& server) {
  std::string program = "docker-credential-" + name;
  if (!find_program(program)) throw Error(program + " is not installed (not found in PATH)");
  CapturedRun run = run_capture({program, "get"}, false, "", server);
  if (run.status != 0) {
    std::string said(trim(run.output));
    throw Error(program + " get failed (status " + std::to_string(run.status) + ")" +
                (said.empty() ? "" : ": " + said.substr(0, 200)));
  }
  Credentials c;
  try {
    json j = json::parse(run.output);
    c.username = j.value("Username", "");
    std::string secret = j.value("Secret", "");
    // Docker's convention: a username of "<token>" marks an identity token.
    if (c.username == "<token>")
      c.identity_token = secret, c.username.clear();
    else
      c.password = secret;
  } catch (const std::exception&) {
    throw Error(program + " get answered something else than its JSON");
  }
  c.source = program;
  return c;
}

std::string manifest_accept() {
  return std::string(media_type::kOciIndex) + ", " + media_type::kOciManifest + ", " +
         media_type::kDockerList + ", " + media_type::kDockerManifest;
}

struct RegistryClient::Auth {
  std::mutex mutex;
  std::string header;  // "Bearer ..." or "Basic ...", once the registry asked for it
  bool looked_up = false;
  std::optional<Credentials> credentials;
  std::once_flag scheme_once;
};

RegistryClient::RegistryClient(RegistryEndpoint endpoint, RegistryOptions options)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      auth_(std::make_unique<Auth>()) {
  tls_verify_ = options_.tls_verify.value_or(!endpoint_.insecure);
  certs_dir_ = options_.cert_dir.empty() ? certs_dir_for(endpoint_.registry) : options_.cert_dir;
  scheme_ = "https";
}

RegistryClient::~RegistryClient() = default;

std::string RegistryClient::where() const {
  return endpoint_.registry + "/" + endpoint_.repository;
}

std::string RegistryClient::base_url() {
  // Where plain HTTP is allowed, HTTPS is tried first (as podman and docker do): a registry that
  // does not speak TLS fails the handshake at once.
  if (!tls_verify_) {
    std::call_once(auth_->scheme_once, [&] {
      HttpRequest ping;
      ping.url = "https://" + endpoint_.registry + "/v2/";
      ping.tls_verify = false;
      ping.connect_timeout_s = 10;
      try {
        http_get(ping);
      } catch (const Error&) {
        scheme_ = "http";
      }
    });
  }
  return scheme_ + "://" + endpoint_.registry;
}

HttpResponse RegistryClient::send(HttpRequest request, const std::string& what) {
  request.tls_verify = tls_verify_;
  request.certs_dir = certs_dir_;
  request.low_speed_timeout_s = options_.low_speed_timeout_s;
  bool authenticated = false;
  long backoff = options_.backoff_ms;
  for (int attempt = 1;; ++attempt) {
    HttpRequest r = request;
    std::string used;
    {
      std::lock_guard<std::mutex> hold(auth_->mutex);
      used = auth_->header;
    }
    if (!used.empty()) r.headers.emplace_back("Authorization", used);
    HttpResponse response;
    try {
      response = http_get(r);
    } catch (const Error&) {
      if (attempt >= options_.attempts || request.on_body || interrupted()) throw;
      sleep_ms(backoff);
      backoff *= 2;
      continue;
    }
    if (response.status == 401 && !authenticated) {
      authenticated = true;
      std::lock_guard<std::mutex> hold(auth_->mutex);
      // Another thread may have authenticated meanwhile.
      if (auth_->header == used) {
        std::string challenge_text = response.header("www-authenticate");
        if (challenge_text.empty()) fail(response, what);
        std::vector<Challenge> challenges = parse_challenges(challenge_text);
        auto pick = [&](const char* scheme) -> const Challenge* {
          for (const Challenge& c : challenges)
            if (c.scheme == scheme) return &c;
          return nullptr;
        };
        if (!auth_->looked_up) {
          auth_->looked_up = true;
          RegistryRef ref;
          ref.registry = endpoint_.registry;
          ref.repository = endpoint_.repository;
          std::vector<std::string> files = options_.auth_file.empty()
                                               ? default_auth_files()
                                               : std::vector<std::string>{options_.auth_file};
          auth_->credentials = find_credentials(ref, files);
          if (auth_->credentials && !auth_->credentials->helper.empty()) {
            std::string helper = auth_->credentials->helper;
            std::string server = ref.docker_hub() ? "https://index.docker.io/v1/" : ref.registry;
            try {
              auth_->credentials = run_credential_helper(helper, server);
            } catch (const Error& e) {
              if (options_.note)
                options_.note(std::string(e.what()) + "; trying " + endpoint_.registry +
                              " without credentials");
              auth_->credentials.reset();
            }
          }
        }
        const std::optional<Credentials>& creds = auth_->credentials;
        if (const Challenge* bearer = pick("bearer")) {
          std::string scope = "repository:" + endpoint_.repository + ":pull";
          HttpRequest token;
          token.tls_verify = tls_verify_;
          token.connect_timeout_s = request.connect_timeout_s;
          if (creds && !creds->identity_token.empty()) {
            // The OAuth2 refresh-token grant, posted to the realm.
            token.url = bearer->params.count("realm") ? bearer->params.at("realm") : "";
            token_url(*bearer, scope);  // checks the realm
            token.post_body = "grant_type=refresh_token&client_id=execvm&refresh_token=" +
                              percent_encode(creds->identity_token) +
                              "&scope=" + percent_encode(scope);
            if (bearer->params.count("service"))
              token.post_body += "&service=" + percent_encode(bearer->params.at("service"));
          } else {
            token.url = token_url(*bearer, scope);
            if (creds && !creds->username.empty())
              token.headers.emplace_back(
                  "Authorization",
                  "Basic " + base64_encode(creds->username + ":" + creds->password));
          }
          if (url_host(token.url) == url_host("https://" + endpoint_.registry))
            token.certs_dir = certs_dir_;
          HttpResponse answer;
          for (int t = 1;; ++t) {
            try {
              answer = http_get(token);
              if (!transient(answer.status) || t >= options_.attempts) break;
            } catch (const Error&) {
              if (t >= options_.attempts || interrupted()) throw;
            }
            sleep_ms(options_.backoff_ms << (t - 1));
          }
          if (answer.status != 200) {
            std::string detail = registry_error(answer.body);
            std::string why = "the token server " + url_host(token.url) + " answered " +
                              std::to_string(answer.status) +
                              (detail.empty() ? "" : " (" + detail + ")");
            throw Error(
                what + ": " + why,
                creds ? "the credentials from " + creds->source + " were refused; log in again"
                      : "it needs credentials: log in (podman login, docker login) or give "
                        "--authfile");
          }
          std::string value;
          try {
            json j = json::parse(answer.body);
            value = j.value("token", "");
            if (value.empty()) value = j.value("access_token", "");
          } catch (const std::exception&) {
          }
          if (value.empty())
            throw Error(what + ": the token server " + url_host(token.url) +
                        " answered without a token");
          auth_->header = "Bearer " + value;
        } else if (pick("basic")) {
          if (!creds || creds->username.empty()) fail(response, what);
          auth_->header = "Basic " + base64_encode(creds->username + ":" + creds->password);
        } else {
          fail(response, what);
        }
      }
      --attempt;  // authenticating is not a failed try
      continue;
    }
    if (transient(response.status) && attempt < options_.attempts && !request.on_body) {
      sleep_ms(backoff);
      backoff *= 2;
      continue;
    }
    return response;
  }
}

void RegistryClient::fail(const HttpResponse& response, const std::string& what) const {
  std::string detail = registry_error(response.body);
  std::string status = std::to_string(response.status);
  std::string suffix = detail.empty() ? "" : " (" + detail + ")";
  std::string login =
      "log in (podman login, docker login " + endpoint_.registry + ") or give --authfile FILE";
  const std::optional<Credentials>& creds = auth_->credentials;
  switch (response.status) {
    case 401:
      throw Error(what + ": " + where() + " answered 401 unauthorized" + suffix,
                  creds ? "the credentials from " + creds->source + " were refused; log in again"
                        : "it needs credentials: " + login);
    case 403:
      throw Error(what + ": " + where() + " answered 403 denied" + suffix,
                  creds ? "the credentials from " + creds->source + " do not allow pulling it"
                        : "it needs credentials: " + login);
    case 404:
      throw Error(what + " was not found in " + where() + " (404" +
                      (detail.empty() ? "" : ", " + detail) + ")",
                  "check the name and the tag or digest; a private repository may need "
                  "credentials: " +
                      login);
    case 429: {
      std::string quoted;
      for (const char* name : kRateLimitHeaders) {
        std::string value = response.header(to_lower(name));
        if (!value.empty())
          quoted += (quoted.empty() ? "" : ", ") + std::string(name) + ": " + value;
      }
      throw Error(what + ": " + where() + " answered 429 too many requests" +
                      (quoted.empty() ? "" : " (" + quoted + ")"),
                  "the registry limits pulls: wait and try again, or log in (an account gets a "
                  "higher limit)");
    }
    default:
      throw Error(what + ": " + where() + " answered HTTP " + status + suffix,
                  transient(response.status) ? "the registry is failing; try again later" : "");
  }
}

RegistryClient::FetchedManifest RegistryClient::manifest(const std::string& reference) {
  bool by_digest = reference.find(':') != std::string::npos;
  std::string what = by_digest ? "the manifest " + reference : "the tag " + reference;
  HttpRequest request;
  request.url = base_url() + "/v2/" + endpoint_.repository + "/manifests/" + reference;
  request.headers.emplace_back("Accept", manifest_accept());
  HttpResponse response = send(request, what);
  if (response.status != 200) fail(response, what);
  FetchedManifest out;
  out.body = std::move(response.body);
  std::string type = response.header("content-type");
  out.media_type = std::string(trim(type.substr(0, type.find(';'))));
  if (by_digest) {
    out.digest = parse_digest(reference, what);
    check_blob(out.body, BlobExpectation{out.digest, std::nullopt}, what);
  } else {
    out.digest = digest_of(out.body);
    std::string header = response.header("docker-content-digest");
    if (!header.empty() && header.starts_with("sha256:") && header != out.digest.str())
      throw Error(what + " does not match the digest the registry gives it (" + header +
                  "; its content is " + out.digest.str() + ")");
  }
  return out;
}

void RegistryClient::blob(const Digest& digest, BlobWriter& writer, const std::string& what,
                          const std::function<void(uint64_t)>& progress) {
  long backoff = options_.backoff_ms;
  for (int attempt = 1;; ++attempt) {
    HttpRequest request;
    request.url = base_url() + "/v2/" + endpoint_.repository + "/blobs/" + digest.str();
    if (writer.size() > 0) request.range_from = writer.size();
    bool whole = false;  // a Range request answered with the whole blob
    std::exception_ptr sink_error;
    request.on_response = [&](const HttpResponse& r) {
      whole = request.range_from && r.status == 200;
    };
    request.on_body = [&](const char* data, size_t size) {
      try {
        if (whole) {
          writer.restart();
          whole = false;
        }
        writer.write(std::string_view(data, size));
        if (progress) progress(writer.size());
        return true;
      } catch (...) {
        sink_error = std::current_exception();
        return false;
      }
    };
    HttpResponse response;
    try {
      response = send(request, what);
    } catch (const Error&) {
      if (sink_error && !interrupted()) std::rethrow_exception(sink_error);
      if (attempt >= options_.attempts || interrupted()) throw;
      sleep_ms(backoff);
      backoff *= 2;
      continue;  // resumed where the data stopped
    }
    if (sink_error) std::rethrow_exception(sink_error);
    if (response.status == 200 || response.status == 206) return;
    // Asked for the bytes after the end: the blob is all there (the writer checks it).
    if (response.status == 416 && request.range_from) return;
    if (transient(response.status) && attempt < options_.attempts) {
      sleep_ms(backoff);
      backoff *= 2;
      continue;
    }
    fail(response, what);
  }
}

}  // namespace execvm
