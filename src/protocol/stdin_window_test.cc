#include "protocol/stdin_window.h"

#include <gtest/gtest.h>

#include "protocol/frame.h"

namespace execvm {
namespace {

TEST(StdinWindow, TheHostSendsOnlyWhatWasGranted) {
  StdinCredit credit;
  EXPECT_EQ(credit.room(), 0u);
  credit.granted(100);
  credit.sent(60);
  EXPECT_EQ(credit.room(), 40u);
  credit.granted(kStdinMaxWindow - 40);
  EXPECT_EQ(credit.room(), kStdinMaxWindow);
  // More outstanding than the largest window is a guest gone wrong.
  EXPECT_THROW(credit.granted(1), protocol::ProtocolError);
}

TEST(StdinWindow, TheWindowGrowsWithWhatTheCommandRead) {
  EXPECT_EQ(StdinGrant::window(0), kStdinFirstWindow);
  EXPECT_EQ(StdinGrant::window(kStdinFirstWindow), kStdinFirstWindow);
  EXPECT_EQ(StdinGrant::window(kStdinFirstWindow + 1), 2 * kStdinFirstWindow);
  EXPECT_EQ(StdinGrant::window(100 << 20), kStdinMaxWindow);
}

TEST(StdinWindow, TheGuestGrantsAsTheCommandReads) {
  StdinGrant grant;
  // At the start: the first window, at once.
  EXPECT_EQ(grant.due(0, 0, kStdinFirstWindow), kStdinFirstWindow);
  EXPECT_EQ(grant.due(0, 0, kStdinFirstWindow), 0u);
  // The host sent it all, the command read a little: with nothing more on its way, even a
  // little more goes at once (or the command would wait for it forever).
  EXPECT_EQ(grant.due(kStdinFirstWindow, 10, kStdinFirstWindow), 10u);
  // While more is on its way, small grants wait for company.
  EXPECT_EQ(grant.due(kStdinFirstWindow, 20, kStdinFirstWindow), 0u);
  EXPECT_EQ(grant.due(kStdinFirstWindow + 10, 20, kStdinFirstWindow), 10u);
  // A command that reads nothing is never given more than the window.
  StdinGrant idle;
  idle.due(0, 0, kStdinFirstWindow);
  EXPECT_EQ(idle.due(kStdinFirstWindow, 0, kStdinFirstWindow), 0u);
  // A larger pipe: the grant follows it.
  StdinGrant big;
  big.due(0, 0, kStdinFirstWindow);
  EXPECT_EQ(big.due(kStdinFirstWindow, kStdinFirstWindow, kStdinMaxWindow), kStdinMaxWindow);
}

// What the guest grants, the host may have outstanding, whatever the order of events.
TEST(StdinWindow, GrantsNeverExceedWhatTheHostAccepts) {
  StdinCredit credit;
  StdinGrant grant;
  uint64_t written = 0, consumed = 0;
  for (int round = 0; round < 1000; ++round) {
    size_t window = StdinGrant::window(consumed);
    if (uint32_t g = grant.due(written, consumed, window)) {
      ASSERT_NO_THROW(credit.granted(g));
    }
    size_t send = std::min<size_t>(credit.room(), 4096 + round % 7 * 1000);
    credit.sent(send);
    written += send;
    consumed += (written - consumed) / (1 + round % 3);
  }
  EXPECT_GT(consumed, 4u << 20);  // and it flows
}

}  // namespace
}  // namespace execvm
