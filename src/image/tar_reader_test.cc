#include "image/tar_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "image/tar_testing.h"

namespace execvm {
namespace {

using testing::end_of_archive;
using testing::pax_header;
using testing::pax_record;
using testing::raw_file;
using testing::raw_header;
using testing::RawHeader;

struct Read {
  TarEntry entry;
  std::string data;
};

// Reads all of TAR, handed over CHUNK bytes at a time.
std::vector<Read> read_tar(const std::string& tar, size_t chunk = 1 << 20) {
  size_t pos = 0;
  TarReader reader([&](char* buf, size_t size) {
    size_t n = std::min({size, chunk, tar.size() - pos});
    std::memcpy(buf, tar.data() + pos, n);
    pos += n;
    return n;
  });
  std::vector<Read> out;
  TarEntry e;
  while (reader.next(e)) {
    Read r{e, ""};
    for (auto piece = reader.read_data(); !piece.empty(); piece = reader.read_data()) {
      r.data.append(piece);
    }
    out.push_back(r);
  }
  EXPECT_EQ(pos, tar.size()) << "the reader did not read to the end";
  return out;
}

// The TarError that reading TAR ends with, as "ENTRY: WHAT".
std::string refusal(const std::string& tar) {
  try {
    read_tar(tar, 5);
  } catch (const TarError& e) {
    return e.entry() + ": " + e.what();
  }
  ADD_FAILURE() << "the archive was accepted";
  return "";
}

TEST(TarReader, ReadsWhatLibarchiveWrites) {
  testing::TestEntry big = testing::file("dir/big", std::string(3 << 20, 'x') + "end", 04755);
  testing::TestEntry capped = testing::file("capped", "c");
  capped.xattrs = {{"security.capability", std::string("\x01\x02\0\x03", 4)}, {"user.a=b", "v"}};
  testing::TestEntry dev;
  dev.name = "dev/sda";
  dev.type = S_IFBLK;
  dev.dev_major = 8;
  dev.dev_minor = 300;
  std::string long_name(180, 'n');
  std::string tar = testing::make_tar(
      {testing::dir("dir", 01777), big, testing::hardlink("dir/link", "dir/big"),
       testing::symlink("sym", "/etc/passwd"), capped, dev, testing::file(long_name, "long")});
  for (size_t chunk : {size_t(1) << 20, size_t(7), size_t(512)}) {
    auto entries = read_tar(tar, chunk);
    ASSERT_EQ(entries.size(), 7u);
    EXPECT_EQ(entries[0].entry.type, TarEntry::Type::kDirectory);
    EXPECT_EQ(entries[0].entry.name, "dir/");
    EXPECT_EQ(entries[0].entry.mode, 01777u);
    EXPECT_EQ(entries[1].entry.mode, 04755u);
    EXPECT_EQ(entries[1].data, std::string(3 << 20, 'x') + "end");
    EXPECT_EQ(entries[1].entry.mtime, 1700000000);
    EXPECT_EQ(entries[2].entry.type, TarEntry::Type::kHardlink);
    EXPECT_EQ(entries[2].entry.link, "dir/big");
    EXPECT_EQ(entries[3].entry.type, TarEntry::Type::kSymlink);
    EXPECT_EQ(entries[3].entry.link, "/etc/passwd");
    EXPECT_EQ(entries[4].entry.xattrs,
              (std::vector<std::pair<std::string, std::string>>{
                  {"security.capability", std::string("\x01\x02\0\x03", 4)}, {"user.a=b", "v"}}));
    EXPECT_EQ(entries[5].entry.type, TarEntry::Type::kBlockDevice);
    EXPECT_EQ(entries[5].entry.dev_major, 8u);
    EXPECT_EQ(entries[5].entry.dev_minor, 300u);
    EXPECT_EQ(entries[6].entry.name, long_name);
    EXPECT_EQ(entries[6].data, "long");
  }
}

TEST(TarReader, ReadsGnuLongNamesAndBase256Numbers) {
  testing::TestEntry e = testing::file(std::string(150, 'g') + "/" + std::string(120, 'h'), "d");
  e.uid = 300000000;  // beyond 7 octal digits: base-256
  testing::TestEntry l = testing::symlink("s", std::string(200, 't'));
  std::string tar = testing::make_tar({e, l}, archive_write_set_format_gnutar);
  auto entries = read_tar(tar, 3);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].entry.name, e.name);
  EXPECT_EQ(entries[0].entry.uid, 300000000u);
  EXPECT_EQ(entries[0].data, "d");
  EXPECT_EQ(entries[1].entry.link, std::string(200, 't'));
}

TEST(TarReader, JoinsTheUstarPrefix) {
  std::string name = std::string(120, 'p') + "/file";
  auto entries =
      read_tar(testing::make_tar({testing::file(name, "x")}, archive_write_set_format_ustar));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].entry.name, name);
}

TEST(TarReader, TakesPaxTimesOwnersAndSizes) {
  std::string tar = pax_header(pax_record("mtime", "-100.5") + pax_record("uid", "4000000000") +
                               pax_record("size", "3") + pax_record("uname", "ignored")) +
                    raw_file("f", "abc") + end_of_archive();
  auto entries = read_tar(tar);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].entry.mtime, -100);
  EXPECT_EQ(entries[0].entry.uid, 4000000000u);
  EXPECT_EQ(entries[0].data, "abc");
}

TEST(TarReader, AcceptsAMissingEndMarkerAndZerosAfterIt) {
  EXPECT_EQ(read_tar(raw_file("a", "1")).size(), 1u);
  EXPECT_EQ(read_tar(raw_file("a", "1") + std::string(512 * 30, '\0')).size(), 1u);
  EXPECT_EQ(read_tar(raw_file("a", "1") + std::string(512, '\0')).size(), 1u);
  EXPECT_EQ(read_tar("").size(), 0u);
}

TEST(TarReader, TakesAGlobalHeaderWithOnlyAComment) {
  std::string tar =
      pax_header(pax_record("comment", "abc123"), 'g') + raw_file("a", "1") + end_of_archive();
  EXPECT_EQ(read_tar(tar).size(), 1u);
}

TEST(TarReader, SkipsDataThatWasNotRead) {
  std::string tar = raw_file("a", std::string(5000, 'a')) + raw_file("b", "bee") + end_of_archive();
  size_t pos = 0;
  TarReader reader([&](char* buf, size_t size) {
    size_t n = std::min(size, tar.size() - pos);
    std::memcpy(buf, tar.data() + pos, n);
    pos += n;
    return n;
  });
  TarEntry e;
  ASSERT_TRUE(reader.next(e));
  ASSERT_TRUE(reader.next(e));
  EXPECT_EQ(e.name, "b");
  EXPECT_EQ(reader.read_data(), "bee");
  EXPECT_FALSE(reader.next(e));
}

// CVE-2025-62518: the PAX size and the ustar size must not tell two stories.
TEST(TarReaderRefuses, SizesThatDisagree) {
  RawHeader h;
  h.name = "cover";
  h.size = 1024;
  std::string inner = raw_file("smuggled", "x");
  EXPECT_EQ(refusal(pax_header(pax_record("size", "0")) + raw_header(h) + inner + end_of_archive()),
            "cover: a PAX size that differs from the header's size");
  h.size = 0;
  EXPECT_EQ(
      refusal(pax_header(pax_record("size", "1024")) + raw_header(h) + inner + end_of_archive()),
      "cover: a PAX size that differs from the header's size");
  // Agreeing sizes are fine.
  h.size = 1;
  EXPECT_EQ(read_tar(pax_header(pax_record("size", "1")) + raw_header(h) + testing::padded("z") +
                     end_of_archive())
                .size(),
            1u);
}

TEST(TarReaderRefuses, KeysAndHeadersGivenTwice) {
  EXPECT_EQ(refusal(pax_header(pax_record("path", "a") + pax_record("path", "b")) +
                    raw_file("x", "") + end_of_archive()),
            "PaxHeader/x: a PAX header that gives 'path' twice, with two values");
  // The same value twice reads one way.
  EXPECT_EQ(read_tar(pax_header(pax_record("path", "a") + pax_record("path", "a")) +
                     raw_file("x", "") + end_of_archive())[0]
                .entry.name,
            "a");
  EXPECT_EQ(refusal(pax_header(pax_record("path", "a")) + pax_header(pax_record("path", "b")) +
                    raw_file("x", "") + end_of_archive()),
            "PaxHeader/x: two PAX headers for one entry");
  EXPECT_EQ(refusal(pax_header(pax_record("SCHILY.xattr.user.k", "1") +
                               pax_record("LIBARCHIVE.xattr.user.k", "Mg==")) +
                    raw_file("x", "") + end_of_archive()),
            "x: a PAX header that gives xattr 'user.k' two values");
  EXPECT_EQ(
      refusal(pax_header(pax_record("path", "a"), 'g') + raw_file("x", "") + end_of_archive()),
      "PaxHeader/x: a global PAX header that sets 'path'");
}

TEST(TarReaderRefuses, GnuLongNamesGivenTwiceOrWithPax) {
  auto gnu_long = [](char type, const std::string& name) {
    RawHeader h;
    h.name = "././@LongLink";
    h.type = type;
    h.size = name.size() + 1;
    h.magic = "ustar ";
    h.version = std::string(" \0", 2);
    return raw_header(h) + testing::padded(name + '\0');
  };
  RawHeader gnu_file;
  gnu_file.name = "short";
  gnu_file.magic = "ustar ";
  gnu_file.version = std::string(" \0", 2);
  EXPECT_EQ(read_tar(gnu_long('L', "the/long/name") + raw_header(gnu_file) + end_of_archive())[0]
                .entry.name,
            "the/long/name");
  EXPECT_EQ(
      refusal(gnu_long('L', "a") + gnu_long('L', "b") + raw_header(gnu_file) + end_of_archive()),
      "././@LongLink: two GNU long names for one entry");
  // A long name in an archive that is not GNU's.
  RawHeader ustar_long;
  ustar_long.name = "././@LongLink";
  ustar_long.type = 'L';
  ustar_long.size = 2;
  EXPECT_EQ(
      refusal(raw_header(ustar_long) + testing::padded("a") + raw_file("x", "") + end_of_archive()),
      "././@LongLink: a GNU long name in a non-GNU archive");
}

TEST(TarReaderRefuses, HeaderOnlyEntriesWithData) {
  for (char type : {'1', '2', '3', '4', '5', '6'}) {
    RawHeader h;
    h.name = "e";
    h.type = type;
    h.size = 512;
    h.link = "target";
    std::string message = refusal(raw_header(h) + std::string(512, 'x') + end_of_archive());
    EXPECT_NE(message.find("entry that carries data"), std::string::npos) << message;
  }
}

TEST(TarReaderRefuses, MalformedHeaders) {
  RawHeader h;
  h.name = "a";
  h.bad_checksum = true;
  EXPECT_EQ(refusal(raw_header(h) + end_of_archive()), "a: a header with a wrong checksum");
  h = RawHeader{};
  h.name = "a";
  h.magic = "pwned!";
  EXPECT_EQ(refusal(raw_header(h) + end_of_archive()), "a: a header of no known tar format");
  h = RawHeader{};
  h.name = "a";
  h.mode = "0x12345";
  EXPECT_EQ(refusal(raw_header(h) + end_of_archive()), "a: a header with a malformed number");
  h = RawHeader{};
  h.name = "a";
  h.type = 'S';
  EXPECT_EQ(refusal(raw_header(h) + end_of_archive()), "a: a sparse file (not supported)");
  h.type = 'V';
  EXPECT_EQ(refusal(raw_header(h) + end_of_archive()), "a: an entry of unsupported type 'V'");
  h = RawHeader{};
  h.name = "a";
  h.type = '2';
  EXPECT_EQ(refusal(raw_header(h) + end_of_archive()), "a: a symlink without a target");
  EXPECT_EQ(refusal(raw_file("dir/", "") + end_of_archive()),
            "dir/: a file whose name ends in '/'");
  EXPECT_EQ(refusal(pax_header(pax_record("GNU.sparse.size", "10")) + raw_file("x", "") +
                    end_of_archive()),
            "x: a sparse file (not supported)");
  EXPECT_EQ(refusal(pax_header("12 path=a\n") + raw_file("x", "") + end_of_archive()),
            "PaxHeader/x: a malformed PAX record");
  EXPECT_EQ(refusal(pax_header(pax_record("LIBARCHIVE.xattr.user.k", "!!!")) + raw_file("x", "") +
                    end_of_archive()),
            "x: a PAX header with a malformed 'LIBARCHIVE.xattr.user.k'");
  EXPECT_EQ(refusal(pax_header(pax_record("size", "12x")) + raw_file("x", "") + end_of_archive()),
            "x: a PAX header with a malformed 'size'");
  std::string huge(2 << 20, 'a');
  EXPECT_EQ(refusal(pax_header(pax_record("comment", huge)) + raw_file("x", "") + end_of_archive()),
            "PaxHeader/x: an extended header over 1 MiB");
}

// Before POSIX, a trailing '/' made a directory: the ustar name and the PAX path must agree.
TEST(TarReaderRefuses, AnEntryThatIsADirectoryByOneName) {
  RawHeader h;
  h.name = "thing/";
  h.type = '\0';
  EXPECT_EQ(read_tar(raw_header(h) + end_of_archive())[0].entry.type, TarEntry::Type::kDirectory);
  EXPECT_EQ(refusal(pax_header(pax_record("path", "thing")) + raw_header(h) + end_of_archive()),
            "thing: an entry that is a directory by one name and a file by another");
}

TEST(TarReaderRefuses, DataAfterTheEnd) {
  EXPECT_EQ(refusal(raw_file("a", "1") + end_of_archive() + raw_file("hidden", "2")),
            "a: data after the end-of-archive marker");
  EXPECT_EQ(refusal(raw_file("a", "1") + std::string(512, '\0') + raw_file("hidden", "2")),
            "a: data after the end-of-archive marker");
}

TEST(TarReaderRefuses, TruncatedArchives) {
  std::string tar = raw_file("a", std::string(2000, 'a'));
  EXPECT_EQ(refusal(tar.substr(0, 1000)), "a: the archive ends inside the data of this entry");
  EXPECT_EQ(refusal(tar + tar.substr(0, 100)), "a: the archive ends inside a header");
  EXPECT_EQ(refusal(pax_header(pax_record("path", "b"))),
            ": the archive ends after an extended header");
  EXPECT_EQ(refusal(pax_header(pax_record("path", "b")) + end_of_archive()),
            ": an extended header without an entry");
}

}  // namespace
}  // namespace execvm
