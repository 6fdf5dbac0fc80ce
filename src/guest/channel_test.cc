// The guest's port over a socket pair standing for the virtio-serial port.
#include "guest/channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "util/error.h"
#include "util/sys.h"

namespace execvm::guest {
namespace {

using protocol::FrameType;

struct Wire {
  Fd host;
  std::optional<Port> port;
  Wire() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("socketpair");
    host.reset(fds[0]);
    set_nonblocking(fds[1]);
    port.emplace(Fd(fds[1]));
  }
  void send(FrameType type, std::string_view payload = {}, uint8_t stream = 0) {
    std::string out;
    protocol::append_frame(out, type, stream, payload);
    ASSERT_TRUE(write_all(host.get(), out));
  }
};

TEST(GuestPort, TheSpecComesInPiecesAfterTheClock) {
  Wire w;
  RunSpec spec;
  spec.argv = {"echo", std::string(3 << 20, 'x')};
  std::string json = spec_to_json(spec);
  std::thread host([&] {
    w.send(FrameType::kClock, protocol::encode_i64(1'700'000'000'000'000'000));
    std::string_view rest = json;
    while (rest.size() > protocol::kMaxPayload) {
      w.send(FrameType::kSpecPart, rest.substr(0, protocol::kMaxPayload));
      rest.remove_prefix(protocol::kMaxPayload);
    }
    w.send(FrameType::kSpec, rest);
    // A frame for the relay, right behind the spec: it stays for it.
    w.send(FrameType::kWinsize, protocol::encode_winsize({24, 80}));
  });
  int64_t clock = 0;
  RunSpec got = w.port->receive_spec(clock);
  host.join();
  EXPECT_EQ(clock, 1'700'000'000'000'000'000);
  EXPECT_EQ(got, spec);
  // Whether the frame came with the spec's last read or is still in the socket, it is the next.
  w.port->channel().read_some();
  auto next = w.port->channel().next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->type, FrameType::kWinsize);
}

TEST(GuestPort, AnythingButTheSpecIsAProtocolError) {
  Wire w;
  w.send(FrameType::kAck);
  int64_t clock;
  EXPECT_THROW(w.port->receive_spec(clock), protocol::ProtocolError);
}

TEST(GuestPort, FinishWaitsForTheHostsAck) {
  Wire w;
  w.port->channel().queue(FrameType::kExit, protocol::encode_exit({false, 0}));
  std::thread host([&] {
    protocol::FrameReader reader;
    char buf[256];
    ssize_t n = ::read(w.host.get(), buf, sizeof buf);
    ASSERT_GT(n, 0);
    reader.feed(std::string_view(buf, static_cast<size_t>(n)));
    auto exit = reader.next();
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->type, FrameType::kExit);
    w.send(FrameType::kData, "late stdin", protocol::kStdin);  // passed over
    w.send(FrameType::kAck);
  });
  w.port->finish();
  host.join();
}

TEST(GuestPort, AHostThatLeftIsAnError) {
  Wire w;
  w.host.reset();
  EXPECT_THROW(w.port->receive(), Error);
}

}  // namespace
}  // namespace execvm::guest
