#include "image/blob_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "image/image_fixtures.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::TempDir;
using testing::tree_listing;

std::string blob_dir(const TempDir& dir) {
  return dir / "images/blobs/sha256";
}

TEST(BlobStoreTest, ImportsUnderTheDigestOnceItMatches) {
  TempDir dir;
  BlobStore store(dir / "images");
  std::string data = "hello blob\n";
  Digest d = digest_of(data);
  EXPECT_EQ(store.path(d), dir / "images/blobs/sha256/" + d.hex);
  EXPECT_FALSE(store.contains(d));
  ImportedBlob blob = store.import_bytes(data, BlobExpectation{d, data.size()}, "the blob");
  EXPECT_EQ(blob.digest, d);
  EXPECT_EQ(blob.size, data.size());
  EXPECT_EQ(blob.path, store.path(d));
  EXPECT_EQ(blob.head, data);
  EXPECT_EQ(read_file(blob.path), data);
  EXPECT_TRUE(store.contains(d));
  EXPECT_TRUE(store.contains(d, data.size()));
  EXPECT_FALSE(store.contains(d, data.size() + 1));
  EXPECT_EQ(tree_listing(blob_dir(dir)), std::set<std::string>{d.hex + " 11"});
  // Again: the same one file.
  store.import_bytes(data, BlobExpectation{d, data.size()}, "the blob");
  EXPECT_EQ(tree_listing(blob_dir(dir)).size(), 1u);
  std::string large(3000, 'q');
  EXPECT_EQ(store.import_bytes(large, {}, "x").head, large.substr(0, kBlobHeadSize));
}

TEST(BlobStoreTest, WithoutAnExpectedDigestKeepsItByItsSha256) {
  TempDir dir;
  BlobStore store(dir / "images");
  ImportedBlob blob = store.import_bytes("x", BlobExpectation{}, "the blob");
  EXPECT_EQ(blob.digest, digest_of("x"));
  EXPECT_TRUE(store.contains(digest_of("x"), 1));
}

TEST(BlobStoreTest, ASha512BlobIsHashedAndKeptAsSuch) {
  TempDir dir;
  BlobStore store(dir / "images");
  Digest d = digest_of("x", "sha512");
  ImportedBlob blob = store.import_bytes("x", BlobExpectation{d, 1}, "the blob");
  EXPECT_EQ(blob.path, dir / "images/blobs/sha512/" + d.hex);
  EXPECT_TRUE(store.contains(d, 1));
  EXPECT_THROW(store.import_bytes("y", BlobExpectation{d, 1}, "the blob"), Error);
}

TEST(BlobStoreTest, AMismatchLeavesNothing) {
  TempDir dir;
  BlobStore store(dir / "images");
  std::string data(3 << 20, 'a');  // more than one buffer
  Digest d = digest_of(data);
  auto message = [&](std::string_view content, BlobExpectation expect,
                     const BlobStore::Check& check = {}) -> std::string {
    try {
      store.import_bytes(content, expect, "layer 1 of 2", check);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kExitFailure);
      return e.message();
    }
    return "";
  };
  std::string corrupt = data;
  corrupt[1 << 20] = 'b';
  EXPECT_NE(
      message(corrupt, {d, data.size()}).find("layer 1 of 2 does not match its digest " + d.str()),
      std::string::npos);
  EXPECT_NE(message(data.substr(1), {d, data.size()}).find("bytes, not the"), std::string::npos);
  EXPECT_NE(message(data + "x", {d, data.size()}).find("is larger than"), std::string::npos);
  EXPECT_NE(message(data, {d, data.size() + 1}).find("bytes, not the"), std::string::npos);
  EXPECT_EQ(message(data, {d, data.size()},
                    [](const ImportedBlob&) { throw Error("refused by the check"); }),
            "refused by the check");
  EXPECT_EQ(tree_listing(blob_dir(dir)), std::set<std::string>{});
  EXPECT_FALSE(store.contains(d));
}

TEST(BlobStoreTest, CheckBlobSaysWhatImportWould) {
  Digest d = digest_of("abc");
  EXPECT_NO_THROW(check_blob("abc", BlobExpectation{d, 3}, "x"));
  EXPECT_NO_THROW(check_blob("abc", BlobExpectation{}, "x"));
  EXPECT_THROW(check_blob("abd", BlobExpectation{d, 3}, "x"), Error);
  EXPECT_THROW(check_blob("abc", BlobExpectation{d, 4}, "x"), Error);
}

TEST(BlobStoreTest, TwoImportsOfOneBlobAtOnceBothSucceed) {
  TempDir dir;
  std::string data;
  for (int i = 0; data.size() < (8 << 20); ++i) data += std::to_string(i) + "\n";
  std::string source = dir.write("source", data);
  Digest d = digest_of(data);
  BlobStore store(dir / "images");
  std::string results[2], errors[2];
  auto worker = [&](int i) {
    try {
      Fd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
      results[i] = store.import_fd(fd.get(), BlobExpectation{d, data.size()}, "the blob").path;
    } catch (const Error& e) {
      errors[i] = e.message();
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(results[0], store.path(d));
  EXPECT_EQ(results[1], store.path(d));
  EXPECT_EQ(tree_listing(blob_dir(dir)),
            std::set<std::string>{d.hex + " " + std::to_string(data.size())});
  EXPECT_EQ(read_file(store.path(d)), data);
}

TEST(BlobStoreTest, ImportsAnArchiveEntry) {
  TempDir dir;
  std::string content(100000, 'z');
  std::string tar = testing::make_tar({{"a", "first"}, {"blob", content}});
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* e;
  ASSERT_EQ(archive_read_next_header(a, &e), ARCHIVE_OK);
  ASSERT_EQ(archive_read_next_header(a, &e), ARCHIVE_OK);
  BlobStore store(dir / "images");
  ImportedBlob blob =
      store.import_entry(a, BlobExpectation{digest_of(content), content.size()}, "the blob");
  archive_read_free(a);
  EXPECT_EQ(read_file(blob.path), content);
}

TEST(BlobStoreTest, AWriterTakesABlobInPiecesAndCanStartAgain) {
  TempDir dir;
  BlobStore store(dir / "images");
  std::string data = "a blob that arrives in pieces";
  Digest digest = digest_of(data);
  {
    BlobWriter writer(store, BlobExpectation{digest, data.size()}, "layer 1");
    writer.write("garbage");
    writer.restart();  // the server sent the whole blob after all
    EXPECT_EQ(writer.size(), 0u);
    writer.write(data.substr(0, 5));
    writer.write(data.substr(5));
    EXPECT_EQ(writer.size(), data.size());
    ImportedBlob blob = writer.commit();
    EXPECT_EQ(blob.path, store.path(digest));
    EXPECT_EQ(read_file(blob.path), data);
  }
  // One that goes without commit, or fails it, leaves nothing.
  Digest other = digest_of("other");
  {
    BlobWriter writer(store, BlobExpectation{other, std::nullopt}, "layer 2");
    writer.write("half");
  }
  {
    BlobWriter writer(store, BlobExpectation{other, 5}, "layer 2");
    EXPECT_THROW(writer.write("too long"), Error);
    writer.write("othex");
    EXPECT_THROW(writer.commit(), Error);
  }
  EXPECT_FALSE(store.contains(other));
  for (const auto& name : directory_names(blob_dir(dir))) EXPECT_EQ(name, digest.hex);
}

TEST(BlobStoreTest, ABlobLockIsHeldByOneAtATime) {
  TempDir dir;
  BlobStore store(dir / "images");
  Digest digest = digest_of("x");
  Fd held = store.lock_blob(digest);
  std::atomic<bool> got{false};
  std::thread other([&] {
    Fd second = store.lock_blob(digest);
    got = true;
    store.unlock_blob(digest, std::move(second));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got);
  store.unlock_blob(digest, std::move(held));  // removes the file: the waiter takes a new one
  other.join();
  EXPECT_TRUE(got);
  EXPECT_TRUE(directory_names(dir / "images/locks").empty());
}
}  // namespace
}  // namespace execvm
