// Registry credentials from the auth files docker, podman and skopeo write: where they are kept
// for a registry, not the secrets a credential helper holds (the client runs the helper).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "registry/reference.h"

namespace execvm {

struct Credentials {
  std::string username, password;  // from "auth" (base64 "user:password") or the fields
  std::string identity_token;      // "identitytoken": an OAuth refresh token for the token realm
  std::string helper;  // "NAME" of docker-credential-NAME to run ("get") instead; the rest empty
  std::string source;  // which file and key, for messages: "FILE (auths \"ghcr.io\")"
};

// The auth files in the order they are read: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/
// auth.json, then $DOCKER_CONFIG/config.json or else $HOME/.docker/config.json; each only where
// its variable is set (and not empty).
std::vector<std::string> default_auth_files();

// Credentials for REF's registry from the first of FILES that has any (a missing file is
// skipped). In one file: a credHelpers entry for the registry names its helper; else credsStore
// names the helper for every registry; else the most specific "auths" entry that matches and
// holds something ("auth", "username"/"password" or "identitytoken"; an empty {} entry, which
// Docker writes beside a credsStore, does not count). An auths or credHelpers key matches in
// every form in use: "host", "host:port", "https://host", "http://host/v1/", and for Docker Hub
// "docker.io", "index.docker.io", "registry-1.docker.io" and "https://index.docker.io/v1/"
// (hosts compared lowercased); podman's "host/namespace[/repo]" keys match REF's repository and
// what lies under it, and the longest one wins over a plain host key, which wins over a key with
// a scheme. nullopt when no file has any. Throws Error (exit 125) naming the file and the field
// for a file that is not JSON, a field of the wrong type, or an "auth" that is not base64 of
// "user:password".
std::optional<Credentials> find_credentials(const RegistryRef& ref,
                                            const std::vector<std::string>& files);

}  // namespace execvm
