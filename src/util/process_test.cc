#include "util/process.h"

#include <gtest/gtest.h>

namespace execvm {
namespace {

TEST(RunCapture, GivesTheInputAndCapturesTheOutput) {
  CapturedRun run = run_capture({"sh", "-c", "read line; echo \"got $line\"; exit 3"}, false, "",
                                std::string("hello\n"));
  EXPECT_EQ(run.output, "got hello\n");
  EXPECT_EQ(run.status, 3);
  // Without input, stdin is /dev/null.
  EXPECT_EQ(run_capture({"sh", "-c", "cat; echo end"}).output, "end\n");
}

}  // namespace
}  // namespace execvm
