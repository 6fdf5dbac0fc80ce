// The registry client: the distribution API v2 as `docker pull` uses it, for one repository of
// one registry (an endpoint: the registry itself or a mirror of it). It authenticates as the
// registry asks (a bearer token from the WWW-Authenticate challenge's realm, anonymous or with
// credentials, or basic auth), fetches manifests with the Accept headers of OCI's and Docker's
// manifests and indexes, and streams blobs into a BlobWriter, resuming an interrupted one with a
// Range request. Transient failures (5xx, resets, timeouts) are retried with backoff; 401, 403,
// 404 and 429 are each one line saying what to check. Safe to use from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/registries_conf.h"
#include "image/blob_store.h"
#include "image/digest.h"
#include "registry/auth_file.h"
#include "registry/http.h"
#include "registry/reference.h"

namespace execvm {

struct RegistryOptions {
  // Unset: TLS verified, plain HTTP refused, unless registries.conf marks the endpoint insecure.
  // false (--tls-verify=false): certificates not checked, plain HTTP allowed. true: verified even
  // where registries.conf says insecure.
  std::optional<bool> tls_verify;
  // --cert-dir: the directory of the CA certificates (*.crt) and client certificate (*.cert,
  // *.key) for every registry; empty: the registry's certs.d directory (certs_dir_for()).
  std::string cert_dir;
  // --authfile: the only auth file read; empty: default_auth_files().
  std::string auth_file;
  int attempts = 4;               // tries of a request that fails transiently
  long backoff_ms = 500;          // before the second try; doubled for each next one
  long low_speed_timeout_s = 60;  // a transfer under 1 byte/s this long is a failure (retried)
  // Notes for the user (a credential helper that failed): one line each, without "execvm: ".
  std::function<void(const std::string&)> note;
};

// The certs.d directory for REGISTRY ("host:port"): the first that exists of
// $XDG_CONFIG_HOME/containers/certs.d/REGISTRY, /etc/containers/certs.d/REGISTRY and
// /etc/docker/certs.d/REGISTRY; "" when none does.
std::string certs_dir_for(const std::string& registry);

// What docker-credential-NAME get answers for SERVER (run with SERVER on stdin). Throws Error
// when the helper is missing, fails or answers something else than its JSON.
Credentials run_credential_helper(const std::string& name, const std::string& server);

// The Accept header of a manifest request: OCI's and Docker's manifests and indexes.
std::string manifest_accept();

class RegistryClient {
 public:
  RegistryClient(RegistryEndpoint endpoint, RegistryOptions options);
  ~RegistryClient();

  const RegistryEndpoint& endpoint() const { return endpoint_; }
  // "registry/repository", for messages.
  std::string where() const;

  struct FetchedManifest {
    std::string body;
    std::string media_type;  // the Content-Type (parameters dropped)
    Digest digest;           // of BODY
  };
  // GET /v2/REPOSITORY/manifests/REFERENCE (a tag or a digest). A digest reference is checked
  // against the body; for a tag, a Docker-Content-Digest header that disagrees with the body is
  // an error. Throws Error (exit 125), one line: not found, unauthorized, denied, rate limited,
  // or the transport failure after the retries.
  FetchedManifest manifest(const std::string& reference);

  // GET /v2/REPOSITORY/blobs/DIGEST into WRITER (which checks the digest and size on commit),
  // resumed with Range after a dropped connection, and started again when the server answers a
  // Range request with the whole blob. PROGRESS sees the bytes written so far. WHAT names the
  // blob in messages ("layer 2 of 3 (sha256:...)").
  void blob(const Digest& digest, BlobWriter& writer, const std::string& what,
            const std::function<void(uint64_t)>& progress = {});

 private:
  struct Auth;
  std::string base_url();
  // One GET (or POST) with the endpoint's credentials and TLS settings, answering a 401 with
  // the authentication its challenge asks for (once), retrying transient failures.
  HttpResponse send(HttpRequest request, const std::string& what);
  [[noreturn]] void fail(const HttpResponse& response, const std::string& what) const;

  RegistryEndpoint endpoint_;
  RegistryOptions options_;
  bool tls_verify_;
  std::string scheme_;  // "https" or "http", found on first use when plain HTTP is allowed
  std::string certs_dir_;
  std::unique_ptr<Auth> auth_;
};

}  // namespace execvm
