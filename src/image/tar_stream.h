// LayerStream: the tar that one layer blob holds, read from its file and decompressed as its
// media type says, with the blob checked against its digest and the tar against its diff ID.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "image/image.h"
#include "image/oci.h"
#include "util/fd.h"
#include "util/sha256.h"

namespace execvm {

// A layer's compression is its media type's (image/oci.h: layer_compression); a layer without
// one (a docker-archive's) reads as plain, and a plain stream that starts as gzip or zstd is
// decompressed.

// The first 12 hex digits of a "sha256:<hex>" digest, as docker shows an ID.
std::string short_digest(std::string_view digest);

class LayerStream {
 public:
  // Limits on how much a blob may expand: past MAX_RATIO times the blob's bytes read so far
  // plus ALLOWANCE, the layer is refused as a decompression bomb.
  struct Limits {
    uint64_t max_ratio = 1000;
    uint64_t allowance = 1ULL << 30;
  };

  // Opens LAYER.path. Throws Error when it cannot be read, its digests are malformed or its
  // media type is not a layer's.
  LayerStream(const ImageLayer& layer, Limits limits);
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // Up to SIZE bytes of the tar; 0 at its end, once the blob's digest (unless LAYER.verified)
  // and the tar's diff ID were found to match. Throws Error for a corrupt or truncated blob, a
  // digest that does not match, or an expansion past the limits.
  size_t read(char* buf, size_t size);

  // Reads to the end, discarding, and checks the digests (throws as read() does).
  void drain();

  // Bytes read from the file so far (a little ahead of what read() returned).
  uint64_t blob_bytes() const { return blob_progress_.load(std::memory_order_relaxed); }
  uint64_t blob_size() const { return blob_size_; }  // of the file
  uint64_t tar_bytes() const { return delivered_; }  // returned by read() so far

 private:
  struct Inflater;
  struct Pipe;
  // The tar's next bytes, decompressed and hashed (what the producer thread runs).
  size_t produce(char* buf, size_t size);
  void run_producer();
  // Refills in_ from the file; false at its end.
  bool read_blob();
  size_t decompress(char* buf, size_t size);
  void finish();

  ImageLayer layer_;
  Limits limits_;
  LayerCompression compression_ = LayerCompression::kNone;
  bool sniffed_ = false;
  Fd fd_;
  uint64_t blob_size_ = 0, blob_read_ = 0, tar_bytes_ = 0, delivered_ = 0;
  std::atomic<uint64_t> blob_progress_{0};
  std::vector<char> in_;
  size_t in_pos_ = 0, in_end_ = 0;
  bool blob_eof_ = false, done_ = false;
  Sha256 blob_hash_, tar_hash_;
  std::unique_ptr<Inflater> inflater_;
  std::unique_ptr<Pipe> pipe_;  // last: its thread uses the rest
};

}  // namespace execvm
