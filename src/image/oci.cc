#include "image/oci.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "image/reference.h"
#include "util/error.h"
#include "util/strings.h"

namespace execvm {

using nlohmann::json;

namespace {

constexpr char kRefName[] = "org.opencontainers.image.ref.name";
constexpr char kContainerdName[] = "io.containerd.image.name";
constexpr int kMaxIndexDepth = 8;

[[noreturn]] void bad_field(std::string_view what, const std::string& field,
                            std::string_view problem) {
  throw Error(std::string(what) + ": field \"" + field + "\" " + std::string(problem));
}

json parse_json(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(std::string(what) + " is not valid JSON");
  return j;
}

// OBJ[KEY] when present and not null, else nullptr.
const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string get_string(const json& obj, const char* key, std::string_view what,
                       const std::string& path) {
  const json* v = member(obj, key);
  if (!v) return "";
  if (!v->is_string()) bad_field(what, path + key, "is not a string");
  return v->get<std::string>();
}

std::optional<std::vector<std::string>> get_strings(const json& obj, const char* key,
                                                    std::string_view what,
                                                    const std::string& path) {
  const json* v = member(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_array()) bad_field(what, path + key, "is not a list of strings");
  std::vector<std::string> out;
  for (const json& s : *v) {
    if (!s.is_string()) bad_field(what, path + key, "is not a list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> get_string_map(const json& obj, const char* key,
                                                  std::string_view what, const std::string& path) {
  std::map<std::string, std::string> out;
  const json* v = member(obj, key);
  if (!v) return out;
  if (!v->is_object()) bad_field(what, path + key, "is not an object of strings");
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) bad_field(what, path + key + "." + it.key(), "is not a string");
    out.emplace(it.key(), it->get<std::string>());
  }
  return out;
}

Descriptor parse_descriptor(const json& j, std::string_view what, const std::string& path) {
  if (!j.is_object()) bad_field(what, path, "is not an object");
  Descriptor d;
  d.media_type = get_string(j, "mediaType", what, path + ".");
  const json* digest = member(j, "digest");
  if (!digest) bad_field(what, path + ".digest", "is missing");
  if (!digest->is_string()) bad_field(what, path + ".digest", "is not a string");
  d.digest = parse_digest(digest->get<std::string>(), std::string(what) + ": " + path);
  const json* size = member(j, "size");
  if (!size) bad_field(what, path + ".size", "is missing");
  if (!size->is_number_unsigned()) bad_field(what, path + ".size", "is not a size in bytes");
  d.size = size->get<uint64_t>();
  if (const json* p = member(j, "platform")) {
    if (!p->is_object()) bad_field(what, path + ".platform", "is not an object");
    Platform platform;
    std::string pp = path + ".platform.";
    platform.os = get_string(*p, "os", what, pp);
    platform.architecture = get_string(*p, "architecture", what, pp);
    platform.variant = get_string(*p, "variant", what, pp);
    platform.os_version = get_string(*p, "os.version", what, pp);
    d.platform = platform;
  }
  d.annotations = get_string_map(j, "annotations", what, path + ".");
  return d;
}

bool is_index_type(std::string_view t) {
  return t == media_type::kOciIndex || t == media_type::kDockerList;
}
bool is_manifest_type(std::string_view t) {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest;
}

[[noreturn]] void unsupported_document(std::string_view what, std::string_view type) {
  if (type.find("vnd.docker.distribution.manifest.v1") != std::string_view::npos)
    throw Error(std::string(what) + " is a Docker schema 1 manifest, which execvm does not read",
                "convert the image to OCI or Docker schema 2 (skopeo copy does)");
  throw Error(std::string(what) + " has the unsupported media type \"" + std::string(type) + "\"",
              "execvm reads OCI and Docker schema 2 image indexes and manifests");
}

Index parse_index_json(const json& j, std::string_view what) {
  if (!j.is_object()) throw Error(std::string(what) + " is not a JSON object");
  const json* manifests = member(j, "manifests");
  if (!manifests) bad_field(what, "manifests", "is missing");
  if (!manifests->is_array()) bad_field(what, "manifests", "is not a list");
  Index index;
  for (size_t i = 0; i < manifests->size(); ++i)
    index.manifests.push_back(
        parse_descriptor((*manifests)[i], what, "manifests[" + std::to_string(i) + "]"));
  return index;
}

Manifest parse_manifest_json(const json& j, std::string_view what) {
  Manifest m;
  const json* config = member(j, "config");
  if (!config) bad_field(what, "config", "is missing");
  m.config = parse_descriptor(*config, what, "config");
  const std::string& ct = m.config.media_type;
  if (!ct.empty() && ct != media_type::kOciConfig && ct != media_type::kDockerConfig)
    throw Error(std::string(what) + " is not a container image: its config is of type \"" + ct +
                "\"");
  const json* layers = member(j, "layers");
  if (!layers) bad_field(what, "layers", "is missing");
  if (!layers->is_array()) bad_field(what, "layers", "is not a list");
  for (size_t i = 0; i < layers->size(); ++i) {
    std::string path = "layers[" + std::to_string(i) + "]";
    Descriptor d = parse_descriptor((*layers)[i], what, path);
    if (!layer_compression(d.media_type))
      throw Error(std::string(what) + ": " + path + " has the unsupported media type \"" +
                      d.media_type + "\"",
                  "execvm reads tar layers, plain or compressed with gzip or zstd");
    m.layers.push_back(std::move(d));
  }
  if (m.layers.empty()) throw Error(std::string(what) + " has no layers");
  return m;
}

bool is_attestation(const Descriptor& d) {
  auto it = d.annotations.find("vnd.docker.reference.type");
  if (it != d.annotations.end() && it->second == "attestation-manifest") return true;
  return d.platform && d.platform->os == "unknown" && d.platform->architecture == "unknown";
}

std::string describe(const Descriptor& d) {
  bool index = is_index_type(d.media_type);
  return std::string(index ? "the index " : "the manifest ") + d.digest.str();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The variant a platform without one means ("arm64" is "v8").
std::string default_variant(const std::string& architecture) {
  if (architecture == "amd64") return "v1";
  if (architecture == "arm64") return "v8";
  return "";
}

bool same_platform(const Platform& have, const Platform& want) {
  return have.os == want.os && have.architecture == want.architecture;
}

// The WANT entry of ENTRIES (the index WHAT's), attestations skipped: with WANT's variant when it
// names one, else the one without a variant (or the architecture's default) first. An index with
// a single entry that says no platform: that entry.
const Descriptor& choose_platform(const std::vector<const Descriptor*>& entries,
                                  std::string_view what, const Platform& want) {
  std::vector<const Descriptor*> candidates;
  for (const Descriptor* d : entries)
    if (!is_attestation(*d)) candidates.push_back(d);
  if (candidates.empty()) throw Error(std::string(what) + " lists no image manifests");
  if (candidates.size() == 1 && !candidates[0]->platform) return *candidates[0];
  std::string fallback = default_variant(want.architecture);
  auto variant_of = [&](const Descriptor* d) {
    return d->platform->variant.empty() ? fallback : d->platform->variant;
  };
  const Descriptor* any_variant = nullptr;
  for (const Descriptor* d : candidates) {
    if (!d->platform || !same_platform(*d->platform, want)) continue;
    if (!want.variant.empty()) {
      if (variant_of(d) == want.variant) return *d;
      continue;
    }
    if (variant_of(d) == fallback) return *d;
    if (!any_variant) any_variant = d;
  }
  if (any_variant) return *any_variant;
  std::vector<std::string> platforms;
  for (const Descriptor* d : candidates) {
    std::string p = d->platform ? d->platform->str() : "(no platform given)";
    if (std::find(platforms.begin(), platforms.end(), p) == platforms.end()) platforms.push_back(p);
  }
  throw Error(std::string(what) + " has no " + want.str() + " image; it has " + join(platforms),
              want.str() == kDefaultPlatform ? "execvm runs linux/amd64 images"
                                             : "choose one of those with --platform");
}

// Matches TAG against an index.json entry's names.
bool has_name(const Descriptor& d, const std::string& tag) {
  auto ref = d.annotations.find(kRefName);
  if (ref != d.annotations.end() && ref->second == tag) return true;
  auto full = d.annotations.find(kContainerdName);
  if (full == d.annotations.end()) return false;
  return normalize_docker_name(full->second) == normalize_docker_name(tag);
}

std::string name_of(const Descriptor& d) {
  auto ref = d.annotations.find(kRefName);
  if (ref != d.annotations.end()) return ref->second;
  auto full = d.annotations.find(kContainerdName);
  return full != d.annotations.end() ? full->second : "";
}

struct Reached {
  Descriptor descriptor;
  Manifest manifest;
};

// Follows DESC down nested indexes (choosing linux/amd64 in each) to a manifest.
Reached descend(const Descriptor& desc, const JsonBlobReader& read, int depth,
                const Platform& want) {
  std::string what = describe(desc);
  if (depth > kMaxIndexDepth)
    throw Error(what + " is nested more than " + std::to_string(kMaxIndexDepth) + " levels deep");
  Document doc = parse_document(read(desc, what), desc.media_type, what);
  if (doc.kind == Document::Kind::kManifest) return Reached{desc, std::move(doc.manifest)};
  std::vector<const Descriptor*> entries;
  for (const Descriptor& d : doc.index.manifests) entries.push_back(&d);
  return descend(choose_platform(entries, what, want), read, depth + 1, want);
}

ChosenImage finish(std::string tag, Reached reached, const JsonBlobReader& read) {
  ChosenImage chosen;
  chosen.tag = std::move(tag);
  chosen.manifest_descriptor = std::move(reached.descriptor);
  chosen.manifest = std::move(reached.manifest);
  chosen.config_json =
      read(chosen.manifest.config, "the config " + chosen.manifest.config.digest.str());
  chosen.config =
      parse_config(chosen.config_json, "the config " + chosen.manifest.config.digest.str());
  if (chosen.config.diff_ids.size() != chosen.manifest.layers.size())
    throw Error("the config " + chosen.manifest.config.digest.str() + " lists " +
                std::to_string(chosen.config.diff_ids.size()) + " diff IDs for " +
                std::to_string(chosen.manifest.layers.size()) + " layers of the manifest " +
                chosen.manifest_descriptor.digest.str());
  return chosen;
}

}  // namespace

std::optional<LayerCompression> layer_compression(std::string_view t) {
  static const std::map<std::string_view, LayerCompression> known = {
      {media_type::kOciLayer, LayerCompression::kNone},
      {media_type::kOciLayerGzip, LayerCompression::kGzip},
      {media_type::kOciLayerZstd, LayerCompression::kZstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", LayerCompression::kNone},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LayerCompression::kGzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LayerCompression::kZstd},
      {media_type::kDockerLayerGzip, LayerCompression::kGzip},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", LayerCompression::kGzip},
      {"application/vnd.docker.image.rootfs.diff.tar", LayerCompression::kNone},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", LayerCompression::kZstd},
  };
  auto it = known.find(t);
  if (it == known.end()) return std::nullopt;
  return it->second;
}

std::string Platform::str() const {
  std::string out = (os.empty() ? "?" : os) + "/" + (architecture.empty() ? "?" : architecture);
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Platform parse_platform(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool ok = (parts.size() == 2 || parts.size() == 3) &&
            std::all_of(parts.begin(), parts.end(), [](const std::string& p) {
              return !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
              });
            });
  if (!ok)
    throw Error("the platform \"" + std::string(text) + "\" is not OS/ARCH[/VARIANT]",
                "write it as docker does, such as linux/amd64 or linux/arm64/v8");
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : "", ""};
}

void check_oci_layout(std::string_view text, std::string_view what) {
  json j = parse_json(text, what);
  if (!j.is_object()) throw Error(std::string(what) + " is not a JSON object");
  std::string version = get_string(j, "imageLayoutVersion", what, "");
  if (version.empty()) bad_field(what, "imageLayoutVersion", "is missing");
  if (!starts_with(version, "1."))
    bad_field(what, "imageLayoutVersion", "is not 1.x: \"" + version + "\"");
}

Index parse_index(std::string_view text, std::string_view what) {
  json j = parse_json(text, what);
  if (j.is_object()) {
    std::string type = get_string(j, "mediaType", what, "");
    if (!type.empty() && !is_index_type(type)) {
      if (is_manifest_type(type))
        throw Error(std::string(what) + " is a manifest, not an image index");
      unsupported_document(what, type);
    }
  }
  return parse_index_json(j, what);
}

Document parse_document(std::string_view text, std::string_view descriptor_type,
                        std::string_view what) {
  json j = parse_json(text, what);
  if (!j.is_object()) throw Error(std::string(what) + " is not a JSON object");
  std::string type = get_string(j, "mediaType", what, "");
  if (!type.empty() && !descriptor_type.empty() && type != descriptor_type)
    throw Error(std::string(what) + " says it is \"" + type + "\" but is listed as \"" +
                std::string(descriptor_type) + "\"");
  bool has_manifests = j.contains("manifests");
  bool has_manifest_fields = j.contains("layers") || j.contains("config");
  if (has_manifests && has_manifest_fields)
    throw Error(std::string(what) + " reads both as an image index and as a manifest");
  if (type.empty()) type = descriptor_type;
  if (type.empty()) {
    const json* version = member(j, "schemaVersion");
    if (version && *version == 1) unsupported_document(what, "vnd.docker.distribution.manifest.v1");
    if (!has_manifests && !has_manifest_fields)
      throw Error(std::string(what) + " is neither an image index nor a manifest");
    type = has_manifests ? media_type::kOciIndex : media_type::kOciManifest;
  }
  Document doc;
  if (is_index_type(type)) {
    doc.kind = Document::Kind::kIndex;
    doc.index = parse_index_json(j, what);
  } else if (is_manifest_type(type)) {
    const json* version = member(j, "schemaVersion");
    if (version && *version != 2) bad_field(what, "schemaVersion", "is not 2");
    doc.kind = Document::Kind::kManifest;
    doc.manifest = parse_manifest_json(j, what);
    doc.manifest.media_type = type;
  } else {
    unsupported_document(what, type);
  }
  return doc;
}

ParsedConfig parse_config(std::string_view text, std::string_view what) {
  json j = parse_json(text, what);
  if (!j.is_object()) throw Error(std::string(what) + " is not a JSON object");
  ParsedConfig out;
  out.os = get_string(j, "os", what, "");
  out.architecture = get_string(j, "architecture", what, "");
  out.variant = get_string(j, "variant", what, "");
  out.created = get_string(j, "created", what, "");
  if (const json* c = member(j, "config")) {
    if (!c->is_object()) bad_field(what, "config", "is not an object");
    ImageConfig& cfg = out.config;
    cfg.env = get_strings(*c, "Env", what, "config.").value_or(std::vector<std::string>{});
    cfg.entrypoint = get_strings(*c, "Entrypoint", what, "config.");
    cfg.cmd = get_strings(*c, "Cmd", what, "config.");
    cfg.working_dir = get_string(*c, "WorkingDir", what, "config.");
    cfg.user = get_string(*c, "User", what, "config.");
    cfg.hostname = get_string(*c, "Hostname", what, "config.");
    if (const json* ports = member(*c, "ExposedPorts")) {
      if (!ports->is_object()) bad_field(what, "config.ExposedPorts", "is not an object");
      for (auto it = ports->begin(); it != ports->end(); ++it)
        cfg.exposed_ports.push_back(it.key());
    }
    for (auto& [k, v] : get_string_map(*c, "Labels", what, "config."))
      cfg.labels.emplace_back(k, v);
  }
  const json* rootfs = member(j, "rootfs");
  if (!rootfs) bad_field(what, "rootfs", "is missing");
  if (!rootfs->is_object()) bad_field(what, "rootfs", "is not an object");
  std::string type = get_string(*rootfs, "type", what, "rootfs.");
  if (type != "layers") bad_field(what, "rootfs.type", "is not \"layers\"");
  const json* ids = member(*rootfs, "diff_ids");
  if (!ids) bad_field(what, "rootfs.diff_ids", "is missing");
  if (!ids->is_array()) bad_field(what, "rootfs.diff_ids", "is not a list");
  for (size_t i = 0; i < ids->size(); ++i) {
    std::string path = "rootfs.diff_ids[" + std::to_string(i) + "]";
    if (!(*ids)[i].is_string()) bad_field(what, path, "is not a string");
    out.diff_ids.push_back(
        parse_digest((*ids)[i].get<std::string>(), std::string(what) + ": " + path));
  }
  return out;
}

std::vector<DockerArchiveImage> parse_docker_archive_manifest(std::string_view text,
                                                              std::string_view what) {
  json j = parse_json(text, what);
  if (!j.is_array()) throw Error(std::string(what) + " is not a JSON list");
  std::vector<DockerArchiveImage> out;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string path = "[" + std::to_string(i) + "].";
    const json& e = j[i];
    if (!e.is_object()) bad_field(what, "[" + std::to_string(i) + "]", "is not an object");
    DockerArchiveImage image;
    image.config = get_string(e, "Config", what, path);
    if (image.config.empty()) bad_field(what, path + "Config", "is missing");
    image.repo_tags = get_strings(e, "RepoTags", what, path).value_or(std::vector<std::string>{});
    auto layers = get_strings(e, "Layers", what, path);
    if (!layers) bad_field(what, path + "Layers", "is missing");
    image.layers = std::move(*layers);
    out.push_back(std::move(image));
  }
  if (out.empty()) throw Error(std::string(what) + " lists no images");
  return out;
}

ChosenImage choose_image(std::string_view index_json, const std::string& tag,
                         const JsonBlobReader& read, const Platform& want) {
  Index index = parse_index(index_json, "index.json");
  std::vector<const Descriptor*> matched;
  for (const Descriptor& d : index.manifests)
    if (tag.empty() ? !is_attestation(d) : has_name(d, tag)) matched.push_back(&d);
  std::vector<std::string> names;
  for (const Descriptor& d : index.manifests) {
    std::string name = name_of(d);
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  }
  if (matched.empty()) {
    if (!tag.empty())
      throw Error("index.json has no image tagged \"" + tag + "\"",
                  names.empty() ? "its images have no tags" : "its tags are " + join(names));
    throw Error("index.json lists no images");
  }
  std::set<std::string> digests, matched_names;
  for (const Descriptor* d : matched) {
    digests.insert(d->digest.str());
    if (!name_of(*d).empty()) matched_names.insert(name_of(*d));
  }
  const Descriptor* chosen = matched.front();
  if (digests.size() > 1) {
    // Entries of one name that differ by platform are chosen from; anything else is ambiguous.
    bool platforms = std::all_of(matched.begin(), matched.end(),
                                 [](const Descriptor* d) { return d->platform.has_value(); });
    if (matched_names.size() > 1 || !platforms)
      throw Error(tag.empty() ? "the layout holds several images; name one by its tag"
                              : "the layout holds several images tagged \"" + tag + "\"",
                  names.empty() ? "they have no tags (umoci tag gives one)"
                                : "its tags are " + join(names));
    chosen = &choose_platform(matched, "index.json", want);
  }
  std::string chosen_tag = tag.empty() ? name_of(*chosen) : tag;
  return finish(chosen_tag, descend(*chosen, read, 1, want), read);
}

std::optional<ChosenImage> find_image_by_config(std::string_view index_json, const Digest& config,
                                                const JsonBlobReader& read) {
  Index index = parse_index(index_json, "index.json");
  // Depth-first over every entry, of every platform.
  std::function<std::optional<Reached>(const Descriptor&, int)> walk =
      [&](const Descriptor& desc, int depth) -> std::optional<Reached> {
    if (depth > kMaxIndexDepth || is_attestation(desc)) return std::nullopt;
    std::string what = describe(desc);
    Document doc;
    try {
      doc = parse_document(read(desc, what), desc.media_type, what);
    } catch (const Error&) {
      // Docker saves an index of every platform with the blobs of its own only: what cannot be
      // read is not the image looked for.
      return std::nullopt;
    }
    if (doc.kind == Document::Kind::kManifest) {
      if (doc.manifest.config.digest == config) return Reached{desc, std::move(doc.manifest)};
      return std::nullopt;
    }
    for (const Descriptor& d : doc.index.manifests)
      if (auto found = walk(d, depth + 1)) return found;
    return std::nullopt;
  };
  for (const Descriptor& d : index.manifests)
    if (auto found = walk(d, 1)) return finish(name_of(d), std::move(*found), read);
  return std::nullopt;
}

void apply_config(Image& image, const ParsedConfig& config, size_t layer_count,
                  const Platform& want) {
  if ((!config.os.empty() && config.os != want.os) ||
      (!config.architecture.empty() && config.architecture != want.architecture)) {
    Platform p{config.os, config.architecture, config.variant, ""};
    throw Error("the image is for " + p.str() + ", not " + want.str(),
                want.str() == kDefaultPlatform ? "execvm runs linux/amd64 images"
                                               : "ask for " + p.str() + " with --platform");
  }
  if (config.diff_ids.size() != layer_count)
    throw Error("the config lists " + std::to_string(config.diff_ids.size()) + " diff IDs for " +
                std::to_string(layer_count) + " layers");
  image.platform = want.str();
  image.created = config.created;
  image.config = config.config;
  image.chain_id = chain_id(config.diff_ids).str();
}

void fill_image(Image& image, const ChosenImage& chosen, const Platform& want) {
  image.tag = chosen.tag;
  image.manifest_digest = chosen.manifest_descriptor.digest.str();
  image.config_digest = chosen.manifest.config.digest.str();
  apply_config(image, chosen.config, chosen.manifest.layers.size(), want);
  image.layers.clear();
  for (size_t i = 0; i < chosen.manifest.layers.size(); ++i) {
    const Descriptor& d = chosen.manifest.layers[i];
    ImageLayer layer;
    layer.digest = d.digest.str();
    layer.media_type = d.media_type;
    layer.size = d.size;
    layer.diff_id = chosen.config.diff_ids[i].str();
    image.layers.push_back(std::move(layer));
  }
}

}  // namespace execvm
