#include "image/tar_stream.h"

#include <gtest/gtest.h>

#include <string>

#include "image/tar_testing.h"
#include "util/error.h"

namespace execvm {
namespace {

using testing::TempDir;
using testing::write_layer;

std::string read_all(LayerStream& s, size_t chunk = 100000) {
  std::string out, buf(chunk, '\0');
  for (size_t n; (n = s.read(buf.data(), buf.size())) > 0;) out.append(buf.data(), n);
  return out;
}

std::string error_of(const ImageLayer& layer) {
  try {
    LayerStream s(layer, {});
    read_all(s);
  } catch (const Error& e) {
    return e.message();
  }
  ADD_FAILURE() << "the layer was read";
  return "";
}

// Some bytes that compress, and do not repeat too simply.
std::string sample(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += std::to_string(i * 7919 % 10007) + ",";
  s.resize(n);
  return s;
}

TEST(LayerStream, DecompressesAndChecksEachKind) {
  std::string tar = sample(3 << 20);
  for (auto c : {LayerCompression::kNone, LayerCompression::kGzip, LayerCompression::kZstd}) {
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, tar, c);
    LayerStream s(layer, {});
    EXPECT_EQ(read_all(s), tar);
    EXPECT_EQ(s.tar_bytes(), tar.size());
    EXPECT_EQ(s.blob_bytes(), layer.size);
    EXPECT_EQ(s.read(nullptr, 0), 0u);
  }
}

TEST(LayerStream, ReadsConcatenatedGzipMembersAndZstdFrames) {
  std::string a = sample(100000), b = sample(50000) + "tail";
  for (auto c : {LayerCompression::kGzip, LayerCompression::kZstd}) {
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, a + b, c);
    std::string blob = c == LayerCompression::kGzip ? testing::gzip(a) + testing::gzip(b)
                                                    : testing::zstd(a) + testing::zstd(b);
    write_file(layer.path, blob);
    layer.digest = "sha256:" + sha256_hex(blob);
    layer.size = blob.size();
    LayerStream s(layer, {});
    EXPECT_EQ(read_all(s, 4096), a + b);
  }
}

// A docker-archive's layers have no media type: a gzip or zstd blob is known by its magic.
TEST(LayerStream, SniffsCompressionWithoutAMediaType) {
  std::string tar = sample(200000);
  for (auto c : {LayerCompression::kGzip, LayerCompression::kZstd, LayerCompression::kNone}) {
    TempDir tmp;
    ImageLayer layer = write_layer(tmp, tar, c);
    layer.media_type = "";
    LayerStream s(layer, {});
    EXPECT_EQ(read_all(s), tar);
  }
}

TEST(LayerStream, RefusesBrokenBlobs) {
  TempDir tmp;
  std::string tar = sample(300000);
  ImageLayer gz = write_layer(tmp, tar, LayerCompression::kGzip);

  ImageLayer wrong_size = gz;
  wrong_size.size += 1;
  EXPECT_NE(error_of(wrong_size).find("its manifest says"), std::string::npos);

  ImageLayer bad_digest = gz;
  bad_digest.digest = "sha256:../../etc";
  EXPECT_NE(error_of(bad_digest).find("a malformed layer digest"), std::string::npos);
  bad_digest.digest = "sha512:" + std::string(128, 'a');
  EXPECT_NE(error_of(bad_digest).find("a malformed layer digest"), std::string::npos);

  ImageLayer no_diff_id = gz;
  no_diff_id.diff_id = "";
  EXPECT_NE(error_of(no_diff_id).find("a malformed diff ID"), std::string::npos);

  // Garbage after the last gzip member is not another member.
  std::string blob = read_file(gz.path) + "garbage after the stream";
  ImageLayer trailing = gz;
  trailing.path = tmp.write("trailing", blob);
  trailing.size = 0;
  trailing.verified = true;
  EXPECT_NE(error_of(trailing).find("the gzip data is corrupt"), std::string::npos)
      << error_of(trailing);

  // A flipped bit inside the deflate stream or its checksum.
  blob = read_file(gz.path);
  blob[blob.size() - 6] ^= 0x40;
  ImageLayer flipped = trailing;
  flipped.path = tmp.write("flipped", blob);
  EXPECT_NE(error_of(flipped).find("the gzip data is corrupt"), std::string::npos)
      << error_of(flipped);

  ImageLayer empty = trailing;
  empty.path = tmp.write("empty", "");
  empty.media_type = testing::media_type(LayerCompression::kZstd);
  EXPECT_NE(error_of(empty).find("the zstd data is truncated"), std::string::npos);
}

TEST(LayerStream, DrainChecksTheDigests) {
  TempDir tmp;
  ImageLayer layer = write_layer(tmp, sample(100000), LayerCompression::kZstd);
  {
    LayerStream s(layer, {});
    char buf[10];
    EXPECT_EQ(s.read(buf, sizeof buf), sizeof buf);
    s.drain();
    EXPECT_EQ(s.tar_bytes(), 100000u);
  }
  layer.diff_id = "sha256:" + std::string(64, '0');
  LayerStream s(layer, {});
  EXPECT_THROW(s.drain(), Error);
}

// A stream abandoned halfway stops its reader thread.
TEST(LayerStream, CanBeAbandoned) {
  TempDir tmp;
  ImageLayer layer = write_layer(tmp, sample(8 << 20), LayerCompression::kGzip);
  for (int i = 0; i < 20; ++i) {
    LayerStream s(layer, {});
    char buf[100];
    ASSERT_EQ(s.read(buf, sizeof buf), sizeof buf);
  }
}

}  // namespace
}  // namespace execvm
