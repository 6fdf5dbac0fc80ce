#include "image/catalog.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>

#include "image/blob_store.h"
#include "image/digest.h"
#include "image/reference.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

using json = nlohmann::json;

// How old a temporary file must be before prune takes it for a crashed writer's (a conversion
// of a large image writes its temporary file for minutes).
constexpr time_t kStaleSeconds = 3600;

json to_json(const CatalogRecord& r) {
  return {{"reference", r.reference},  {"source", r.source},
          {"location", r.location},    {"tag", r.tag},
          {"config", r.config_digest}, {"chain_id", r.chain_id},
          {"rootfs", r.rootfs},        {"blobs", r.blobs},
          {"created", r.created},      {"last_used", r.last_used}};
}

CatalogRecord from_json(const json& j) {
  CatalogRecord r;
  r.reference = j.at("reference").get<std::string>();
  r.source = j.at("source").get<std::string>();
  r.location = j.at("location").get<std::string>();
  r.tag = j.at("tag").get<std::string>();
  r.config_digest = j.at("config").get<std::string>();
  r.chain_id = j.at("chain_id").get<std::string>();
  r.rootfs = j.at("rootfs").get<std::string>();
  r.blobs = j.at("blobs").get<std::vector<std::string>>();
  r.created = j.value("created", "");
  r.last_used = j.value("last_used", "");
  return r;
}

}  // namespace

CatalogRecord catalog_record(const Image& image, const std::string& rootfs,
                             const std::string& images_dir, time_t now) {
  CatalogRecord r;
  r.reference = image.reference;
  r.source = image.source;
  r.location = image.location;
  r.tag = image.tag;
  r.config_digest = image.config_digest;
  r.chain_id = image.chain_id;
  r.rootfs = rootfs;
  for (const auto& layer : image.layers)
    if (is_within(layer.path, images_dir)) r.blobs.push_back(layer.path);
  // An archive's config and manifest are imported beside its layers (a layout's are its own).
  if (image.source != "oci-layout") {
    BlobStore store(images_dir);
    for (const std::string* digest :
         {&image.config_digest, &image.manifest_digest, &image.index_digest}) {
      if (digest->empty()) continue;
      try {
        std::string path = store.path(parse_digest(*digest, "the image's digest"));
        if (is_regular_file(path) &&
            std::find(r.blobs.begin(), r.blobs.end(), path) == r.blobs.end())
          r.blobs.push_back(path);
      } catch (const Error&) {
        // Not a digest: no blob of the store.
      }
    }
  }
  r.created = image.created;
  r.last_used = iso_time(now);
  return r;
}

Catalog::Catalog(std::string images_dir) : dir_(std::move(images_dir)) {}

std::string Catalog::record_path(const CatalogRecord& r) const {
  return join_path(dir_,
                   "catalog/" + sha256_hex(r.location + '\n' + r.tag).substr(0, 24) + ".json");
}

void Catalog::put(const CatalogRecord& record) const {
  std::string path = record_path(record);
  make_dirs(parent_directory(path));
  std::string temp = path + ".tmp-" + std::to_string(::getpid());
  write_file(temp, to_json(record).dump(2) + "\n");
  if (::rename(temp.c_str(), path.c_str()) < 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw_errno("cannot write " + path, err);
  }
}

std::vector<CatalogRecord> Catalog::list() const {
  std::vector<CatalogRecord> out;
  std::string dir = join_path(dir_, "catalog");
  for (const auto& name : directory_names(dir)) {
    if (!name.ends_with(".json")) continue;
    try {
      out.push_back(from_json(json::parse(read_file(join_path(dir, name)))));
    } catch (const std::exception&) {
      // A record cut short or edited by hand: as if it were not there (prune removes its files).
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const CatalogRecord& a, const CatalogRecord& b) {
    return a.last_used > b.last_used;
  });
  return out;
}

bool Catalog::remove(const CatalogRecord& record) const {
  return ::unlink(record_path(record).c_str()) == 0;
}

std::vector<CatalogRecord> Catalog::find(const std::string& what) const {
  std::vector<CatalogRecord> out;
  if (what.empty()) return out;
  std::string id = what.starts_with("sha256:") ? what.substr(7) : what;
  bool hex = id.size() >= 4 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
  std::string cwd = current_directory();
  std::string absolute = lexical_absolute(cwd, what);
  // WHAT as --image takes it (oci:DIR:TAG, a relative path...): its location, and its tag.
  std::optional<ImageRef> ref;
  try {
    ref = parse_image_ref(what, cwd);
  } catch (const Error&) {
    // Not a reference (a name, an ID) or one whose file is gone: matched as written.
  }
  auto same_tag = [&](const CatalogRecord& r) {
    if (ref->tag.empty() || ref->tag == r.tag) return true;
    return r.source == "docker-archive" && !ref->tag.starts_with("@") && !r.tag.empty() &&
           normalize_docker_name(ref->tag) == normalize_docker_name(r.tag);
  };
  for (const auto& r : list()) {
    std::string with_tag = r.location + (r.tag.empty() ? "" : ":" + r.tag);
    bool named =
        r.reference == what || r.location == absolute || with_tag == absolute ||
        (ref && r.location == ref->path && same_tag(r)) ||
        (hex && r.config_digest.size() > 7 && r.config_digest.compare(7, id.size(), id) == 0);
    if (named) out.push_back(r);
  }
  return out;
}

std::vector<std::string> Catalog::unreferenced(const std::vector<CatalogRecord>& keep,
                                               const std::vector<CatalogRecord>& dropped,
                                               time_t grace) const {
  auto files_of = [](const std::vector<CatalogRecord>& records) {
    std::set<std::string> files;
    for (const auto& r : records) {
      files.insert(r.rootfs);
      files.insert(r.blobs.begin(), r.blobs.end());
    }
    return files;
  };
  std::set<std::string> used = files_of(keep), were_used = files_of(dropped);
  time_t now = ::time(nullptr);
  std::vector<std::string> out;
  // The mtime of PATH when it is a regular file.
  auto mtime = [](const std::string& path) -> std::optional<time_t> {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return st.st_mtime;
  };
  auto temporary = [](const std::string& name) {
    return name.starts_with(".") || name.find(".tmp") != std::string::npos;
  };
  // KEY (a root filesystem image or a blob), last written at NEWEST, is an orphan.
  auto orphan = [&](const std::string& key, time_t newest) {
    return !used.count(key) && (were_used.count(key) || now - newest >= grace);
  };

  // A root filesystem image goes with its record and lock (<name>.ok, <name>.lock): as one, by
  // the newest of them.
  std::string rootfs = join_path(dir_, "rootfs");
  std::map<std::string, std::vector<std::string>> entries;
  std::map<std::string, time_t> newest;
  for (const auto& name : directory_names(rootfs)) {
    std::string path = join_path(rootfs, name);
    std::optional<time_t> m = mtime(path);
    if (!m) continue;
    if (temporary(name)) {
      if (now - *m > kStaleSeconds) out.push_back(path);
      continue;
    }
    std::string stem = name;
    for (std::string_view side : {".ok", ".lock"}) {
      if (stem.ends_with(side) && stem.size() > side.size() &&
          std::string_view(stem).substr(0, stem.size() - side.size()).ends_with(".squashfs")) {
        stem.resize(stem.size() - side.size());
        break;
      }
    }
    std::string key = join_path(rootfs, stem);
    entries[key].push_back(path);
    newest[key] = std::max(newest[key], *m);
  }
  for (const auto& [key, paths] : entries)
    if (orphan(key, newest[key])) out.insert(out.end(), paths.begin(), paths.end());

  std::string blobs = join_path(dir_, "blobs");
  for (const auto& algorithm : directory_names(blobs)) {
    for (const auto& name : directory_names(join_path(blobs, algorithm))) {
      std::string path = join_path(blobs, algorithm + "/" + name);
      std::optional<time_t> m = mtime(path);
      if (!m) continue;
      if (temporary(name) ? now - *m > kStaleSeconds : orphan(path, *m)) out.push_back(path);
    }
  }
  std::string catalog = join_path(dir_, "catalog");
  for (const auto& name : directory_names(catalog)) {
    std::string path = join_path(catalog, name);
    std::optional<time_t> m = mtime(path);
    if (m && !name.ends_with(".json") && now - *m > kStaleSeconds) out.push_back(path);
  }
  // A registry's tag record (tags/REGISTRY/REPOSITORY/TAG.json) goes with the manifest it
  // names; an unreadable one, or a temporary, once stale.
  BlobStore store(dir_);
  std::function<void(const std::string&)> tags = [&](const std::string& dir) {
    for (const auto& name : directory_names(dir)) {
      std::string path = join_path(dir, name);
      if (is_directory(path)) {
        tags(path);
        continue;
      }
      std::optional<time_t> m = mtime(path);
      if (!m) continue;
      std::string blob;
      try {
        nlohmann::json j = nlohmann::json::parse(read_file(path));
        blob = store.path(parse_digest(j.at("digest").get<std::string>(), path));
      } catch (const std::exception&) {
      }
      if ((blob.empty() || temporary(name)) ? now - *m > kStaleSeconds : orphan(blob, *m))
        out.push_back(path);
    }
  };
  tags(join_path(dir_, "tags"));
  // Locks of blobs whose pull was killed: left for an hour, as a pull may be waiting on one.
  std::string locks = join_path(dir_, "locks");
  for (const auto& name : directory_names(locks)) {
    std::string path = join_path(locks, name);
    std::optional<time_t> m = mtime(path);
    if (m && now - *m > kStaleSeconds) out.push_back(path);
  }
  return out;
}

}  // namespace execvm
