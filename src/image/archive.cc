#include "image/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "image/blob_store.h"
#include "image/digest.h"
#include "image/oci.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr uint64_t kKeepMemberSize = 1 << 20;  // small members are kept from the first pass
constexpr uint64_t kKeepTotalSize = 64 << 20;
constexpr int kMaxLinkHops = 40;

std::string error_string(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "read error";
}

// A member's name as a relative path without "." components or a trailing slash ("" for the
// archive's top directory); nullopt for an absolute name or one with "..".
std::optional<std::string> normalize_member(std::string_view name) {
  if (starts_with(name, "/")) return std::nullopt;
  std::string out;
  for (const std::string& c : split(name, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") return std::nullopt;
    out += (out.empty() ? "" : "/") + c;
  }
  return out;
}

class TarArchive {
 public:
  struct Member {
    enum class Type { kFile, kDirectory, kSymlink, kHardlink, kOther };
    Type type = Type::kOther;
    uint64_t size = 0;
    std::string link;  // a symlink's target as written; a hardlink's member, normalized
    bool kept = false;
    std::string content;  // when kept
  };
  // Called for each entry with the archive positioned at its data; returns false to stop.
  using Visit = std::function<bool(const std::string& name, archive_entry* entry, archive* a)>;

  explicit TarArchive(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  void scan(const Visit& visit) const {
    std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    if (archive_read_open_filename(a.get(), path_.c_str(), 1 << 16) != ARCHIVE_OK) {
      if (archive_errno(a.get()) == EILSEQ)  // libarchive's "unrecognized format" on Linux
        throw Error(path_ + " is not a tar archive (" + error_string(a.get()) + ")");
      throw Error("cannot read the archive " + path_ + ": " + error_string(a.get()));
    }
    bool first = true;
    for (;;) {
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(a.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        if (first) throw Error(path_ + " is not a tar archive (" + error_string(a.get()) + ")");
        throw Error("the archive " + path_ + " is truncated or damaged (" + error_string(a.get()) +
                    ")");
      }
      first = false;
      const char* raw = archive_entry_pathname(entry);
      std::optional<std::string> name = normalize_member(raw ? raw : "");
      if (!raw || !name)
        throw Error("the archive " + path_ + " has a member named \"" + (raw ? raw : "") +
                    "\", absolute or with \"..\"; it is refused");
      if (!visit(*name, entry, a.get())) return;
      if (archive_read_data_skip(a.get()) != ARCHIVE_OK)
        throw Error("the archive " + path_ + " is truncated or damaged (" + error_string(a.get()) +
                    ")");
    }
  }

  // The first pass: the table of members, the small files kept.
  void index() {
    uint64_t kept_total = 0;
    scan([&](const std::string& name, archive_entry* entry, archive* a) {
      Member m;
      const char* hardlink = archive_entry_hardlink(entry);
      mode_t type = archive_entry_filetype(entry);
      if (hardlink) {
        std::optional<std::string> target = normalize_member(hardlink);
        if (!target)
          throw Error("the archive " + path_ + " has a hard link \"" + name + "\" to \"" +
                      hardlink + "\", absolute or with \"..\"; it is refused");
        m.type = Member::Type::kHardlink;
        m.link = *target;
      } else if (type == AE_IFREG) {
        m.type = Member::Type::kFile;
        m.size = static_cast<uint64_t>(archive_entry_size(entry));
      } else if (type == AE_IFDIR) {
        m.type = Member::Type::kDirectory;
      } else if (type == AE_IFLNK) {
        m.type = Member::Type::kSymlink;
        const char* target = archive_entry_symlink(entry);
        m.link = target ? target : "";
      }
      if (m.type == Member::Type::kFile && m.size <= kKeepMemberSize &&
          kept_total + m.size <= kKeepTotalSize) {
        m.content = read_data(a, kKeepMemberSize, name);
        m.kept = true;
        kept_total += m.size;
      }
      bool directory = m.type == Member::Type::kDirectory;
      auto [it, fresh] = members_.emplace(name, std::move(m));
      if (!fresh && !(directory && it->second.type == Member::Type::kDirectory))
        throw Error("the archive " + path_ + " holds \"" + name +
                    "\" more than once; it is refused");
      return true;
    });
  }

  bool has(const std::string& name) const { return members_.count(name) != 0; }

  // The file member NAME is, links followed within the archive. Throws Error naming WHAT.
  std::string resolve(const std::string& name, std::string_view what) const {
    std::vector<std::string> todo = split(name, '/'), done;
    std::reverse(todo.begin(), todo.end());  // a stack: the next component at the back
    int hops = 0;
    auto fail = [&](const std::string& why) -> Error {
      return Error(std::string(what) + " (\"" + name + "\" in the archive) " + why);
    };
    while (!todo.empty()) {
      std::string c = std::move(todo.back());
      todo.pop_back();
      if (c.empty() || c == ".") continue;
      if (c == "..") {
        if (done.empty()) throw fail("leads out of the archive");
        done.pop_back();
        continue;
      }
      done.push_back(c);
      std::string current = join(done);
      auto it = members_.find(current);
      if (it == members_.end()) continue;
      const Member& m = it->second;
      if (m.type != Member::Type::kSymlink && m.type != Member::Type::kHardlink) continue;
      if (++hops > kMaxLinkHops) throw fail("is a loop of links");
      done.pop_back();
      if (m.type == Member::Type::kHardlink || starts_with(m.link, "/")) done.clear();
      std::vector<std::string> target = split(m.link, '/');
      for (auto t = target.rbegin(); t != target.rend(); ++t) todo.push_back(*t);
    }
    std::string final_name = join(done);
    auto it = members_.find(final_name);
    if (it == members_.end()) throw fail("is missing from the archive");
    if (it->second.type != Member::Type::kFile) throw fail("is not a file in the archive");
    return final_name;
  }

  const Member& member(const std::string& name) const { return members_.at(name); }

  // The content of the file member NAME (as resolve() gives), at most LIMIT bytes.
  std::string read(const std::string& name, uint64_t limit, std::string_view what) const {
    const Member& m = member(name);
    if (m.size > limit)
      throw Error(std::string(what) + " is larger than " + std::to_string(limit >> 20) + " MiB");
    if (m.kept) return m.content;
    std::optional<std::string> content;
    scan([&](const std::string& n, archive_entry*, archive* a) {
      if (n != name) return true;
      content = read_data(a, limit, what);
      return false;
    });
    if (!content) throw Error(std::string(what) + " is missing from the archive " + path_);
    return *content;
  }

 private:
  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
    return out;
  }

  std::string read_data(archive* a, uint64_t limit, std::string_view what) const {
    std::string out;
    char buf[1 << 16];
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf, sizeof buf);
      if (n < 0)
        throw Error("cannot read " + std::string(what) + ": the archive " + path_ +
                    " is truncated or damaged (" + error_string(a) + ")");
      if (n == 0) return out;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > limit)
        throw Error(std::string(what) + " is larger than " + std::to_string(limit >> 20) + " MiB");
    }
  }

  std::string path_;
  std::map<std::string, Member> members_;
};

// What an import must be, by member.
struct Want {
  BlobExpectation expect;
  BlobStore::Check check;
  std::string what;
};

// Imports the members of WANTED into STORE: those kept from the first pass from memory, the
// others in one more pass.
std::map<std::string, ImportedBlob> import_members(const TarArchive& tar, const BlobStore& store,
                                                   const std::map<std::string, Want>& wanted) {
  std::map<std::string, ImportedBlob> done;
  for (const auto& [name, want] : wanted) {
    const TarArchive::Member& m = tar.member(name);
    if (m.kept) done[name] = store.import_bytes(m.content, want.expect, want.what, want.check);
  }
  if (done.size() < wanted.size()) {
    tar.scan([&](const std::string& name, archive_entry*, archive* a) {
      auto it = wanted.find(name);
      if (it == wanted.end() || done.count(name)) return true;
      done[name] = store.import_entry(a, it->second.expect, it->second.what, it->second.check);
      return done.size() < wanted.size();
    });
  }
  for (const auto& [name, want] : wanted)
    if (!done.count(name))
      throw Error(want.what + " (\"" + name + "\") is missing from the archive " + tar.path());
  return done;
}

std::string blob_member(const Digest& digest) {
  return "blobs/" + digest.algorithm + "/" + digest.hex;
}

// The digest a member's name carries: "blobs/ALGORITHM/HEX", or "HEX.json" for a config.
std::optional<Digest> digest_of_name(const std::string& name) {
  std::vector<std::string> parts = split(name, '/');
  std::string text;
  if (parts.size() == 3 && parts[0] == "blobs") text = parts[1] + ":" + parts[2];
  if (parts.size() == 1 && parts[0].size() == 64 + 5 && parts[0].ends_with(".json"))
    text = "sha256:" + parts[0].substr(0, 64);
  if (text.empty()) return std::nullopt;
  try {
    return parse_digest(text, name);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string layer_what(size_t i, size_t count) {
  return "layer " + std::to_string(i + 1) + " of " + std::to_string(count);
}

// Reads JSON blobs of an OCI layout in TAR, verified, and keeps them for importing later.
class JsonBlobs {
 public:
  explicit JsonBlobs(const TarArchive& tar) : tar_(tar) {}

  JsonBlobReader reader() {
    return [this](const Descriptor& d, std::string_view what) {
      if (d.size > kMaxJsonSize)
        throw Error(std::string(what) + " is larger than " + std::to_string(kMaxJsonSize >> 20) +
                    " MiB");
      auto it = read_.find(d.digest.str());
      if (it != read_.end()) return it->second;
      std::string content =
          tar_.read(tar_.resolve(blob_member(d.digest), what), kMaxJsonSize, what);
      check_blob(content, BlobExpectation{d.digest, d.size}, what);
      read_[d.digest.str()] = content;
      return content;
    };
  }

  // Imports the blob D (read before) into STORE unless it is there.
  void import(const BlobStore& store, const Descriptor& d, std::string_view what) const {
    if (store.contains(d.digest, d.size)) return;
    store.import_bytes(read_.at(d.digest.str()), BlobExpectation{d.digest, d.size}, what);
  }

 private:
  const TarArchive& tar_;
  std::map<std::string, std::string> read_;
};

void require_regular_file(const ImageRef& ref) {
  struct stat st;
  if (::stat(ref.path.c_str(), &st) != 0) throw_errno("cannot read the archive " + ref.path);
  if (!S_ISREG(st.st_mode))
    throw Error(ref.path + " is not a regular file",
                "execvm reads an archive more than once: save it to a file first");
}

Image base_image(const ImageRef& ref) {
  Image image;
  image.reference = ref.text;
  image.source = std::string(kind_name(ref.kind));
  image.location = ref.path;
  return image;
}

// Fills IMAGE from CHOSEN, an image of the OCI layout in TAR, importing its manifest, config and
// the layers the store lacks.
void finish_oci(Image& image, const ChosenImage& chosen, const JsonBlobs& json,
                const TarArchive& tar, const BlobStore& store) {
  fill_image(image, chosen);
  const auto& layers = chosen.manifest.layers;
  std::map<std::string, Want> wanted;
  std::vector<std::string> member_of(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const Descriptor& d = layers[i];
    std::string what = layer_what(i, layers.size()) + " (" + d.digest.str() + ")";
    if (store.contains(d.digest, d.size)) {
      image.layers[i].path = store.path(d.digest);
      continue;
    }
    member_of[i] = tar.resolve(blob_member(d.digest), what);
    wanted.emplace(member_of[i], Want{BlobExpectation{d.digest, d.size}, {}, what});
  }
  auto imported = import_members(tar, store, wanted);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (member_of[i].empty()) continue;
    image.layers[i].path = imported.at(member_of[i]).path;
    image.layers[i].verified = true;
  }
  // Last, so that a bad layer leaves nothing of the image in the store.
  json.import(store, chosen.manifest_descriptor, "the manifest");
  json.import(store, chosen.manifest.config, "the config");
}

std::string read_top(const TarArchive& tar, const std::string& name) {
  return tar.read(tar.resolve(name, name), kMaxJsonSize, name);
}

// A legacy layer's media type by its first bytes.
std::string media_type_of(std::string_view head, const std::string& what) {
  if (head.size() >= 262 && head.substr(257, 5) == "ustar") return media_type::kOciLayer;
  if (starts_with(head, "\x1f\x8b")) return media_type::kOciLayerGzip;
  if (starts_with(head, "\x28\xb5\x2f\xfd")) return media_type::kOciLayerZstd;
  if (starts_with(head, "\xfd\x37\x7a\x58\x5a") || starts_with(head, "BZh"))  // xz: FD "7zXZ"
    throw Error(what + " is compressed with xz or bzip2, which execvm does not read");
  return media_type::kOciLayer;
}

// The image of IMAGES that TAG names ("" when there is one only, "@N", or NAME[:TAG]), and the
// tag it goes by.
std::pair<size_t, std::string> choose_docker_image(const std::vector<DockerArchiveImage>& images,
                                                   const std::string& tag) {
  auto listing = [&] {
    std::string out;
    for (size_t i = 0; i < images.size(); ++i) {
      if (!out.empty()) out += ", ";
      out += images[i].repo_tags.empty() ? "@" + std::to_string(i) : images[i].repo_tags[0];
    }
    return "its images are " + out;
  };
  if (tag.empty()) {
    if (images.size() == 1) return {0, images[0].repo_tags.empty() ? "" : images[0].repo_tags[0]};
    throw Error("the archive holds " + std::to_string(images.size()) +
                    " images; name one with docker-archive:FILE:NAME:TAG or :@N",
                listing());
  }
  if (starts_with(tag, "@")) {
    std::string digits = tag.substr(1);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      throw Error("malformed image index \"" + tag + "\"",
                  "docker-archive:FILE:@N names the N-th image of the archive, from 0");
    size_t n = std::stoul(digits);
    if (n >= images.size())
      throw Error("the archive holds " + std::to_string(images.size()) + " images, no " + tag,
                  listing());
    return {n, images[n].repo_tags.empty() ? "" : images[n].repo_tags[0]};
  }
  std::string want = normalize_docker_name(tag);
  for (size_t i = 0; i < images.size(); ++i)
    for (const std::string& t : images[i].repo_tags)
      if (normalize_docker_name(t) == want) return {i, t};
  throw Error("the archive has no image named \"" + tag + "\"", listing());
}

// The legacy docker-archive form: manifest.json's config and layer members.
void finish_legacy(Image& image, const DockerArchiveImage& entry, const TarArchive& tar,
                   const BlobStore& store) {
  std::string config_member = tar.resolve(entry.config, "the config");
  std::string config_json = tar.read(config_member, kMaxJsonSize, "the config");
  std::optional<Digest> named = digest_of_name(config_member);
  check_blob(config_json, BlobExpectation{named, std::nullopt}, "the config");
  Digest config_digest = named ? *named : digest_of(config_json);
  std::string config_what = "the config " + config_digest.str();
  ParsedConfig config = parse_config(config_json, config_what);
  if (entry.layers.empty()) throw Error("manifest.json lists no layers for the image");
  apply_config(image, config, entry.layers.size());
  image.config_digest = config_digest.str();

  size_t count = entry.layers.size();
  image.layers.assign(count, ImageLayer{});
  std::map<std::string, Want> wanted;
  std::vector<std::string> member_of(count);
  for (size_t i = 0; i < count; ++i) {
    ImageLayer& layer = image.layers[i];
    layer.diff_id = config.diff_ids[i].str();
    std::string what = layer_what(i, count);
    std::string member = tar.resolve(entry.layers[i], what);
    what += " (\"" + member + "\")";
    uint64_t size = tar.member(member).size;
    std::optional<Digest> named_digest = digest_of_name(member);
    const Digest& diff_id = config.diff_ids[i];
    // A plain tar's digest is its diff ID; a compressed one's is known by its name at best.
    auto check = [diff_id, what](const ImportedBlob& blob) {
      if (media_type_of(blob.head, what) == media_type::kOciLayer && blob.digest != diff_id)
        throw Error(what + " does not match its diff ID " + diff_id.str() +
                    " in the config (its content is " + blob.digest.str() + ")");
    };
    Digest candidate = named_digest ? *named_digest : diff_id;
    if (store.contains(candidate, size)) {
      ImportedBlob blob{candidate, size, store.path(candidate), ""};
      Fd fd(::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd) {
        blob.head = read_head(fd.get(), kBlobHeadSize);
        check(blob);
        layer.digest = candidate.str();
        layer.media_type = media_type_of(blob.head, what);
        layer.size = size;
        layer.path = blob.path;
        continue;
      }
    }
    member_of[i] = member;
    wanted.emplace(member, Want{BlobExpectation{named_digest, size}, check, what});
  }
  auto imported = import_members(tar, store, wanted);
  for (size_t i = 0; i < count; ++i) {
    if (member_of[i].empty()) continue;
    const ImportedBlob& blob = imported.at(member_of[i]);
    ImageLayer& layer = image.layers[i];
    layer.digest = blob.digest.str();
    layer.media_type = media_type_of(blob.head, "");
    layer.size = blob.size;
    layer.path = blob.path;
    layer.verified = true;
  }
  if (!store.contains(config_digest, config_json.size()))
    store.import_bytes(config_json, BlobExpectation{config_digest, config_json.size()},
                       config_what);
}

}  // namespace

ArchiveKind archive_kind(const std::string& path) {
  TarArchive tar(path);
  bool oci_layout = false, docker = false;
  tar.scan([&](const std::string& name, archive_entry*, archive*) {
    if (name == "manifest.json") docker = true;
    if (name == "oci-layout") oci_layout = true;
    return !docker;
  });
  if (docker) return ArchiveKind::kDocker;
  return oci_layout ? ArchiveKind::kOci : ArchiveKind::kNeither;
}

Image open_oci_archive(const ImageRef& ref, const std::string& images_dir) {
  require_regular_file(ref);
  TarArchive tar(ref.path);
  tar.index();
  if (!tar.has("oci-layout"))
    throw Error(
        "the archive " + ref.path + " has no oci-layout file: it is not an oci-archive",
        tar.has("manifest.json") ? "it is a docker-archive: write docker-archive:" + ref.path : "");
  check_oci_layout(read_top(tar, "oci-layout"), "oci-layout");
  std::string index_json = read_top(tar, "index.json");
  BlobStore store(images_dir);
  JsonBlobs json(tar);
  ChosenImage chosen = choose_image(index_json, ref.tag, json.reader());
  Image image = base_image(ref);
  finish_oci(image, chosen, json, tar, store);
  return image;
}

Image open_docker_archive(const ImageRef& ref, const std::string& images_dir) {
  require_regular_file(ref);
  TarArchive tar(ref.path);
  tar.index();
  if (!tar.has("manifest.json"))
    throw Error("the archive " + ref.path + " has no manifest.json: it is not a docker-archive",
                tar.has("oci-layout") ? "it is an oci-archive: write oci-archive:" + ref.path : "");
  std::vector<DockerArchiveImage> images =
      parse_docker_archive_manifest(read_top(tar, "manifest.json"), "manifest.json");
  auto [n, tag] = choose_docker_image(images, ref.tag);
  const DockerArchiveImage& entry = images[n];
  BlobStore store(images_dir);
  Image image = base_image(ref);
  image.tag = tag;
  // Docker 25+ writes an OCI layout too: its manifest of the same config has the media types.
  std::optional<std::string> config_member;
  if (tar.has("index.json") && tar.has("oci-layout")) {
    std::optional<Digest> config = digest_of_name(tar.resolve(entry.config, "the config"));
    if (config) {
      JsonBlobs json(tar);
      std::optional<ChosenImage> chosen =
          find_image_by_config(read_top(tar, "index.json"), *config, json.reader());
      if (chosen) {
        chosen->tag = tag;
        finish_oci(image, *chosen, json, tar, store);
        return image;
      }
    }
  }
  finish_legacy(image, entry, tar, store);
  return image;
}

}  // namespace execvm
