#include "image/tar_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#ifdef EXECVM_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {
namespace {

constexpr size_t kInputSize = 256 << 10;
constexpr int kChunks = 4;
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

std::string short_digest(std::string_view digest) {
  size_t colon = digest.find(':');
  std::string_view hexpart = colon == std::string_view::npos ? digest : digest.substr(colon + 1);
  return std::string(hexpart.substr(0, 12));
}

// The state of a gzip or zstd decompression. Gzip is ISA-L's inflate where execvm was built
// with it (about four times zlib's speed here), else zlib's.
struct LayerStream::Inflater {
#ifdef EXECVM_HAVE_ISAL
  inflate_state isal{};
#endif
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
  auto compression = layer.media_type.empty() ? std::optional(LayerCompression::kNone)
                                              : layer_compression(layer.media_type);
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
#ifdef EXECVM_HAVE_ISAL
    isal_inflate_init(&inflater_->isal);
    inflater_->isal.crc_flag = ISAL_GZIP;
#else
    if (inflateInit2(&inflater_->z, 16 + MAX_WBITS) != Z_OK) throw Error("cannot start zlib");
    inflater_->z_ready = true;
#endif
  } else if (compression_ == LayerCompression::kZstd) {
    inflater_->zstd = ZSTD_createDCtx();
    if (!inflater_->zstd) throw Error("cannot start zstd");
  }
}

bool LayerStream::read_blob() {
  for (;;) {
    ssize_t n = ::read(fd_.get(), in_.data(), in_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read the layer blob " + layer_.path);
    in_pos_ = 0;
    in_end_ = static_cast<size_t>(n);
    blob_read_ += in_end_;
    blob_progress_.store(blob_read_, std::memory_order_relaxed);
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
#ifdef EXECVM_HAVE_ISAL
      if (f.frame_done) {
        // Another member follows (gzip streams may be concatenated).
        isal_inflate_reset(&f.isal);
        f.isal.crc_flag = ISAL_GZIP;
        f.frame_done = false;
      }
      f.isal.next_in = reinterpret_cast<uint8_t*>(in_.data() + in_pos_);
      f.isal.avail_in = static_cast<uint32_t>(in_end_ - in_pos_);
      f.isal.next_out = reinterpret_cast<uint8_t*>(buf);
      f.isal.avail_out = static_cast<uint32_t>(std::min<size_t>(size, 1U << 30));
      int ret = isal_inflate(&f.isal);
      in_pos_ = in_end_ - f.isal.avail_in;
      produced = static_cast<size_t>(reinterpret_cast<char*>(f.isal.next_out) - buf);
      if (ret < 0) {
        throw Error("the gzip data is corrupt (ISA-L error " + std::to_string(ret) + ")",
                    kCorruptHint);
      }
      if (f.isal.block_state == ISAL_BLOCK_FINISH) f.frame_done = true;
#else
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
#endif
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

size_t LayerStream::produce(char* buf, size_t size) {
  if (done_ || size == 0) return 0;
  size_t n = 0;
  if (compression_ == LayerCompression::kNone) {
    for (;;) {
      ssize_t got = ::read(fd_.get(), buf, size);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw_errno("cannot read the layer blob " + layer_.path);
      n = static_cast<size_t>(got);
      blob_read_ += n;
      blob_progress_.store(blob_read_, std::memory_order_relaxed);
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

// Decompressing and hashing run in a thread of their own, ahead of the reader by a few chunks:
// the two halves of the work take about as long, so a layer is read in about half the time.
struct LayerStream::Pipe {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<std::vector<char>, size_t>> full;  // chunks and their sizes
  std::vector<std::vector<char>> empty;
  std::vector<char> current;
  size_t current_size = 0, current_pos = 0;
  bool end = false, stop = false;
  std::exception_ptr error;
  std::thread thread;
};

void LayerStream::run_producer() {
  Pipe& p = *pipe_;
  for (;;) {
    std::vector<char> chunk;
    {
      std::unique_lock lock(p.mutex);
      p.changed.wait(lock, [&] { return p.stop || !p.empty.empty(); });
      if (p.stop) return;
      chunk = std::move(p.empty.back());
      p.empty.pop_back();
    }
    size_t n = 0;
    std::exception_ptr error;
    try {
      n = produce(chunk.data(), chunk.size());
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(p.mutex);
    if (error || n == 0) {
      p.error = error;
      p.end = true;
      p.changed.notify_all();
      return;
    }
    p.full.emplace_back(std::move(chunk), n);
    p.changed.notify_all();
  }
}

size_t LayerStream::read(char* buf, size_t size) {
  if (!pipe_) {
    pipe_ = std::make_unique<Pipe>();
    for (int i = 0; i < kChunks; ++i) pipe_->empty.emplace_back(kInputSize);
    pipe_->thread = std::thread([this] { run_producer(); });
  }
  Pipe& p = *pipe_;
  while (p.current_pos == p.current_size) {
    std::unique_lock lock(p.mutex);
    if (!p.current.empty()) {
      p.empty.push_back(std::move(p.current));
      p.current.clear();
      p.current_size = p.current_pos = 0;
      p.changed.notify_all();
    }
    p.changed.wait(lock, [&] { return !p.full.empty() || p.end; });
    if (!p.full.empty()) {
      p.current = std::move(p.full.front().first);
      p.current_size = p.full.front().second;
      p.full.pop_front();
    } else if (p.error) {
      std::rethrow_exception(p.error);
    } else {
      return 0;
    }
  }
  size_t n = std::min(size, p.current_size - p.current_pos);
  std::memcpy(buf, p.current.data() + p.current_pos, n);
  p.current_pos += n;
  delivered_ += n;
  return n;
}

LayerStream::~LayerStream() {
  if (pipe_ && pipe_->thread.joinable()) {
    {
      std::lock_guard lock(pipe_->mutex);
      pipe_->stop = true;
    }
    pipe_->changed.notify_all();
    pipe_->thread.join();
  }
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
