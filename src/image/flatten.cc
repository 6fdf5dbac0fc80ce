#include "image/flatten.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "image/tar_reader.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {
namespace {

constexpr size_t kMaxName = 255;          // a component (NAME_MAX)
constexpr size_t kMaxPath = 4095;         // a whole name or symlink target (PATH_MAX less the NUL)
constexpr size_t kMaxXattrValue = 65536;  // XATTR_SIZE_MAX
constexpr uint64_t kFreeSpaceStep = 16ULL << 20;
const char* const kHostileHint = "the image is damaged or hostile: execvm does not use it";

// NAME made printable on one line: control bytes and quotes escaped, long names shortened.
std::string shown(std::string_view name) {
  std::string out;
  for (unsigned char c : name.substr(0, 200)) {
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
      out += "\\x" + hex(std::string_view(reinterpret_cast<const char*>(&c), 1));
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > 200) out += "...";
  return out;
}

// NAME's components. A leading '/' is dropped as tar does (every name is relative to the
// image's root); "." and empty components are dropped; ".." is refused, whether or not it would
// stay inside: nothing here resolves a name against the host, and such names exist only to
// escape (CVE-2021-29136).
std::vector<std::string> components(const std::string& name, const std::string& entry,
                                    const char* what) {
  if (name.size() > kMaxPath) {
    throw TarError(std::string(what) + " longer than " + std::to_string(kMaxPath) + " bytes",
                   entry);
  }
  std::vector<std::string> out;
  for (const std::string& part : split(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") throw TarError(std::string(what) + " with a '..' component", entry);
    if (part.size() > kMaxName) {
      throw TarError(std::string(what) + " with a component over 255 bytes", entry);
    }
    out.push_back(part);
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

uint32_t clamp_time(int64_t t) {
  if (t < 0) return 0;
  if (t > static_cast<int64_t>(UINT32_MAX)) return UINT32_MAX;  // squashfs keeps 32 bits
  return static_cast<uint32_t>(t);
}

uint64_t statvfs_free(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) < 0) throw_errno("cannot read the free space of " + dir);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// The merged tree of an image's layers, applied one entry at a time.
class Flattener {
 public:
  explicit Flattener(SquashfsWriter& writer) : writer_(writer) {
    root_.inode = std::make_shared<FsInode>();
    root_.inode->mode = S_IFDIR | 0755;
  }

  void start_layer(uint32_t layer) { layer_ = layer; }
  FsNode& root() { return root_; }

  void apply(const TarEntry& e, TarReader& tar) {
    std::vector<std::string> parts = components(e.name, e.name, "a name");
    if (parts.empty()) {
      // "." or "/": the root itself, which only a directory entry may describe.
      if (e.type != TarEntry::Type::kDirectory) {
        throw TarError("an entry that would replace the root", e.name);
      }
      set_metadata(*root_.inode, e, S_IFDIR);
      root_.layer = layer_;
      return;
    }
    const std::string& base = parts.back();
    if (starts_with(base, ".wh.")) {
      whiteout(parts, e.name);
      return;
    }

    std::shared_ptr<FsInode> linked;
    const FsNode* link_node = nullptr;
    if (e.type == TarEntry::Type::kHardlink) {
      std::vector<std::string> target = components(e.link, e.name, "a hardlink target");
      FsNode* node = target.empty() ? &root_ : find(target, e.name);
      if (!node) {
        throw TarError("a hardlink to '" + shown(e.link) + "', which is not in the image", e.name);
      }
      if (node->is_dir()) throw TarError("a hardlink to a directory", e.name);
      linked = node->inode;
      link_node = node;
    }

    FsNode& parent = parent_of(parts, e.name);
    auto it = parent.children.find(base);
    FsNode* existing = it == parent.children.end() ? nullptr : it->second.get();

    if (e.type == TarEntry::Type::kDirectory && existing && existing->is_dir()) {
      // A directory named again: new metadata, same children.
      set_metadata(*existing->inode, e, S_IFDIR);
      existing->layer = layer_;
      return;
    }
    if (link_node && link_node == existing) {
      throw TarError("a hardlink to itself", e.name);
    }

    auto node = std::make_unique<FsNode>();
    node->parent = &parent;
    node->layer = layer_;
    if (linked) {
      node->inode = linked;
    } else {
      node->inode = std::make_shared<FsInode>();
      FsInode& inode = *node->inode;
      switch (e.type) {
        case TarEntry::Type::kFile: {
          set_metadata(inode, e, S_IFREG);
          writer_.begin_file();
          for (std::string_view chunk = tar.read_data(); !chunk.empty(); chunk = tar.read_data()) {
            writer_.append(chunk);
          }
          inode.data = writer_.end_file();
          break;
        }
        case TarEntry::Type::kDirectory:
          set_metadata(inode, e, S_IFDIR);
          break;
        case TarEntry::Type::kSymlink:
          if (e.link.size() > kMaxPath || e.link.find('\0') != std::string::npos) {
            throw TarError("a symlink target longer than 4095 bytes", e.name);
          }
          set_metadata(inode, e, S_IFLNK);
          inode.mode = S_IFLNK | 0777;
          inode.target = e.link;
          break;
        case TarEntry::Type::kCharDevice:
        case TarEntry::Type::kBlockDevice:
          if (e.dev_major >= (1U << 12) || e.dev_minor >= (1U << 20)) {
            throw TarError("a device number squashfs cannot hold", e.name);
          }
          set_metadata(inode, e, e.type == TarEntry::Type::kCharDevice ? S_IFCHR : S_IFBLK);
          inode.rdev = (e.dev_minor & 0xff) | (e.dev_major << 8) | ((e.dev_minor & ~0xffU) << 12);
          break;
        case TarEntry::Type::kFifo:
          set_metadata(inode, e, S_IFIFO);
          break;
        case TarEntry::Type::kHardlink:
          break;
      }
    }
    // A directory replaced by anything else goes with everything under it (and a file by a
    // directory), as a tar extraction over the lower layers would have it.
    parent.children[base] = std::move(node);
  }

  uint64_t count(const FsNode& dir) const {
    uint64_t n = 0;
    for (const auto& [name, child] : dir.children) n += 1 + (child->is_dir() ? count(*child) : 0);
    return n;
  }

 private:
  // The directory that holds the entry PARTS names, made (0755 root:root) where the layers did
  // not name it. Never through a symlink: an entry under one would be written wherever the link
  // points in a tar extraction (CVE-2021-32760, CVE-2018-15664), so it is refused.
  FsNode& parent_of(const std::vector<std::string>& parts, const std::string& entry) {
    FsNode* dir = &root_;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = dir->children.find(parts[i]);
      if (it == dir->children.end()) {
        auto made = std::make_unique<FsNode>();
        made->inode = std::make_shared<FsInode>();
        made->inode->mode = S_IFDIR | 0755;
        made->parent = dir;
        made->layer = layer_;
        it = dir->children.emplace(parts[i], std::move(made)).first;
      }
      FsNode* child = it->second.get();
      check_parent(*child, parts, i, entry);
      dir = child;
    }
    return *dir;
  }

  // Throws unless NODE, PARTS[0..I], is a directory that an entry may be under.
  static void check_parent(const FsNode& node, const std::vector<std::string>& parts, size_t i,
                           const std::string& entry) {
    if ((node.inode->mode & S_IFMT) == S_IFLNK) {
      throw TarError("an entry under '" + shown(joined(parts, i + 1)) + "', which is a symlink",
                     entry);
    }
    if (!node.is_dir()) {
      throw TarError(
          "an entry under '" + shown(joined(parts, i + 1)) + "', which is not a directory", entry);
    }
  }

  // The node PARTS names, or null; its parents must be directories (not symlinks).
  FsNode* find(const std::vector<std::string>& parts, const std::string& entry) {
    FsNode* node = &root_;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) check_parent(*node, parts, i - 1, entry);
      auto it = node->children.find(parts[i]);
      if (it == node->children.end()) return nullptr;
      node = it->second.get();
    }
    return node;
  }

  // ".wh.NAME" deletes NAME of the lower layers; ".wh..wh..opq" hides all that the lower layers
  // have in its directory (OCI image spec, "Whiteouts"). Entries of this layer stay.
  void whiteout(const std::vector<std::string>& parts, const std::string& entry) {
    const std::string& base = parts.back();
    std::vector<std::string> dir_parts(parts.begin(), parts.end() - 1);
    FsNode* dir = nullptr;
    if (dir_parts.empty()) {
      dir = &root_;
    } else {
      dir = find(dir_parts, entry);
      if (dir) check_parent(*dir, dir_parts, dir_parts.size() - 1, entry);
    }
    if (base == ".wh..wh..opq") {
      if (dir) make_opaque(*dir);
      return;
    }
    if (starts_with(base, ".wh..wh.")) return;  // aufs bookkeeping, which docker skips too
    std::string name = base.substr(4);
    if (name.empty() || name == "." || name == "..") {
      throw TarError("a whiteout of '" + shown(name) + "'", entry);
    }
    if (!dir) return;
    auto it = dir->children.find(name);
    if (it != dir->children.end() && it->second->layer != layer_) dir->children.erase(it);
  }

  // Removes what lower layers put under DIR, keeping this layer's entries and the directories
  // that lead to them. True when something of this layer is left under DIR.
  bool make_opaque(FsNode& dir) {
    bool kept = false;
    for (auto it = dir.children.begin(); it != dir.children.end();) {
      FsNode& child = *it->second;
      bool keep = child.layer == layer_;
      if (child.is_dir()) keep = make_opaque(child) || keep;
      if (keep) {
        kept = true;
        ++it;
      } else {
        it = dir.children.erase(it);
      }
    }
    return kept;
  }

  void set_metadata(FsInode& inode, const TarEntry& e, uint32_t type) {
    if (e.uid > UINT32_MAX || e.gid > UINT32_MAX) {
      throw TarError("an owner beyond 32 bits", e.name);
    }
    inode.mode = type | (e.mode & 07777);
    inode.uid = static_cast<uint32_t>(e.uid);
    inode.gid = static_cast<uint32_t>(e.gid);
    inode.mtime = clamp_time(e.mtime);
    inode.xattrs.clear();
    for (const auto& [key, value] : e.xattrs) {
      // squashfs keeps the user., trusted. and security. namespaces (file capabilities are
      // security.capability); others (system.posix_acl_*) are dropped, as mksquashfs does.
      if (!starts_with(key, "user.") && !starts_with(key, "trusted.") &&
          !starts_with(key, "security.")) {
        continue;
      }
      if (key.size() > kMaxName || key.find('\0') != std::string::npos) {
        throw TarError("an xattr name over 255 bytes", e.name);
      }
      if (value.size() > kMaxXattrValue) throw TarError("an xattr value over 64 KiB", e.name);
      inode.xattrs.emplace_back(key, value);
    }
  }

  SquashfsWriter& writer_;
  FsNode root_;
  uint32_t layer_ = 0;
};

// Removes PATH when it goes out of scope, unless kept.
class RemoveOnFailure {
 public:
  explicit RemoveOnFailure(std::string path) : path_(std::move(path)) {}
  ~RemoveOnFailure() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void keep() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

FlattenResult flatten_image(const Image& image, const std::string& output,
                            const ProgressFn& progress) {
  return flatten_image(image, output, progress, FlattenOptions{});
}

FlattenResult flatten_image(const Image& image, const std::string& output,
                            const ProgressFn& progress, const FlattenOptions& options) {
  std::string out_dir = parent_directory(output);
  auto free_space = options.free_space
                        ? options.free_space
                        : std::function<uint64_t()>([&] { return statvfs_free(out_dir); });
  FlattenProgress done;
  for (const ImageLayer& layer : image.layers) {
    struct stat st {};
    if (image.pending)  // still arriving: as large as the manifest says
      done.bytes_total += layer.size;
    else if (::stat(layer.path.c_str(), &st) == 0)
      done.bytes_total += static_cast<uint64_t>(st.st_size);
  }

  SquashfsWriter::Options writer_options;
  writer_options.compression = options.compression;
  writer_options.workers = options.workers;
  SquashfsWriter writer(output, writer_options);
  RemoveOnFailure remove(output);
  Flattener tree(writer);
  FlattenResult result;

  const size_t count = image.layers.size();
  uint64_t entries = 0;
  for (size_t i = 0; i < count; ++i) {
    const ImageLayer& layer = image.layers[i];
    std::string where = "image layer " + shown(short_digest(layer.digest)) + " (" +
                        std::to_string(i + 1) + " of " + std::to_string(count) + ")";
    if (image.pending) image.pending->wait(i);  // the pull's own error when it failed
    std::optional<LayerStream> stream;
    try {
      stream.emplace(layer, options.limits);
    } catch (const Error& e) {
      throw Error(where + ": " + e.what(), e.hint(), e.exit_code());
    }
    uint64_t free_at_start = free_space();
    uint64_t next_check = kFreeSpaceStep;
    uint64_t blob_before = done.bytes_done;
    TarReader tar([&](char* buf, size_t size) {
      size_t n = stream->read(buf, size);
      done.bytes_done = blob_before + stream->blob_bytes();
      if (progress) progress(done);
      if (stream->tar_bytes() > free_at_start) {
        throw Error("the layer decompresses to more than the " + format_mib(free_at_start) +
                        " free where the image is written",
                    "free some space, or point XDG_CACHE_HOME elsewhere");
      }
      if (stream->tar_bytes() >= next_check) {
        next_check = stream->tar_bytes() + kFreeSpaceStep;
        if (free_space() < options.reserve) {
          throw Error("the filesystem where the image is written is nearly full",
                      "free some space, or point XDG_CACHE_HOME elsewhere");
        }
      }
      return n;
    });
    tree.start_layer(static_cast<uint32_t>(i + 1));
    try {
      TarEntry entry;
      while (tar.next(entry)) {
        if (++entries > options.max_entries)
          throw Error("the image has more than " + std::to_string(options.max_entries) +
                          " entries, more than execvm holds in memory to flatten it",
                      kHostileHint);
        tree.apply(entry, tar);
      }
    } catch (const TarError& e) {
      // A blob that is not what its digest says is damaged, not hostile: say that instead (a
      // verified blob is what its manifest names, so its entries are the image's own).
      if (!layer.verified) {
        try {
          stream->drain();
        } catch (const Error& damaged) {
          throw Error(where + ": " + damaged.what(), damaged.hint());
        }
      }
      std::string entry_part = e.entry().empty() ? "" : ", entry '" + shown(e.entry()) + "'";
      throw Error(where + entry_part + ": " + e.what(), kHostileHint);
    } catch (const Error& e) {
      throw Error(where + ": " + e.what(), e.hint(), e.exit_code());
    }
    result.uncompressed_bytes += stream->tar_bytes();
  }

  result.files = tree.count(tree.root());
  result.image_bytes = writer.finish(tree.root());
  remove.keep();
  return result;
}

}  // namespace execvm
