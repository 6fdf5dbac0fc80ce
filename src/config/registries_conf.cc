#include "config/registries_conf.h"

#include <stdlib.h>
#include <toml++/toml.h>

#include <algorithm>

#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

std::string where(const std::string& file, const toml::node& node) {
  return file + ":" + std::to_string(node.source().begin.line);
}

[[noreturn]] void bad(const std::string& file, const toml::node& node, const std::string& what) {
  throw Error(where(file, node) + ": " + what, "see containers-registries.conf(5)");
}

std::string string_of(const std::string& file, const toml::table& table, const char* key) {
  const toml::node* node = table.get(key);
  if (!node) return "";
  if (!node->is_string()) bad(file, *node, std::string("\"") + key + "\" must be a string");
  return std::string(node->as_string()->get());
}

bool bool_of(const std::string& file, const toml::table& table, const char* key) {
  const toml::node* node = table.get(key);
  if (!node) return false;
  if (!node->is_boolean()) bad(file, *node, std::string("\"") + key + "\" must be true or false");
  return node->as_boolean()->get();
}

std::vector<std::string> strings_of(const std::string& file, const toml::table& table,
                                    const char* key) {
  std::vector<std::string> out;
  const toml::node* node = table.get(key);
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array) bad(file, *node, std::string("\"") + key + "\" must be a list of strings");
  for (const toml::node& item : *array) {
    if (!item.is_string())
      bad(file, item, std::string("\"") + key + "\" must be a list of strings");
    out.emplace_back(item.as_string()->get());
  }
  return out;
}

// Adds ENTRY, replacing an earlier one of the same prefix (a drop-in overrides the main file).
void add(RegistriesConf& conf, RegistryConf entry) {
  auto same = std::find_if(conf.registries.begin(), conf.registries.end(),
                           [&](const RegistryConf& r) { return r.prefix == entry.prefix; });
  if (same != conf.registries.end())
    *same = std::move(entry);
  else
    conf.registries.push_back(std::move(entry));
}

// The entry of ENTRY's prefix, made (a version 1 list names a registry without a table).
RegistryConf& entry_for(RegistriesConf& conf, const std::string& prefix, const std::string& file) {
  for (RegistryConf& r : conf.registries)
    if (r.prefix == prefix) return r;
  RegistryConf entry;
  entry.prefix = prefix;
  entry.source = file;
  conf.registries.push_back(entry);
  return conf.registries.back();
}

void read_file(RegistriesConf& conf, const std::string& file) {
  if (!is_regular_file(file)) return;
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw Error(file + ":" + std::to_string(e.source().begin.line) + ": " +
                std::string(e.description()));
  }
  if (const toml::node* registries = root.get("registry")) {
    const toml::array* array = registries->as_array();
    if (!array) bad(file, *registries, "\"registry\" must be a list of tables ([[registry]])");
    for (const toml::node& item : *array) {
      const toml::table* table = item.as_table();
      if (!table) bad(file, item, "each [[registry]] must be a table");
      RegistryConf entry;
      entry.source = file;
      entry.location = string_of(file, *table, "location");
      entry.prefix = string_of(file, *table, "prefix");
      if (entry.prefix.empty()) entry.prefix = entry.location;
      if (entry.prefix.empty())
        bad(file, item, "a [[registry]] needs a \"location\" or a \"prefix\"");
      entry.insecure = bool_of(file, *table, "insecure");
      entry.blocked = bool_of(file, *table, "blocked");
      entry.mirror_by_digest_only = bool_of(file, *table, "mirror-by-digest-only");
      if (const toml::node* mirrors = table->get("mirror")) {
        const toml::array* list = mirrors->as_array();
        if (!list) bad(file, *mirrors, "\"mirror\" must be a list of tables ([[registry.mirror]])");
        for (const toml::node& m : *list) {
          const toml::table* mt = m.as_table();
          if (!mt) bad(file, m, "each [[registry.mirror]] must be a table");
          RegistryMirror mirror;
          mirror.location = string_of(file, *mt, "location");
          if (mirror.location.empty()) bad(file, m, "a [[registry.mirror]] needs a \"location\"");
          mirror.insecure = bool_of(file, *mt, "insecure");
          std::string from = string_of(file, *mt, "pull-from-mirror");
          if (from == "digest-only")
            mirror.pull_from_mirror_digest_only = true;
          else if (from == "tag-only")
            mirror.pull_from_mirror_tag_only = true;
          else if (!from.empty() && from != "all")
            bad(file, m, "\"pull-from-mirror\" must be \"all\", \"digest-only\" or \"tag-only\"");
          entry.mirrors.push_back(std::move(mirror));
        }
      }
      add(conf, std::move(entry));
    }
  }
  // Version 1: [registries.insecure] registries = [...], [registries.block] registries = [...].
  if (const toml::node* v1 = root.get("registries")) {
    const toml::table* table = v1->as_table();
    if (!table) bad(file, *v1, "\"registries\" must be a table");
    for (const char* kind : {"insecure", "block"}) {
      const toml::node* node = table->get(kind);
      if (!node) continue;
      const toml::table* list = node->as_table();
      if (!list) bad(file, *node, std::string("[registries.") + kind + "] must be a table");
      for (const std::string& name : strings_of(file, *list, "registries")) {
        RegistryConf& entry = entry_for(conf, name, file);
        (std::string_view(kind) == "insecure" ? entry.insecure : entry.blocked) = true;
      }
    }
  }
}

// The API host of a location's first component: Docker Hub's name is answered elsewhere.
std::string api_host(std::string host) {
  host = to_lower(host);
  if (host == kDockerHubDomain || host == "index.docker.io") return std::string(kDockerHubRegistry);
  return host;
}

// LOCATION ("host[:port][/path]") with the repository REST under it, as an endpoint.
RegistryEndpoint endpoint_at(const std::string& location, const std::string& rest, bool insecure,
                             bool mirror) {
  RegistryEndpoint e;
  auto slash = location.find('/');
  e.registry = api_host(location.substr(0, slash));
  std::string path = slash == std::string::npos ? "" : location.substr(slash + 1);
  e.repository = path.empty() ? rest : rest.empty() ? path : path + "/" + rest;
  if (e.registry == kDockerHubRegistry && e.repository.find('/') == std::string::npos)
    e.repository = "library/" + e.repository;
  e.insecure = insecure;
  e.mirror = mirror;
  return e;
}

// How well PREFIX matches NAME (domain/repository): the prefix's length, or -1.
long match(const std::string& prefix, const std::string& domain, const std::string& name) {
  if (prefix.starts_with("*.")) {
    std::string suffix = to_lower(prefix.substr(1));  // ".example.com"
    std::string host = to_lower(domain);
    return host.size() > suffix.size() && host.ends_with(suffix) ? static_cast<long>(prefix.size())
                                                                 : -1;
  }
  std::string p = prefix;
  auto slash = p.find('/');
  std::string host = api_host(p.substr(0, slash));
  std::string normalized = host + (slash == std::string::npos ? "" : p.substr(slash));
  std::string full = api_host(domain) + name.substr(domain.size());
  if (!full.starts_with(normalized)) return -1;
  if (full.size() != normalized.size() && full[normalized.size()] != '/') return -1;
  return static_cast<long>(normalized.size());
}

}  // namespace

std::vector<std::string> default_registries_conf_files() {
  const char* env = ::getenv("CONTAINERS_REGISTRIES_CONF");
  if (env && *env) return {env};
  std::vector<std::string> files;
  std::string user =
      join_path(xdg_directory("XDG_CONFIG_HOME", ".config"), "containers/registries.conf");
  files.push_back(is_regular_file(user) ? user : "/etc/containers/registries.conf");
  const std::string drop_ins = "/etc/containers/registries.conf.d";
  std::vector<std::string> names = directory_names(drop_ins);
  std::sort(names.begin(), names.end());
  for (const auto& name : names)
    if (name.ends_with(".conf")) files.push_back(join_path(drop_ins, name));
  return files;
}

RegistriesConf load_registries_conf(const std::vector<std::string>& files) {
  RegistriesConf conf;
  for (const auto& file : files) read_file(conf, file);
  return conf;
}

std::vector<RegistryEndpoint> registry_endpoints(const RegistriesConf& conf,
                                                 const RegistryRef& ref) {
  std::string domain = ref.domain();
  std::string name = domain + "/" + ref.repository;
  const RegistryConf* best = nullptr;
  long best_length = -1;
  for (const RegistryConf& r : conf.registries) {
    long length = match(r.prefix, domain, name);
    if (length > best_length) best = &r, best_length = length;
  }
  std::vector<RegistryEndpoint> out;
  if (!best) {
    RegistryEndpoint e;
    e.registry = ref.registry;
    e.repository = ref.repository;
    out.push_back(e);
    return out;
  }
  if (best->blocked)
    throw Error("the registry " + best->prefix + " is blocked in " + best->source,
                "pulls from it are refused by that file's [[registry]] entry");
  // What follows the prefix in the name, moved under the location (and each mirror's).
  std::string rest;
  if (!best->prefix.starts_with("*.")) {
    std::string full = api_host(domain) + name.substr(domain.size());
    size_t length = static_cast<size_t>(best_length);
    rest = length < full.size() ? full.substr(length + 1) : "";
  } else {
    rest = ref.repository;
  }
  bool by_digest = !ref.digest.empty();
  if (!best->mirror_by_digest_only || by_digest) {
    for (const RegistryMirror& m : best->mirrors) {
      if (m.pull_from_mirror_digest_only && !by_digest) continue;
      if (m.pull_from_mirror_tag_only && by_digest) continue;
      out.push_back(endpoint_at(m.location, rest, m.insecure, true));
    }
  }
  std::string location = best->location.empty() || best->prefix.starts_with("*.")
                             ? (best->prefix.starts_with("*.") ? domain : best->prefix)
                             : best->location;
  out.push_back(endpoint_at(location, rest, best->insecure, false));
  return out;
}

}  // namespace execvm
