// The cache of root filesystem images: one squashfs image per layer chain, made by the
// flattener the first time an image is run and shared by every run after it, by concurrent
// runs too (an flock per entry; a temporary name renamed into place; a record of the complete
// entry written after it, checked before each use, so that a truncated or damaged entry is
// rebuilt rather than booted).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "image/flatten.h"
#include "image/image.h"

namespace execvm {

// The version of the converter's output, part of each entry's name: bump it whenever what
// flatten_image() writes for the same layers changes.
inline constexpr int kRootfsFormatVersion = 1;

struct RootfsEntry {
  std::string path;
  std::string fstype;  // for the guest's mount: "squashfs"
  uint64_t size = 0;
  bool built = false;  // this call converted it
};

// The root filesystem image of IMAGE under IMAGES_DIR/rootfs/, keyed by IMAGE.chain_id and
// kRootfsFormatVersion: IMAGES_DIR/rootfs/<chain hex>.v<version>.squashfs. Made with
// flatten_image() when missing or found damaged, under an flock so that two concurrent first
// runs convert once and both succeed. Throws Error as flatten_image() does, or when the cache
// cannot be written.
RootfsEntry rootfs_for(const Image& image, const std::string& images_dir,
                       const ProgressFn& progress);

// The same, with the flattener's options (the entry's name follows their compression) and a
// hook that runs under the lock just before a conversion (for tests).
RootfsEntry rootfs_for(const Image& image, const std::string& images_dir,
                       const ProgressFn& progress, const FlattenOptions& options,
                       const std::function<void()>& before_build = {});

// Where IMAGE's entry is or would be, in the format COMPRESSION names (the default's name has
// none: <chain hex>.v<version>.squashfs; others add theirs: ...v1-lz4.squashfs). Throws Error
// for a malformed chain ID.
std::string rootfs_path(
    const Image& image, const std::string& images_dir,
    SquashfsWriter::Compression compression = SquashfsWriter::Compression::kNone);

// Removes IMAGE's entries, of every format (each under its lock, so never one that a run is
// building); false when there was none.
bool remove_rootfs(const Image& image, const std::string& images_dir);

}  // namespace execvm
