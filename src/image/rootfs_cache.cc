#include "image/rootfs_cache.h"

#include <fcntl.h>
#include <sqfs/io.h>
#include <sqfs/super.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {
namespace {

constexpr const char* kFstype = "squashfs";
constexpr uint64_t kPadding = 4096;  // the writer pads images to this

// The lines of the record written beside a complete entry.
std::string record_text(uint64_t size, uint64_t bytes_used, const std::string& digest) {
  return "execvm rootfs " + std::to_string(kRootfsFormatVersion) + "\nsize " +
         std::to_string(size) + "\nbytes_used " + std::to_string(bytes_used) +
         "\nmetadata_sha256 " + digest + "\n";
}

// What a squashfs image at PATH says of itself, checked against its size: its record, or nullopt
// when it is not a whole image. The digest covers the superblock and everything after the data
// (inodes, directories and tables: what a damaged or cut image loses first).
std::optional<std::string> describe(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  uint64_t size = static_cast<uint64_t>(st.st_size);

  sqfs_file_t* file = sqfs_open_file(path.c_str(), SQFS_FILE_OPEN_READ_ONLY);
  if (!file) return std::nullopt;
  sqfs_super_t super{};
  int err = sqfs_super_read(&super, file);
  sqfs_destroy(file);
  if (err) return std::nullopt;
  uint64_t used = super.bytes_used;
  if (used == 0 || size != (used + kPadding - 1) / kPadding * kPadding) return std::nullopt;
  if (super.inode_table_start < sizeof(sqfs_super_t) || super.inode_table_start >= used) {
    return std::nullopt;
  }

  Sha256 hash;
  std::string buf(1 << 16, '\0');
  auto hash_range = [&](uint64_t offset, uint64_t end) {
    while (offset < end) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - offset));
      ssize_t got = ::pread(fd.get(), buf.data(), n, static_cast<off_t>(offset));
      if (got <= 0) return false;
      hash.update(buf.data(), static_cast<size_t>(got));
      offset += static_cast<uint64_t>(got);
    }
    return true;
  };
  if (!hash_range(0, sizeof(sqfs_super_t)) || !hash_range(super.inode_table_start, used)) {
    return std::nullopt;
  }
  return record_text(size, used, hash.hex_digest());
}

// Whether the entry at PATH is complete: it matches the record written after it was.
bool valid(const std::string& path) {
  std::string record;
  try {
    record = read_file(path + ".ok");
  } catch (const Error&) {
    return false;
  }
  auto now = describe(path);
  return now && *now == record;
}

void remove_if_there(const std::string& path) {
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno("cannot remove " + path);
}

// Temporary files of earlier builds of NAME in DIR that did not finish (a killed run); only
// the lock holder calls this, so none is in use.
void remove_leftovers(const std::string& dir, const std::string& name) {
  std::string prefix = "." + name + ".tmp.";
  for (const auto& entry : directory_names(dir))
    if (starts_with(entry, prefix)) ::unlink(join_path(dir, entry).c_str());
}

void sync_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) < 0) throw_errno("cannot sync " + path);
}

}  // namespace

std::string rootfs_path(const Image& image, const std::string& images_dir,
                        SquashfsWriter::Compression compression) {
  std::string_view chain = image.chain_id;
  bool ok = starts_with(chain, "sha256:") && chain.size() == 7 + 64;
  for (char c : chain.substr(std::min<size_t>(7, chain.size()))) {
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!ok) throw Error("a malformed chain ID '" + image.chain_id + "'");
  const char* format = compression == SquashfsWriter::Compression::kLz4    ? "-lz4"
                       : compression == SquashfsWriter::Compression::kZstd ? "-zstd"
                                                                           : "";
  return join_path(images_dir, "rootfs/" + std::string(chain.substr(7)) + ".v" +
                                   std::to_string(kRootfsFormatVersion) + format + "." + kFstype);
}

RootfsEntry rootfs_for(const Image& image, const std::string& images_dir,
                       const ProgressFn& progress) {
  return rootfs_for(image, images_dir, progress, FlattenOptions{});
}

RootfsEntry rootfs_for(const Image& image, const std::string& images_dir,
                       const ProgressFn& progress, const FlattenOptions& options,
                       const std::function<void()>& before_build) {
  RootfsEntry entry;
  entry.path = rootfs_path(image, images_dir, options.compression);
  entry.fstype = kFstype;
  auto found = [&] {
    is_regular_file(entry.path, &entry.size);
    return entry;
  };
  // A complete entry is never changed in place (only replaced by a rename), so it can be
  // checked without the lock.
  if (valid(entry.path)) return found();

  std::string dir = parent_directory(entry.path);
  std::string name = base_name(entry.path);
  make_dirs(dir);
  Fd held = lock_file(entry.path + ".lock");
  if (valid(entry.path)) return found();  // another run built it meanwhile

  remove_leftovers(dir, name);
  remove_if_there(entry.path + ".ok");
  if (before_build) before_build();
  std::string tmp = join_path(dir, "." + name + ".tmp." + std::to_string(::getpid()));
  flatten_image(image, tmp, progress, options);
  try {
    sync_file(tmp);
    auto record = describe(tmp);
    if (!record) throw Error("the image just written at " + tmp + " does not read back");
    if (::rename(tmp.c_str(), entry.path.c_str()) < 0) {
      throw_errno("cannot rename " + tmp + " to " + entry.path);
    }
    std::string record_tmp = tmp + ".ok";
    write_file(record_tmp, *record);
    if (::rename(record_tmp.c_str(), (entry.path + ".ok").c_str()) < 0) {
      throw_errno("cannot rename " + record_tmp);
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  entry.built = true;
  return found();
}

bool remove_rootfs(const Image& image, const std::string& images_dir) {
  bool there = false;
  for (auto c : {SquashfsWriter::Compression::kNone, SquashfsWriter::Compression::kLz4,
                 SquashfsWriter::Compression::kZstd}) {
    std::string path = rootfs_path(image, images_dir, c);
    if (!is_directory(parent_directory(path))) return false;
    if (::access(path.c_str(), F_OK) != 0 && ::access((path + ".ok").c_str(), F_OK) != 0) continue;
    Fd held = lock_file(path + ".lock");
    there = there || ::access(path.c_str(), F_OK) == 0;
    remove_if_there(path + ".ok");
    remove_if_there(path);
  }
  return there;
}

}  // namespace execvm
