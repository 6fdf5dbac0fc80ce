#include "image/tar_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {
namespace {

constexpr size_t kInputSize = 256 << 10;
constexpr std::string_view kSha256 = "sha256:";
const char* const kCorruptHint = "the image is damaged: save or copy it again";

bool is_sha256_digest(std::string_view digest) {
  if (!starts_with(digest, kSha256) || digest.size() != kSha256.size() + 64) return false;
  for (char c : digest.substr(kSha256.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::optional<LayerCompression> layer_compression(std::string_view type) {
  if (type.empty()) return LayerCompression::kNone;
  bool oci = starts_with(type, "application/vnd.oci.image.layer.");
  bool docker = starts_with(type, "application/vnd.docker.image.rootfs.");
  if (!oci && !docker) return std::nullopt;
  if (type.ends_with(".tar")) return LayerCompression::kNone;
  if (type.ends_with("+gzip") || type.ends_with(".tar.gzip")) return LayerCompression::kGzip;
  if (type.ends_with("+zstd") || type.ends_with(".tar.zstd")) return LayerCompression::kZstd;
  return std::nullopt;
}

std::string short_digest(std::string_view digest) {
  size_t colon = digest.find(':');
  std::string_view hexpart = colon == std::string_view::npos ? digest : digest.substr(colon + 1);
  return std::string(hexpart.substr(0, 12));
}

// The state of a gzip or zstd decompression.
struct LayerStream::Inflater {
  z_stream z{};
  bool z_ready = false;
  ZSTD_DCtx* zstd = nullptr;
  bool frame_done = false;  // the input ended where a member or frame does
  ~Inflater() {
    if (z_ready) inflateEnd(&z);
    if (zstd) ZSTD_freeDCtx(zstd);
  }
};

LayerStream::LayerStream(const ImageLayer& layer, Limits limits)
    : layer_(layer), limits_(limits), in_(kInputSize), inflater_(std::make_unique<Inflater>()) {
  if (!layer.verified && !is_sha256_digest(layer.digest)) {
    throw Error("a malformed layer digest '" + layer.digest + "'", kCorruptHint);
  }
  if (!is_sha256_digest(layer.diff_id)) {
    throw Error("a malformed diff ID '" + layer.diff_id + "'", kCorruptHint);
  }
  auto compression = layer_compression(layer.media_type);
  if (!compression) throw Error("a layer of unknown media type '" + layer.media_type + "'");
  compression_ = *compression;

  fd_.reset(::open(layer.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) throw_errno("cannot open the layer blob " + layer.path);
  struct stat st {};
  if (::fstat(fd_.get(), &st) < 0) throw_errno("cannot stat " + layer.path);
  blob_size_ = static_cast<uint64_t>(st.st_size);
  if (layer.size != 0 && blob_size_ != layer.size) {
    throw Error("the blob is " + std::to_string(blob_size_) + " bytes, its manifest says " +
                    std::to_string(layer.size),
                kCorruptHint);
  }
  ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  if (compression_ == LayerCompression::kNone) {
    unsigned char magic[4] = {};
    ssize_t n = ::pread(fd_.get(), magic, sizeof magic, 0);
    if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      compression_ = LayerCompression::kGzip;
      sniffed_ = true;
    } else if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
               magic[3] == 0xfd) {
      compression_ = LayerCompression::kZstd;
      sniffed_ = true;
    }
  }
  if (compression_ == LayerCompression::kGzip) {
    if (inflateInit2(&inflater_->z, 16 + MAX_WBITS) != Z_OK) throw Error("cannot start zlib");
    inflater_->z_ready = true;
  } else if (compression_ == LayerCompression::kZstd) {
    inflater_->zstd = ZSTD_createDCtx();
    if (!inflater_->zstd) throw Error("cannot start zstd");
  }
}

LayerStream::~LayerStream() = default;

bool LayerStream::read_blob() {
  for (;;) {
    ssize_t n = ::read(fd_.get(), in_.data(), in_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read the layer blob " + layer_.path);
    in_pos_ = 0;
    in_end_ = static_cast<size_t>(n);
    blob_read_ += in_end_;
    if (!layer_.verified) blob_hash_.update(in_.data(), in_end_);
    if (n == 0) blob_eof_ = true;
    return n > 0;
  }
}

size_t LayerStream::decompress(char* buf, size_t size) {
  Inflater& f = *inflater_;
  for (;;) {
    if (in_pos_ == in_end_ && !blob_eof_) read_blob();
    if (in_pos_ == in_end_ && blob_eof_) {
      if (!f.frame_done) {
        throw Error(compression_ == LayerCompression::kGzip ? "the gzip data is truncated"
                                                            : "the zstd data is truncated",
                    kCorruptHint);
      }
      return 0;
    }
    size_t produced = 0;
    if (compression_ == LayerCompression::kGzip) {
      if (f.frame_done) {
        // Another member follows (gzip streams may be concatenated).
        inflateReset(&f.z);
        f.frame_done = false;
      }
      f.z.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      f.z.avail_in = static_cast<uInt>(in_end_ - in_pos_);
      f.z.next_out = reinterpret_cast<Bytef*>(buf);
      f.z.avail_out = static_cast<uInt>(std::min<size_t>(size, 1U << 30));
      int ret = inflate(&f.z, Z_NO_FLUSH);
      in_pos_ = in_end_ - f.z.avail_in;
      produced = static_cast<size_t>(reinterpret_cast<char*>(f.z.next_out) - buf);
      if (ret == Z_STREAM_END) {
        f.frame_done = true;
      } else if (ret != Z_OK && !(ret == Z_BUF_ERROR && produced == 0 && in_pos_ == in_end_)) {
        throw Error(std::string("the gzip data is corrupt (") + (f.z.msg ? f.z.msg : "zlib") + ")",
                    kCorruptHint);
      }
    } else {
      ZSTD_inBuffer in{in_.data() + in_pos_, in_end_ - in_pos_, 0};
      ZSTD_outBuffer out{buf, size, 0};
      size_t ret = ZSTD_decompressStream(f.zstd, &out, &in);
      if (ZSTD_isError(ret)) {
        throw Error(std::string("the zstd data is corrupt (") + ZSTD_getErrorName(ret) + ")",
                    kCorruptHint);
      }
      in_pos_ += in.pos;
      produced = out.pos;
      f.frame_done = ret == 0;
    }
    if (produced > 0) return produced;
  }
}

size_t LayerStream::read(char* buf, size_t size) {
  if (done_ || size == 0) return 0;
  size_t n = 0;
  if (compression_ == LayerCompression::kNone) {
    for (;;) {
      ssize_t got = ::read(fd_.get(), buf, size);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw_errno("cannot read the layer blob " + layer_.path);
      n = static_cast<size_t>(got);
      blob_read_ += n;
      break;
    }
  } else {
    n = decompress(buf, size);
  }
  if (n == 0) {
    finish();
    return 0;
  }
  tar_hash_.update(buf, n);
  tar_bytes_ += n;
  if (tar_bytes_ > limits_.max_ratio * blob_read_ + limits_.allowance) {
    throw Error("the layer expands more than " + std::to_string(limits_.max_ratio) +
                    " times (a decompression bomb?)",
                "execvm does not use it");
  }
  return n;
}

void LayerStream::drain() {
  std::vector<char> buf(kInputSize);
  while (read(buf.data(), buf.size()) > 0) {
  }
}

void LayerStream::finish() {
  done_ = true;
  if (blob_read_ != blob_size_) {
    throw Error("the blob changed while it was read", "run it again");
  }
  std::string tar_digest = std::string(kSha256) + tar_hash_.hex_digest();
  if (!layer_.verified) {
    std::string blob_digest = compression_ == LayerCompression::kNone
                                  ? tar_digest
                                  : std::string(kSha256) + blob_hash_.hex_digest();
    if (blob_digest != layer_.digest) {
      throw Error("the blob does not match its digest (it is " + blob_digest + ")", kCorruptHint);
    }
  }
  if (tar_digest != layer_.diff_id) {
    throw Error("the layer's tar does not match its diff ID " + layer_.diff_id + " (it is " +
                    tar_digest + ")",
                kCorruptHint);
  }
}

}  // namespace execvm
