// For the unit tests only: images built by hand (tar files made with libarchive, JSON, sha256),
// as OCI layouts in memory that go to a directory or into an archive.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/tar_testing.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sha256.h"
#include "util/sys.h"

namespace execvm::testing {

using nlohmann::json;

struct TarMember {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink };
  std::string name;
  std::string content;  // a file's
  Type type = Type::kFile;
  std::string link;  // a symlink's target or a hard link's member
};

// A tar archive of MEMBERS, written by make_tar, compressed with FILTER ("", "gzip", "zstd").
inline std::string make_tar(const std::vector<TarMember>& members, const std::string& filter = "") {
  std::vector<TestEntry> entries;
  for (const TarMember& m : members) {
    switch (m.type) {
      case TarMember::Type::kFile:
        entries.push_back(file(m.name, m.content));
        break;
      case TarMember::Type::kDirectory:
        entries.push_back(dir(m.name));
        break;
      case TarMember::Type::kSymlink:
        entries.push_back(symlink(m.name, m.link));
        break;
      case TarMember::Type::kHardlink:
        entries.push_back(hardlink(m.name, m.link));
        break;
    }
  }
  std::string tar = make_tar(entries);
  if (filter == "gzip") return gzip(tar);
  if (filter == "zstd") return zstd(tar);
  return tar;
}

// A layer: a tar of files NAME -> CONTENT.
inline std::string layer_tar(const std::map<std::string, std::string>& files,
                             const std::string& filter = "") {
  std::vector<TarMember> members;
  for (const auto& [name, content] : files) members.push_back({name, content});
  return make_tar(members, filter);
}

inline std::string sha256_of(std::string_view data) {
  return "sha256:" + sha256_hex(data);
}

// An OCI layout, its files in memory.
class Layout {
 public:
  Layout() {
    files_["oci-layout"] = R"({"imageLayoutVersion":"1.0.0"})";
    index_ = {{"schemaVersion", 2}, {"manifests", json::array()}};
  }

  // Adds a blob and returns its descriptor.
  json add_blob(const std::string& data, const std::string& media_type) {
    std::string digest = sha256_of(data);
    files_["blobs/sha256/" + digest.substr(7)] = data;
    return {{"mediaType", media_type}, {"digest", digest}, {"size", data.size()}};
  }

  // A layer of plain TAR, compressed with FILTER.
  struct Layer {
    std::string tar;
    std::string filter;  // "", "gzip", "zstd"
  };

  // Adds an image of LAYERS whose config's "config" is CONFIG; returns its manifest's
  // descriptor (not listed in index.json: see tag()). The config's diff IDs are in diff_ids().
  json add_image(const std::vector<Layer>& layers, const json& config = json::object(),
                 const std::string& architecture = "amd64") {
    json layer_descriptors = json::array();
    json diff_ids = json::array();
    last_diff_ids_.clear();
    for (const Layer& l : layers) {
      std::string blob = l.filter.empty() ? l.tar : recompress(l.tar, l.filter);
      std::string type = "application/vnd.oci.image.layer.v1.tar";
      if (!l.filter.empty()) type += "+" + l.filter;
      layer_descriptors.push_back(add_blob(blob, type));
      diff_ids.push_back(sha256_of(l.tar));
      last_diff_ids_.push_back(sha256_of(l.tar));
    }
    json cfg = {{"architecture", architecture},
                {"os", "linux"},
                {"created", "2024-01-02T03:04:05Z"},
                {"config", config},
                {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    last_config_ = add_blob(cfg.dump(), "application/vnd.oci.image.config.v1+json");
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"config", last_config_},
                     {"layers", layer_descriptors}};
    return add_blob(manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
  }

  // Adds an index of MANIFESTS (descriptors) as a blob; returns its descriptor.
  json add_index(const json& manifests) {
    json index = {{"schemaVersion", 2},
                  {"mediaType", "application/vnd.oci.image.index.v1+json"},
                  {"manifests", manifests}};
    return add_blob(index.dump(), "application/vnd.oci.image.index.v1+json");
  }

  // Lists DESCRIPTOR in index.json, with ref.name TAG when not empty.
  void list(json descriptor, const std::string& tag = "") {
    if (!tag.empty()) descriptor["annotations"]["org.opencontainers.image.ref.name"] = tag;
    index_["manifests"].push_back(descriptor);
  }

  const std::vector<std::string>& diff_ids() const { return last_diff_ids_; }
  const json& config_descriptor() const { return last_config_; }
  json& index() { return index_; }
  std::map<std::string, std::string>& files() { return files_; }
  std::string& blob(const json& descriptor) {
    return files_.at("blobs/sha256/" + descriptor["digest"].get<std::string>().substr(7));
  }

  // Writes the layout into DIR (which exists).
  void write_to(const std::string& dir) {
    files_["index.json"] = index_.dump();
    make_dirs(dir + "/blobs/sha256");
    for (const auto& [name, content] : files_) write_file(dir + "/" + name, content);
  }

  // The layout as the members of a tar archive.
  std::vector<TarMember> members() {
    files_["index.json"] = index_.dump();
    std::vector<TarMember> out{{"blobs", "", TarMember::Type::kDirectory},
                               {"blobs/sha256", "", TarMember::Type::kDirectory}};
    for (const auto& [name, content] : files_) out.push_back({name, content});
    return out;
  }

  // TAR compressed with FILTER (a tar of the same content).
  static std::string recompress(const std::string& tar, const std::string& filter) {
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, tar.data(), tar.size());
    std::vector<TarMember> members;
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      TarMember m{archive_entry_pathname(e)};
      char buf[65536];
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0) m.content.append(buf, n);
      members.push_back(m);
    }
    archive_read_free(a);
    return make_tar(members, filter);
  }

 private:
  std::map<std::string, std::string> files_;
  json index_;
  std::vector<std::string> last_diff_ids_;
  json last_config_;
};

}  // namespace execvm::testing
