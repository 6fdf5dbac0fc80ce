#include "pipeline/tar_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>

#include "util/fd.h"
#include "util/testing.h"

namespace execvm::pipeline {
namespace {

// The members of the archive in FILE: name -> content ("->TARGET" for a symlink, "/" for a
// directory), with every filter libarchive reads.
std::map<std::string, std::string> members(const std::string& file, std::string* filter = nullptr) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  EXPECT_EQ(archive_read_open_filename(a, file.c_str(), 65536), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (archive_entry_filetype(e) == AE_IFLNK) {
      out[name] = std::string("->") + archive_entry_symlink(e);
    } else if (archive_entry_filetype(e) == AE_IFDIR) {
      out[name] = "/";
    } else {
      std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
      archive_read_data(a, data.data(), data.size());
      // Big contents by their size and what they are made of, so that a failure stays short.
      if (data.size() > 64 && data == std::string(data.size(), data[0]))
        data = std::to_string(data.size()) + " x " + data[0];
      out[name] = data;
    }
  }
  if (filter) *filter = archive_filter_name(a, 0);
  archive_read_free(a);
  return out;
}

struct Cwd {
  explicit Cwd(const std::string& dir) : old(::open(".", O_RDONLY | O_DIRECTORY)) {
    EXPECT_EQ(::chdir(dir.c_str()), 0);
  }
  ~Cwd() { EXPECT_EQ(::fchdir(old.get()), 0); }
  Fd old;
};

TEST(TarSource, EachCompressionHoldsTheFilesAsNamed) {
  testing::TempDir dir;
  dir.write("file1", "one\n");
  dir.mkdir("d");
  dir.mkdir("d/sub");
  dir.write("d/sub/file2", std::string(300000, 'x'));
  dir.symlink("d/link", "sub/file2");
  Cwd cwd(dir.path());
  const std::map<std::string, std::string> expected = {{"file1", "one\n"},
                                                       {"d/", "/"},
                                                       {"d/sub/", "/"},
                                                       {"d/sub/file2", "300000 x x"},
                                                       {"d/link", "->sub/file2"}};
  struct {
    Compression compression;
    const char* filter;
  } cases[] = {{Compression::kNone, "none"},
               {Compression::kGzip, "gzip"},
               {Compression::kZstd, "zstd"},
               {Compression::kXz, "xz"}};
  for (const auto& c : cases) {
    Fd out(::open((dir / "out.tar").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    TarOutcome outcome = write_tar(Tar{{"file1", "d"}, c.compression}, out.get());
    EXPECT_EQ(outcome.status, 0) << outcome.error;
    out.reset();
    std::string filter;
    EXPECT_EQ(members(dir / "out.tar", &filter), expected) << c.filter;
    EXPECT_EQ(filter, c.filter);
  }
}

TEST(TarSource, AnAbsoluteNameLosesItsSlash) {
  testing::TempDir dir;
  std::string file = dir.write("f", "data");
  Fd out(::open((dir / "out.tar").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  EXPECT_EQ(write_tar(Tar{{file}}, out.get()).status, 0);
  out.reset();
  auto m = members(dir / "out.tar");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m.begin()->first, file.substr(1));
  EXPECT_EQ(m.begin()->second, "data");
}

TEST(TarSource, AMissingFileFailsNamingIt) {
  testing::TempDir dir;
  Fd out(::open((dir / "out.tar").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  TarOutcome outcome = write_tar(Tar{{dir / "missing"}}, out.get());
  EXPECT_EQ(outcome.status, 2);
  EXPECT_NE(outcome.error.find("missing"), std::string::npos) << outcome.error;
}

TEST(TarSource, AReaderThatWentAwayIsSigpipesStatus) {
  testing::TempDir dir;
  dir.write("big", std::string(1 << 20, 'y'));
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[0]);
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  TarOutcome outcome = write_tar(Tar{{dir / "big"}}, fds[1]);
  ::sigaction(SIGPIPE, &old, nullptr);
  ::close(fds[1]);
  EXPECT_EQ(outcome.status, 141);
}

}  // namespace
}  // namespace execvm::pipeline
