#include "util/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

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

}  // namespace
}  // namespace execvm
