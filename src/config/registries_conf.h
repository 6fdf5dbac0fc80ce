// registries.conf (containers-registries.conf(5), version 2, as podman and skopeo read it): which
// registries are plain HTTP (insecure), which are blocked, their mirrors, and a prefix rewritten
// to another location. execvm reads [[registry]] tables with their [[registry.mirror]] entries,
// and version 1's [registries.insecure] and [registries.block] lists; the rest (short-name
// aliases, search registries) is not execvm's and is passed over.
#pragma once

#include <string>
#include <vector>

#include "registry/reference.h"

namespace execvm {

struct RegistryMirror {
  std::string location;  // "mirror.example:5000/cache"
  bool insecure = false;
  bool pull_from_mirror_digest_only = false;  // pull-from-mirror = "digest-only"
  bool pull_from_mirror_tag_only = false;     // pull-from-mirror = "tag-only"
};

struct RegistryConf {
  std::string prefix;    // what references it applies to: "host[:port][/path]" (or "*.domain")
  std::string location;  // where to pull them from instead ("" : the prefix itself)
  bool insecure = false;
  bool blocked = false;
  bool mirror_by_digest_only = false;
  std::vector<RegistryMirror> mirrors;
  std::string source;  // "FILE" it came from, for messages
};

struct RegistriesConf {
  std::vector<RegistryConf> registries;  // in the order read; a later prefix replaces an earlier
};

// The files read, in order: $CONTAINERS_REGISTRIES_CONF alone when it is set, else
// /etc/containers/registries.conf and then /etc/containers/registries.conf.d/*.conf sorted by
// name ($HOME/.config/containers/registries.conf replaces the system's file when it exists).
std::vector<std::string> default_registries_conf_files();

// Reads FILES (missing ones skipped). Throws Error (exit 125) naming the file, line and key for a
// file that is not TOML or a key of the wrong type.
RegistriesConf load_registries_conf(const std::vector<std::string>& files);

// Where to pull REF from, in the order to try: its mirrors (those allowed for a tag or a digest
// reference), then the registry itself (or its location rewritten), each with the repository the
// rewritten prefix gives and whether plain HTTP is allowed for it.
struct RegistryEndpoint {
  std::string registry;    // the API host, as RegistryRef::registry
  std::string repository;  // in that registry
  bool insecure = false;
  bool mirror = false;
};

// The endpoints for REF under CONF: the entry whose prefix matches REF's name (domain and
// repository, at a path component's boundary; the longest prefix wins; "*.example.com" matches
// the hosts under example.com). Throws Error (exit 125) when that entry is blocked.
std::vector<RegistryEndpoint> registry_endpoints(const RegistriesConf& conf,
                                                 const RegistryRef& ref);

}  // namespace execvm
