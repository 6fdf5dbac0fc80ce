// Flattening: an image's layers applied in order, in execvm's own process, to a tree held in
// memory, and written as one squashfs image. Nothing of the image is ever created on the host
// but that one file, so no entry can make execvm write anywhere else; entries that a tar
// extraction would resolve through the host's filesystem (.., symlinked parents, hardlinks out
// of the tree) are refused as hostile.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "image/image.h"
#include "image/squashfs_writer.h"
#include "image/tar_stream.h"
#include "util/error.h"

namespace execvm {

struct FlattenProgress {
  uint64_t bytes_done = 0, bytes_total = 0;  // of layer blobs read
};
using ProgressFn = std::function<void(const FlattenProgress&)>;  // called often; cheap

struct FlattenResult {
  uint64_t files = 0;               // entries in the image, the root not counted
  uint64_t uncompressed_bytes = 0;  // of the layers' tars
  uint64_t image_bytes = 0;         // of the filesystem image
};

// Applies IMAGE.layers in order and writes the result as a squashfs image at OUTPUT (a new
// file it creates; on failure it removes it). Reads each layer from layer.path, decompressing
// by media_type (gzip, zstd, plain), hashing the blob against layer.digest unless
// layer.verified, and the uncompressed stream against layer.diff_id. Throws Error (exit 125),
// one line naming the layer digest (short) and the entry, for any hostile or broken input.
FlattenResult flatten_image(const Image& image, const std::string& output,
                            const ProgressFn& progress);

// The knobs behind flatten_image(), for the cache's format and for tests.
struct FlattenOptions {
  SquashfsWriter::Compression compression = SquashfsWriter::Compression::kNone;
  unsigned workers = 0;  // the squashfs writer's threads (0: its default)
  LayerStream::Limits limits;
  // A layer is refused when its tar is larger than the free space of OUTPUT's filesystem, or
  // when writing leaves less than RESERVE bytes free there.
  uint64_t reserve = 64ULL << 20;
  // The entries of all layers together: the tree is held in memory (a few hundred bytes an
  // entry), so a layer of millions of empty entries is refused rather than let grow. A large
  // distribution image has a few hundred thousand.
  uint64_t max_entries = 4'000'000;
  // The free bytes of OUTPUT's filesystem; statvfs() of its directory when unset.
  std::function<uint64_t()> free_space;
};

FlattenResult flatten_image(const Image& image, const std::string& output,
                            const ProgressFn& progress, const FlattenOptions& options);

}  // namespace execvm
