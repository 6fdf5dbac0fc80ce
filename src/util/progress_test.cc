#include "util/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "util/sys.h"

namespace execvm {
namespace {

TEST(ProgressBar, LineWithABarWhenTheTotalIsKnown) {
  std::string l = ProgressBar::line("converting x", 50 << 20, 100 << 20, 2.0, 100);
  EXPECT_EQ(l.substr(0, 14), "converting x [");
  EXPECT_NE(l.find("####################                    ]"), std::string::npos) << l;
  EXPECT_NE(l.find("MB/s"), std::string::npos);
  EXPECT_LE(l.size(), 100u);
}

TEST(ProgressBar, NoBarWithoutATotalOrRoom) {
  EXPECT_EQ(ProgressBar::line("w", 0, 0, 0, 100).find('['), std::string::npos);
  EXPECT_LE(ProgressBar::line("a long name for the work", 1, 2, 1, 20).size(), 20u);
}

TEST(ProgressBar, DrawsNothingOffATerminal) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    ProgressBar bar(fds[1], "work");
    bar.update(1, 2);
  }
  ::close(fds[1]);
  char c;
  EXPECT_EQ(::read(fds[0], &c, 1), 0);
  ::close(fds[0]);
}

TEST(MultiProgress, LinesSayStateBytesAndRate) {
  EXPECT_EQ(MultiProgress::line("sha256:0123456789ab", "waiting", 0, 0, 0, 80),
            "sha256:0123456789ab  waiting");
  std::string line =
      MultiProgress::line("sha256:0123456789ab", "downloading", 5 << 20, 10 << 20, 2.0, 80);
  EXPECT_EQ(line, "sha256:0123456789ab  downloading  5.0 MiB of 10 MiB  2.6 MB/s");
  EXPECT_EQ(MultiProgress::line("x", "pulled", 1, 1, 1, 10).size(), 10u);
}

TEST(MultiProgress, OffATerminalOneLinePerFinishedItem) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    MultiProgress progress(fds[1], false);
    size_t a = progress.add("sha256:aaaaaaaaaaaa", 3 << 20);
    size_t b = progress.add("sha256:bbbbbbbbbbbb", 1 << 20);
    progress.update(a, 1 << 20);
    progress.finish(b, "cached");
    progress.finish(a, "pulled");
  }
  {
    MultiProgress quiet(fds[1], true);
    quiet.finish(quiet.add("sha256:cccccccccccc", 1), "pulled");
  }
  ::close(fds[1]);
  EXPECT_EQ(read_all(fds[0]),
            "execvm: cached sha256:bbbbbbbbbbbb (1.0 MiB)\n"
            "execvm: pulled sha256:aaaaaaaaaaaa (3.0 MiB)\n");
  ::close(fds[0]);
}
}  // namespace
}  // namespace execvm
