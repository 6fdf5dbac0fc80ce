#include "protocol/channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fd.h"
#include "util/sys.h"

namespace execvm {
namespace {

using protocol::FrameType;

struct Pair {
  Fd a, b;
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
      throw_errno("socketpair");
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

TEST(FrameChannel, FramesGoAcrossInOrder) {
  Pair p;
  FrameChannel out(p.a.get()), in(p.b.get());
  out.queue(FrameType::kHello, protocol::encode_hello({protocol::kVersion, "test"}));
  out.queue(FrameType::kData, protocol::kStdout, "abc");
  EXPECT_GT(out.pending(), 0u);
  ASSERT_TRUE(out.flush_some());
  EXPECT_EQ(out.pending(), 0u);
  EXPECT_EQ(in.read_some(), FrameChannel::Read::kDrained);
  auto hello = in.next();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->type, FrameType::kHello);
  auto data = in.next();
  ASSERT_TRUE(data);
  EXPECT_EQ(data->stream, protocol::kStdout);
  EXPECT_EQ(data->payload, "abc");
  EXPECT_FALSE(in.next());
}

TEST(FrameChannel, SplicedPayloadsComeFromTheirPipe) {
  Pair p;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  Fd r(fds[0]), w(fds[1]);
  write_all(w.get(), "spliced bytes");
  FrameChannel out(p.a.get()), in(p.b.get());
  out.queue(FrameType::kData, protocol::kStdout, "first ");
  out.queue_splice(FrameType::kData, protocol::kStdout, r.get(), 13);
  EXPECT_TRUE(out.splicing(r.get()));
  out.queue(FrameType::kEof, protocol::kStdout, {});
  ASSERT_TRUE(out.flush_some());
  EXPECT_FALSE(out.splicing(r.get()));
  in.read_some();
  std::string all;
  while (auto f = in.next())
    all += std::string(protocol::frame_type_name(f->type)) + ":" + f->payload + ";";
  EXPECT_EQ(all, "data:first ;data:spliced bytes;eof:;");
}

TEST(FrameChannel, BackPressureAndTheOtherEndGoing) {
  ::signal(SIGPIPE, SIG_IGN);  // as both ends have it: a reader gone is an error, not death
  Pair p;
  FrameChannel out(p.a.get());
  std::string big(1 << 20, 'x');
  // The socket's buffer fills: what does not fit waits, and flush_some says the peer is there.
  for (int i = 0; i < 8; ++i) out.queue(FrameType::kData, protocol::kStdout, big);
  EXPECT_TRUE(out.flush_some());
  EXPECT_GT(out.pending(), 0u);
  // Reads stop at the limit asked for, and say more may wait.
  FrameChannel in(p.b.get());
  EXPECT_EQ(in.read_some(1000), FrameChannel::Read::kMore);
  p.b.reset();
  EXPECT_FALSE(out.flush_some());
  Pair q;
  FrameChannel reader(q.b.get());
  q.a.reset();
  EXPECT_EQ(reader.read_some(), FrameChannel::Read::kClosed);
}

TEST(FrameChannel, GarbageIsAProtocolError) {
  Pair p;
  write_all(p.a.get(), "garbage!");
  FrameChannel in(p.b.get());
  in.read_some();
  EXPECT_THROW(in.next(), protocol::ProtocolError);
}

}  // namespace
}  // namespace execvm
