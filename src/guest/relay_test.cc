// The guest's relay with a real command (spawned as the guest agent spawns it) and a socket pair
// standing for the virtio-serial port; the test plays the host.
#include "guest/relay.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <thread>

#include "protocol/stdin_window.h"
#include "util/error.h"
#include "util/sys.h"

namespace execvm::guest {
namespace {

using protocol::Frame;
using protocol::FrameType;

// What the host saw: the frames of each kind, in order.
struct Seen {
  std::string out, err;
  std::optional<protocol::ExitStatus> exit;
  std::vector<std::string> order;  // "exit", "eof 1", "eof 2", "data 1" (once per stream)
  uint64_t credit = 0;
};

class GuestRelay : public ::testing::Test {
 public:
  // Queues a frame for the guest; the host's loop writes it as the socket takes it (a blocking
  // write from the thread that also reads would deadlock with a guest that is writing too).
  void send(FrameType type, uint8_t stream = 0, std::string_view payload = {}) {
    protocol::append_frame(to_guest_, type, stream, payload);
  }

 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, &previous_);
    sigchld_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    host_.reset(fds[0]);
    port_.reset(fds[1]);
    set_nonblocking(port_.get());
    set_nonblocking(host_.get());
  }
  void TearDown() override { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }

  // Runs ARGV under the relay while the host, on a thread, reads frames until the command and its
  // output have ended, calling ON_FRAME with each.
  Seen run(std::vector<std::string> argv,
           const std::function<void(GuestRelay&, const Frame&)>& on_frame = {}) {
    RunSpec spec;
    spec.argv = std::move(argv);
    return run(spec, on_frame);
  }

  // The same, with SPEC's choices (argv, the streams) as the agent gets them.
  Seen run(RunSpec spec, const std::function<void(GuestRelay&, const Frame&)>& on_frame = {}) {
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.cwd = "/";
    spec.uid = ::getuid();
    spec.gid = ::getgid();
    Seen seen;
    std::thread host([&] {
      protocol::FrameReader reader;
      int ends = 0;
      bool data_seen[3] = {false, false, false};
      while (ends < 3) {
        auto frame = reader.next();
        if (!frame) {
          pollfd p{host_.get(), static_cast<short>(POLLIN | (to_guest_.empty() ? 0 : POLLOUT)), 0};
          if (::poll(&p, 1, -1) < 0) return;
          if (p.revents & POLLOUT) {
            ssize_t n = ::write(host_.get(), to_guest_.data(), to_guest_.size());
            if (n > 0) to_guest_.erase(0, static_cast<size_t>(n));
          }
          if (!(p.revents & (POLLIN | POLLHUP))) continue;
          char buf[65536];
          ssize_t n = ::read(host_.get(), buf, sizeof buf);
          if (n < 0 && errno == EAGAIN) continue;
          if (n <= 0) return;
          reader.feed(std::string_view(buf, static_cast<size_t>(n)));
          continue;
        }
        switch (frame->type) {
          case FrameType::kData:
            (frame->stream == protocol::kStdout ? seen.out : seen.err) += frame->payload;
            if (!data_seen[frame->stream])
              seen.order.push_back("data " + std::to_string(frame->stream));
            data_seen[frame->stream] = true;
            break;
          case FrameType::kExit:
            seen.exit = protocol::decode_exit(frame->payload);
            seen.order.push_back("exit");
            ++ends;
            break;
          case FrameType::kEof:
            seen.order.push_back("eof " + std::to_string(frame->stream));
            ++ends;
            break;
          case FrameType::kCredit:
            seen.credit += protocol::decode_u32(frame->payload);
            break;
          default:
            break;
        }
        if (on_frame) on_frame(*this, *frame);
      }
    });
    FrameChannel channel(port_.get());
    Child child = spawn_command(spec);
    relay(channel, child, sigchld_.get());
    host.join();
    return seen;
  }

  Fd host_, port_, sigchld_;
  std::string to_guest_;  // frames for the guest not yet written
  sigset_t previous_;
};

TEST_F(GuestRelay, OutputsAndTheExit) {
  Seen s = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(s.out, "out\n");
  EXPECT_EQ(s.err, "err\n");
  ASSERT_TRUE(s.exit);
  EXPECT_EQ(*s.exit, (protocol::ExitStatus{false, 3}));
  // The first window, granted before the command read anything.
  EXPECT_EQ(s.credit, kStdinFirstWindow);
}

TEST_F(GuestRelay, ABackgroundJobsOutputComesAfterTheExit) {
  Seen s = run({"sh", "-c", "(sleep 0.3; echo late) & echo main"});
  EXPECT_EQ(s.out, "main\nlate\n");
  // The exit is reported when the command ends; its output's end only when the job's is.
  auto exit = std::find(s.order.begin(), s.order.end(), "exit");
  auto eof = std::find(s.order.begin(), s.order.end(), "eof 1");
  EXPECT_LT(exit, eof);
}

TEST_F(GuestRelay, StdinFlowsAsTheGuestGrantsIt) {
  // The host sends only what was granted; the guest grants more as wc reads.
  const std::string input(3'000'000, 'i');
  size_t sent = 0, room = 0;
  bool ended = false;
  Seen s = run({"wc", "-c"}, [&](GuestRelay& g, const Frame& f) {
    if (f.type != FrameType::kCredit) return;
    room += protocol::decode_u32(f.payload);
    while (room > 0 && sent < input.size()) {
      size_t n = std::min({room, input.size() - sent, size_t{65536}});
      g.send(FrameType::kData, protocol::kStdin, std::string_view(input).substr(sent, n));
      sent += n;
      room -= n;
    }
    if (sent == input.size() && !ended) {
      ended = true;
      g.send(FrameType::kEof, protocol::kStdin);
    }
  });
  EXPECT_EQ(s.out, "3000000\n");
  // The window grew with what wc read.
  EXPECT_GE(s.credit, input.size());
}

TEST_F(GuestRelay, SignalsReachTheCommandsProcessGroup) {
  // The shell waits for its child, cat; a signal to the group ends both at once (as Ctrl-C
  // would). The signal goes once cat has echoed its input: then it surely runs (a shell that
  // forks with vfork could otherwise take the signal in the child's place, before its exec).
  bool typed = false, signalled = false;
  Seen s = run({"sh", "-c", "cat; echo after"}, [&](GuestRelay& g, const Frame& f) {
    if (f.type == FrameType::kCredit && !typed) {
      typed = true;
      g.send(FrameType::kData, protocol::kStdin, "ready\n");
    } else if (f.type == FrameType::kData && !signalled) {
      signalled = true;
      g.send(FrameType::kSignal, 0, protocol::encode_u32(SIGINT));
    }
  });
  EXPECT_EQ(s.out, "ready\n");
  ASSERT_TRUE(s.exit);
  EXPECT_EQ(*s.exit, (protocol::ExitStatus{true, SIGINT}));
}

TEST_F(GuestRelay, StderrCanJoinStdout) {
  RunSpec spec;
  spec.argv = {"sh", "-c", "echo one; echo two >&2; echo three"};
  spec.stderr_to_stdout = true;  // the caller's 2>&1: one pipe, their order kept
  Seen s = run(spec);
  EXPECT_EQ(s.out, "one\ntwo\nthree\n");
  EXPECT_EQ(s.err, "");
}

TEST_F(GuestRelay, ClosedFdsStayClosed) {
  RunSpec spec;
  spec.argv = {"sh", "-c", "echo out || echo failed >&2"};
  spec.closed_fds = {1};
  Seen s = run(spec);
  EXPECT_EQ(s.out, "");
  EXPECT_NE(s.err.find("failed"), std::string::npos) << s.err;
}

}  // namespace
}  // namespace execvm::guest
