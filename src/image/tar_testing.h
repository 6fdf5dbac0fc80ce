// Helpers for the image tests only: layer tars made with libarchive's writer or by hand (for
// the malformed ones), layer blobs with their digests, images made of them, and listings of a
// squashfs image as squashfs-tools-ng's sqfs2tar reads it back and as the kernel mounts it.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/tar_stream.h"
#include "util/error.h"
#include "util/process.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm::testing {

// One entry of a layer tar, as libarchive writes it.
struct TestEntry {
  std::string name;
  mode_t type = S_IFREG;  // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO; 0: a hardlink
  mode_t mode = 0644;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  std::string data;  // a file's contents
  std::string link;  // a symlink's or hardlink's target
  unsigned dev_major = 0, dev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

inline TestEntry file(std::string name, std::string data, mode_t mode = 0644) {
  TestEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.mode = mode;
  return e;
}
inline TestEntry dir(std::string name, mode_t mode = 0755) {
  TestEntry e;
  e.name = std::move(name);
  e.type = S_IFDIR;
  e.mode = mode;
  return e;
}
inline TestEntry symlink(std::string name, std::string target) {
  TestEntry e;
  e.name = std::move(name);
  e.type = S_IFLNK;
  e.mode = 0777;
  e.link = std::move(target);
  return e;
}
inline TestEntry hardlink(std::string name, std::string target) {
  TestEntry e;
  e.name = std::move(name);
  e.type = 0;
  e.link = std::move(target);
  return e;
}
// A whiteout (".wh.NAME" beside NAME) or, with NAME "", the opaque marker of DIR.
inline TestEntry whiteout(const std::string& dir, const std::string& name) {
  std::string prefix = dir.empty() ? "" : dir + "/";
  return file(prefix + (name.empty() ? ".wh..wh..opq" : ".wh." + name), "");
}

// A tar of ENTRIES in libarchive's PAX format (xattrs as SCHILY.xattr and LIBARCHIVE.xattr), or
// in the format SET_FORMAT chooses (archive_write_set_format_gnutar, say).
inline std::string make_tar(const std::vector<TestEntry>& entries,
                            int (*set_format)(archive*) = archive_write_set_format_pax_restricted) {
  std::string out;
  archive* a = archive_write_new();
  set_format(a);
  archive_write_set_bytes_per_block(a, 10240);
  archive_write_open2(
      a, &out, nullptr,
      [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr, nullptr);
  for (const TestEntry& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.name.c_str());
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, 0);
    if (t.type == 0) {
      archive_entry_set_hardlink(e, t.link.c_str());
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, t.type);
      archive_entry_set_perm(e, t.mode);
      if (t.type == S_IFREG) archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
      if (t.type == S_IFLNK) archive_entry_set_symlink(e, t.link.c_str());
      if (t.type == S_IFCHR || t.type == S_IFBLK) {
        archive_entry_set_rdevmajor(e, t.dev_major);
        archive_entry_set_rdevminor(e, t.dev_minor);
      }
    }
    for (const auto& [key, value] : t.xattrs) {
      archive_entry_xattr_add_entry(e, key.c_str(), value.data(), value.size());
    }
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      throw Error(std::string("libarchive: ") + archive_error_string(a));
    }
    if (t.type == S_IFREG && !t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// Hand-made tar pieces, for the archives no writer makes.
struct RawHeader {
  std::string name;
  char type = '0';
  uint64_t size = 0;
  std::string link;
  std::string magic = std::string("ustar\0", 6);
  std::string version = "00";
  std::string prefix;
  std::string mode = "0000644";
  bool bad_checksum = false;
};

inline std::string raw_header(const RawHeader& h) {
  std::string b(512, '\0');
  auto put = [&](size_t off, const std::string& s) { std::memcpy(&b[off], s.data(), s.size()); };
  auto octal = [](uint64_t v, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", width - 1, static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  put(0, h.name.substr(0, 100));
  put(100, h.mode);
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(h.size, 12));
  put(136, octal(1700000000, 12));
  b[156] = h.type;
  put(157, h.link.substr(0, 100));
  put(257, h.magic);
  put(263, h.version);
  put(345, h.prefix);
  put(148, "        ");
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  if (h.bad_checksum) sum += 1;
  put(148, octal(sum, 7));
  return b;
}

inline std::string padded(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

// One PAX record, "LENGTH KEY=VALUE\n".
inline std::string pax_record(const std::string& key, const std::string& value) {
  std::string body = " " + key + "=" + value + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  return std::to_string(len) + body;
}

inline std::string pax_header(const std::string& records, char type = 'x') {
  RawHeader h;
  h.name = "PaxHeader/x";
  h.type = type;
  h.size = records.size();
  return raw_header(h) + padded(records);
}

inline std::string raw_file(const std::string& name, const std::string& data) {
  RawHeader h;
  h.name = name;
  h.size = data.size();
  return raw_header(h) + padded(data);
}

inline std::string end_of_archive() {
  return std::string(1024, '\0');
}

inline std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline std::string zstd(const std::string& data, int level = 3) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level));
  return out;
}

inline const char* media_type(LayerCompression c) {
  switch (c) {
    case LayerCompression::kGzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case LayerCompression::kZstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case LayerCompression::kNone:
      break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

// A layer blob holding TAR in DIR, named after its digest, with its digests set.
inline ImageLayer write_layer(const TempDir& dir, const std::string& tar,
                              LayerCompression c = LayerCompression::kGzip) {
  std::string blob = c == LayerCompression::kGzip   ? gzip(tar)
                     : c == LayerCompression::kZstd ? zstd(tar)
                                                    : tar;
  ImageLayer layer;
  layer.digest = "sha256:" + sha256_hex(blob);
  layer.diff_id = "sha256:" + sha256_hex(tar);
  layer.media_type = media_type(c);
  layer.size = blob.size();
  layer.path = dir.write("blob-" + layer.digest.substr(7, 16), blob);
  return layer;
}

// An image of LAYERS, bottom first, with its chain ID.
inline Image make_image(std::vector<ImageLayer> layers) {
  Image image;
  image.reference = "test";
  std::string chain;
  for (const ImageLayer& layer : layers) {
    chain = chain.empty() ? layer.diff_id : "sha256:" + sha256_hex(chain + " " + layer.diff_id);
  }
  image.chain_id = chain;
  image.layers = std::move(layers);
  return image;
}

// Lines "PATH TYPE MODE UID:GID MTIME WHAT [xattr=...]" for a listing: WHAT is a file's
// contents (or its length and hash when long), a symlink's target, a device's numbers; files
// that are one inode carry "link=" and the first of their names.
struct Listed {
  char type = '?';
  unsigned mode = 0;
  int64_t uid = 0, gid = 0, mtime = 0;
  std::string what;
  std::string group;  // the first path of its hardlink group
  std::map<std::string, std::string> xattrs;
};

inline std::string describe_data(const std::string& data) {
  if (data.size() <= 64) return "'" + data + "'";
  return std::to_string(data.size()) + ":" + sha256_hex(data).substr(0, 16);
}

inline std::vector<std::string> format_listing(std::map<std::string, Listed> entries) {
  std::vector<std::string> out;
  for (const auto& [path, e] : entries) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", e.mode);
    std::string line = path + " " + e.type + " " + mode + " " + std::to_string(e.uid) + ":" +
                       std::to_string(e.gid) + " " + std::to_string(e.mtime) + " " + e.what;
    if (!e.group.empty() && e.group != path) line += " link=" + e.group;
    for (const auto& [k, v] : e.xattrs) line += " " + k + "=" + hex(v);
    out.push_back(line);
  }
  return out;
}

// The image at PATH as sqfs2tar (squashfs-tools-ng's reader) turns it into a tar, read back
// with libarchive.
inline std::vector<std::string> list_squashfs(const std::string& path) {
  auto run = run_capture({"sqfs2tar", "-r", ".", path}, false);
  if (run.status != 0) throw Error("sqfs2tar failed on " + path);
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, run.output.data(), run.output.size());
  std::map<std::string, Listed> entries;
  std::vector<std::pair<std::string, std::string>> links;  // (name, target)
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    while (starts_with(name, "./")) name = name.substr(2);
    while (name.size() > 1 && name.ends_with('/')) name.pop_back();
    if (name == "." || name.empty()) name = "/";
    if (name != "/") name = "/" + name;
    Listed l;
    if (const char* hl = archive_entry_hardlink(e)) {
      std::string target = hl;
      while (starts_with(target, "./")) target = target.substr(2);
      target = "/" + target;
      entries[name] = entries.at(target);
      links.emplace_back(name, target);
      continue;
    }
    mode_t t = archive_entry_filetype(e);
    l.type = t == AE_IFDIR   ? 'd'
             : t == AE_IFLNK ? 'l'
             : t == AE_IFCHR ? 'c'
             : t == AE_IFBLK ? 'b'
             : t == AE_IFIFO ? 'p'
                             : '-';
    l.mode = archive_entry_perm(e) & 07777;
    l.uid = archive_entry_uid(e);
    l.gid = archive_entry_gid(e);
    l.mtime = archive_entry_mtime(e);
    if (l.type == '-') {
      std::string data;
      char buf[65536];
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0) data.append(buf, n);
      l.what = describe_data(data);
    } else if (l.type == 'l') {
      l.what = std::string("-> ") + archive_entry_symlink(e);
    } else if (l.type == 'c' || l.type == 'b') {
      l.what = std::to_string(archive_entry_rdevmajor(e)) + "," +
               std::to_string(archive_entry_rdevminor(e));
    }
    archive_entry_xattr_reset(e);
    const char* key;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      l.xattrs[key] = std::string(static_cast<const char*>(value), size);
    }
    entries[name] = l;
  }
  archive_read_free(a);
  // Hardlink groups, each named by its first path in sorted order.
  std::map<std::string, std::string> group;
  std::function<std::string(const std::string&)> find = [&](const std::string& p) {
    auto it = group.find(p);
    if (it == group.end() || it->second == p) return p;
    return it->second = find(it->second);
  };
  for (const auto& [name, target] : links) {
    std::string a1 = find(name), b1 = find(target);
    group[a1] = group[b1] = std::min(a1, b1);
  }
  for (auto& [path, l] : entries) {
    if (group.count(path)) l.group = find(path);
  }
  return format_listing(entries);
}

// The same lines for a mounted tree at ROOT, as the kernel shows it (lstat, llistxattr).
inline std::vector<std::string> list_tree(const std::string& root) {
  std::map<std::string, Listed> entries;
  std::map<std::pair<dev_t, ino_t>, std::string> first;
  std::vector<std::string> todo{""};
  while (!todo.empty()) {
    std::string rel = todo.back();
    todo.pop_back();
    std::string full = root + rel;
    struct stat st {};
    if (::lstat(full.c_str(), &st) < 0) throw_errno("lstat " + full);
    Listed l;
    l.type = S_ISDIR(st.st_mode)    ? 'd'
             : S_ISLNK(st.st_mode)  ? 'l'
             : S_ISCHR(st.st_mode)  ? 'c'
             : S_ISBLK(st.st_mode)  ? 'b'
             : S_ISFIFO(st.st_mode) ? 'p'
                                    : '-';
    l.mode = st.st_mode & 07777;
    l.uid = st.st_uid;
    l.gid = st.st_gid;
    l.mtime = st.st_mtime;
    std::string name = rel.empty() ? "/" : rel;
    if (l.type == '-') {
      l.what = describe_data(read_file(full));
      if (st.st_nlink > 1) {
        auto [it, fresh] = first.emplace(std::make_pair(st.st_dev, st.st_ino), name);
        l.group = it->second;
      }
    } else if (l.type == 'l') {
      char buf[4096];
      ssize_t n = ::readlink(full.c_str(), buf, sizeof buf);
      l.what = "-> " + std::string(buf, n > 0 ? n : 0);
    } else if (l.type == 'c' || l.type == 'b') {
      l.what = std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
    }
    char keys[65536];
    ssize_t n = ::llistxattr(full.c_str(), keys, sizeof keys);
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(keys + i)) + 1) {
      char value[65536];
      ssize_t vn = ::lgetxattr(full.c_str(), keys + i, value, sizeof value);
      if (vn >= 0) l.xattrs[keys + i] = std::string(value, vn);
    }
    entries[name] = l;
    if (l.type == 'd') {
      DIR* d = ::opendir(full.c_str());
      if (!d) throw_errno("opendir " + full);
      while (dirent* de = ::readdir(d)) {
        std::string n2 = de->d_name;
        if (n2 != "." && n2 != "..") todo.push_back(rel + "/" + n2);
      }
      ::closedir(d);
    }
  }
  // Hardlink groups named by their first path in sorted order, as list_squashfs() does.
  std::map<std::string, std::string> lowest;
  for (const auto& [p, l] : entries) {
    if (!l.group.empty() && !lowest.count(l.group)) lowest[l.group] = p;
  }
  for (auto& [p, l] : entries) {
    if (!l.group.empty()) l.group = lowest[l.group];
  }
  return format_listing(entries);
}

// Every path under DIR (relative, sorted), with its size for files: what a test compares before
// and after to see that nothing else was written.
inline std::set<std::string> tree_listing(const std::string& dir, const std::string& prefix = "") {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name, rel = prefix + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    out.insert(rel + (S_ISDIR(st.st_mode) ? "/" : " " + std::to_string(st.st_size)));
    if (S_ISDIR(st.st_mode)) out.merge(tree_listing(path, rel + "/"));
  }
  ::closedir(d);
  return out;
}

}  // namespace execvm::testing
