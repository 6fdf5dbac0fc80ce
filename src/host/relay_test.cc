// The host's relay against a fake VM: a socket pair for the agent's channel, one for the console,
// an eventfd for the VM's end, and a fake guest agent on a thread speaking the protocol.
#include "host/relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "host/outputs.h"
#include "protocol/frame.h"
#include "spec/run_spec.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using protocol::Frame;
using protocol::FrameType;
using namespace std::chrono_literals;

std::pair<Fd, Fd> socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("socketpair");
  return {Fd(fds[0]), Fd(fds[1])};
}

std::pair<Fd, Fd> pipe_pair() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  return {Fd(fds[0]), Fd(fds[1])};
}

// A VM that is a socket pair: the relay gets one end of each, the test's guest the other.
class FakeVm : public Vmm {
 public:
  FakeVm() {
    auto [channel, guest] = socket_pair();
    auto [console, console_guest] = socket_pair();
    channel_ = std::move(channel);
    guest_ = std::move(guest);
    console_ = std::move(console);
    console_guest_ = std::move(console_guest);
    set_nonblocking(channel_.get());
    set_nonblocking(console_.get());
    ended_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }
  int channel() const override { return channel_.get(); }
  int console() const override { return console_.get(); }
  int diagnostics() const override { return -1; }
  int ended() const override { return ended_.get(); }
  void kill() override {
    if (!ended_flag_) end(SIGKILL);
    killed_ = true;
  }
  int wait() override { return status_; }

  // The VM ends: its sockets close and its end is seen, with wait status STATUS.
  void end(int status = 0) {
    status_ = status;
    ended_flag_ = true;
    // As when QEMU exits: the guest's ends go away (a guest thread blocked on one wakes up).
    ::shutdown(guest_.get(), SHUT_RDWR);
    ::shutdown(console_guest_.get(), SHUT_RDWR);
    uint64_t one = 1;
    (void)!::write(ended_.get(), &one, sizeof one);
  }

  int guest_fd() const { return guest_.get(); }
  int console_fd() const { return console_guest_.get(); }
  bool killed() const { return killed_; }

 private:
  Fd channel_, guest_, console_, console_guest_, ended_;
  int status_ = 0;
  bool ended_flag_ = false;
  bool killed_ = false;
};

// The fake guest agent's end of the channel: blocking frames in and out.
class Guest {
 public:
  explicit Guest(FakeVm& vm) : vm_(vm) {}

  void send(FrameType type, uint8_t stream = 0, std::string_view payload = {}) {
    std::string out;
    protocol::append_frame(out, type, stream, payload);
    if (!write_all(vm_.guest_fd(), out)) throw_errno("guest write");
  }
  Frame receive() {
    for (;;) {
      if (auto frame = reader_.next()) return *frame;
      char buf[65536];
      ssize_t n = ::read(vm_.guest_fd(), buf, sizeof buf);
      if (n <= 0) throw Error("the host closed the channel");
      reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  // The next frame that is not TYPES_TO_SKIP.
  Frame receive_skipping(std::initializer_list<FrameType> skip) {
    for (;;) {
      Frame f = receive();
      if (std::find(skip.begin(), skip.end(), f.type) == skip.end()) return f;
    }
  }
  // Hello, then the clock and the spec, then Started (unless not): returns the spec's JSON.
  std::string boot(bool start = true) {
    send(FrameType::kHello, 0, protocol::encode_hello({protocol::kVersion, "fake"}));
    Frame clock = receive();
    EXPECT_EQ(clock.type, FrameType::kClock);
    std::string json;
    for (;;) {
      Frame f = receive();
      json += f.payload;
      if (f.type == FrameType::kSpec) break;
      EXPECT_EQ(f.type, FrameType::kSpecPart);
    }
    if (start) send(FrameType::kStarted);
    return json;
  }
  // The command's end: EXIT, both outputs' ends, and the host's Ack.
  void finish(protocol::ExitStatus exit = {}) {
    send(FrameType::kExit, 0, protocol::encode_exit(exit));
    send(FrameType::kEof, protocol::kStdout);
    send(FrameType::kEof, protocol::kStderr);
    EXPECT_EQ(
        receive_skipping({FrameType::kCredit, FrameType::kData, FrameType::kEof, FrameType::kPing})
            .type,
        FrameType::kAck);
  }

 private:
  FakeVm& vm_;
  protocol::FrameReader reader_;
};

// Everything a pipe receives, collected on a thread until its writers are gone.
class Collector {
 public:
  explicit Collector(Fd read_end)
      : fd_(std::move(read_end)), thread_([this] { data_ = read_all(fd_.get()); }) {}
  ~Collector() {
    if (thread_.joinable()) thread_.join();
  }
  std::string take() {
    thread_.join();
    return data_;
  }

 private:
  Fd fd_;
  std::string data_;
  std::thread thread_;
};

// One relay run: the caller's stdio are pipes, the signals a pipe of signalfd records.
struct Harness {
  FakeVm vm;
  Fd stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write;
  Fd signals_read, signals_write;
  RelayOptions options;
  std::string spec_json = spec_to_json(RunSpec{{"true"}});
  Outputs* outputs = nullptr;

  Harness() {
    ::signal(SIGPIPE, SIG_IGN);  // as execvm has it during a run (see RunSignals)
    std::tie(stdin_read, stdin_write) = pipe_pair();
    std::tie(stdout_read, stdout_write) = pipe_pair();
    std::tie(stderr_read, stderr_write) = pipe_pair();
    std::tie(signals_read, signals_write) = pipe_pair();
    set_nonblocking(signals_read.get());
    options.boot_timeout = 10s;
    options.power_off_grace = 10s;
  }

  void signal(int sig) {
    struct signalfd_siginfo info {};
    info.ssi_signo = static_cast<uint32_t>(sig);
    ASSERT_TRUE(write_all(signals_write.get(),
                          std::string_view(reinterpret_cast<char*>(&info), sizeof info)));
  }

  // Runs the relay while GUEST plays the agent on a thread. The relay's ends of stdout and
  // stderr are closed when it returns, so that collectors see their end.
  RelayResult run(const std::function<void(Guest&)>& guest_script) {
    Guest guest(vm);
    std::thread agent([&] {
      try {
        guest_script(guest);
      } catch (const std::exception&) {
        // The host went away in the middle: the test's expectations say whether that is right.
      }
    });
    RelayIo io{stdin_read.get(), stdout_write.get(), stderr_write.get(), signals_read.get(),
               nullptr};
    io.outputs = outputs;
    RelayResult result = relay(vm, spec_json, io, options);
    stdout_write.reset();
    stderr_write.reset();
    agent.join();
    return result;
  }
};

TEST(Relay, ACommandsLifeEndToEnd) {
  Harness h;
  write_all(h.stdin_write.get(), "input");
  h.stdin_write.reset();
  Collector out(std::move(h.stdout_read)), err(std::move(h.stderr_read));
  std::string stdin_seen;
  RelayResult r = h.run([&](Guest& g) {
    EXPECT_EQ(spec_from_json(g.boot()).argv, std::vector<std::string>{"true"});
    g.send(FrameType::kCredit, 0, protocol::encode_u32(1024));
    for (;;) {
      Frame f = g.receive();
      if (f.type == FrameType::kEof) break;
      ASSERT_EQ(f.type, FrameType::kData);
      stdin_seen += f.payload;
    }
    g.send(FrameType::kData, protocol::kStdout, "out");
    g.send(FrameType::kData, protocol::kStderr, "err");
    g.finish({false, 3});
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kExited);
  EXPECT_EQ(r.status, (protocol::ExitStatus{false, 3}));
  EXPECT_TRUE(r.booted);
  EXPECT_EQ(stdin_seen, "input");
  EXPECT_EQ(out.take(), "out");
  EXPECT_EQ(err.take(), "err");
}

TEST(Relay, StdinGoesOnlyAsFarAsGranted) {
  Harness h;
  write_all(h.stdin_write.get(), std::string(1000, 'x'));
  std::string seen;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    g.send(FrameType::kCredit, 0, protocol::encode_u32(10));
    while (seen.size() < 10) {
      Frame f = g.receive();
      ASSERT_EQ(f.type, FrameType::kData);
      seen += f.payload;
    }
    // Nothing more may come: the next frame after the command's end is the Ack.
    g.finish();
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kExited);
  EXPECT_EQ(seen, std::string(10, 'x'));
  // The caller's stdin still holds what the guest did not ask for.
  set_nonblocking(h.stdin_read.get());
  char buf[2000];
  EXPECT_EQ(::read(h.stdin_read.get(), buf, sizeof buf), 990);
}

TEST(Relay, CreditBeyondTheWindowBreaksTheChannel) {
  Harness h;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    g.send(FrameType::kCredit, 0, protocol::encode_u32(1u << 30));
  });
  EXPECT_EQ(r.end, RelayResult::End::kChannelBroke);
  EXPECT_NE(r.protocol_error.find("credit"), std::string::npos) << r.protocol_error;
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, SlowReaderHoldsTheGuestBack) {
  Harness h;
  static constexpr size_t kTotal = 24 << 20;
  bool held_back = false;
  std::string chunk(1 << 20, 'o');
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    // Nobody reads stdout yet: the relay stops reading the channel past its high water, and the
    // guest's writes stop going through.
    set_nonblocking(h.vm.guest_fd());
    std::string wire;
    for (size_t sent = 0; sent < kTotal; sent += chunk.size())
      protocol::append_frame(wire, FrameType::kData, protocol::kStdout, chunk);
    size_t at = 0;
    while (at < wire.size()) {
      ssize_t n = ::write(h.vm.guest_fd(), wire.data() + at, wire.size() - at);
      if (n > 0) {
        at += static_cast<size_t>(n);
        continue;
      }
      ASSERT_EQ(errno, EAGAIN);
      if (!held_back) {
        held_back = true;
        // Now the reader comes.
        std::thread([fd = h.stdout_read.release()] {
          Fd owned(fd);
          std::string all = read_all(owned.get());
          EXPECT_EQ(all.size(), kTotal);
        }).detach();
      }
      usleep(1000);
    }
    set_nonblocking(h.vm.guest_fd(), false);
    g.finish();
    h.vm.end();
  });
  EXPECT_TRUE(held_back);
  EXPECT_EQ(r.end, RelayResult::End::kExited);
}

TEST(Relay, AReaderThatLeftClosesTheCommandsOutput) {
  Harness h;
  h.stdout_read.reset();  // the reader is gone
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    g.send(FrameType::kData, protocol::kStdout, "lost");
    Frame f = g.receive_skipping({FrameType::kCredit});
    EXPECT_EQ(f.type, FrameType::kClose);
    EXPECT_EQ(f.stream, protocol::kStdout);
    g.finish({true, SIGPIPE});
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kExited);
  EXPECT_EQ(r.status.shell_status(), 128 + SIGPIPE);
}

TEST(Relay, SignalsGoToTheCommandAndTheThirdStopsTheVm) {
  Harness h;
  std::vector<uint32_t> forwarded;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    for (int i = 0; i < 2; ++i) {
      h.signal(SIGINT);
      Frame f = g.receive();
      ASSERT_EQ(f.type, FrameType::kSignal);
      forwarded.push_back(protocol::decode_u32(f.payload));
    }
    h.signal(SIGINT);  // the command does not end on it: the third stops the VM
    g.receive();
  });
  EXPECT_EQ(forwarded, (std::vector<uint32_t>{SIGINT, SIGINT}));
  EXPECT_EQ(r.end, RelayResult::End::kInterrupted);
  EXPECT_EQ(r.signal, SIGINT);
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, ASignalDuringTheBootEndsTheRun) {
  Harness h;
  h.signal(SIGTERM);
  RelayResult r = h.run([](Guest&) {});
  EXPECT_EQ(r.end, RelayResult::End::kInterrupted);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.booted);
}

TEST(Relay, BootWatchdog) {
  Harness h;
  h.options.boot_timeout = 50ms;
  RelayResult r = h.run([](Guest& g) { g.receive(); });  // never says hello
  EXPECT_EQ(r.end, RelayResult::End::kBootTimeout);
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, TheBootLastsUntilTheCommandRuns) {
  // The agent said hello but hangs on the way to the command (mounting its root, say).
  Harness h;
  h.options.boot_timeout = 100ms;
  RelayResult r = h.run([](Guest& g) {
    g.boot(false);
    for (;;) g.receive();
  });
  EXPECT_EQ(r.end, RelayResult::End::kBootTimeout);
  EXPECT_TRUE(r.booted);
  EXPECT_FALSE(r.started);
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, AGuestThatStopsAnsweringEndsTheRun) {
  Harness h;
  h.options.unresponsive = 300ms;
  int pings = 0;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    for (;;)
      if (g.receive().type == FrameType::kPing) ++pings;  // and never a word back
  });
  EXPECT_EQ(r.end, RelayResult::End::kUnresponsive);
  EXPECT_TRUE(r.started);
  EXPECT_GE(pings, 5);
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, AGuestThatAnswersItsPingsRunsOn) {
  Harness h;
  h.options.unresponsive = 200ms;
  Collector out(std::move(h.stdout_read)), err(std::move(h.stderr_read));
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    auto until = std::chrono::steady_clock::now() + 1s;  // five times the silence allowed
    while (std::chrono::steady_clock::now() < until)
      if (g.receive().type == FrameType::kPing) g.send(FrameType::kPong);
    g.finish();
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kExited);
}

TEST(Relay, AGuestUnheardForItsUnreadOutputIsNotStopped) {
  // Nobody reads stdout for a second: the relay stops reading the channel, and the guest's
  // answers cannot come through. That is the reader's doing, not a hang.
  Harness h;
  h.options.unresponsive = 200ms;
  std::string chunk(1 << 20, 'o');
  static constexpr size_t kTotal = 16 << 20;
  std::thread reader([fd = h.stdout_read.release()] {
    Fd owned(fd);
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(read_all(owned.get()).size(), kTotal);
  });
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    for (size_t sent = 0; sent < kTotal; sent += chunk.size())
      g.send(FrameType::kData, protocol::kStdout, chunk);  // blocks while the host does not read
    g.finish();
    h.vm.end();
  });
  reader.join();
  EXPECT_EQ(r.end, RelayResult::End::kExited);
}

TEST(Relay, RunTimeout) {
  Harness h;
  h.options.timeout = 100ms;
  RelayResult r = h.run([](Guest& g) {
    g.boot();
    for (;;) g.receive();  // the command never ends
  });
  EXPECT_EQ(r.end, RelayResult::End::kTimeout);
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, PowerOffGraceEndsAVmThatDoesNotEndItself) {
  Harness h;
  h.options.power_off_grace = 50ms;
  RelayResult r = h.run([](Guest& g) {
    g.boot();
    g.finish({false, 0});
    // ... and the VM lingers.
  });
  EXPECT_EQ(r.end, RelayResult::End::kExited);
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, OutputAfterTheCommandsExitStillArrives) {
  Harness h;
  Collector out(std::move(h.stdout_read));
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    g.send(FrameType::kExit, 0, protocol::encode_exit({false, 0}));
    g.send(FrameType::kEof, protocol::kStderr);
    g.send(FrameType::kData, protocol::kStdout, "late");  // a background job's
    g.send(FrameType::kEof, protocol::kStdout);
    EXPECT_EQ(g.receive_skipping({FrameType::kCredit}).type, FrameType::kAck);
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kExited);
  EXPECT_EQ(out.take(), "late");
}

TEST(Relay, AVmThatEndsEarlyIsReportedWithItsConsole) {
  Harness h;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    write_all(h.vm.console_fd(), "booting\nKernel panic - not syncing: Attempted to kill init!\n");
    h.vm.end(0);
  });
  EXPECT_EQ(r.end, RelayResult::End::kVmEnded);
  EXPECT_TRUE(r.booted);
  EXPECT_NE(r.console.find("Kernel panic"), std::string::npos);
}

TEST(Relay, AGuestThatHaltsEndsTheRun) {
  Harness h;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    write_all(h.vm.console_fd(), "[   12.3] reboot: System halted\n");
    g.receive();  // the VM does not end by itself; the relay stops it
  });
  EXPECT_EQ(r.end, RelayResult::End::kHalted);
  EXPECT_TRUE(h.vm.killed());
}

TEST(Relay, ALargeSpecGoesInPieces) {
  Harness h;
  RunSpec spec;
  spec.argv = {"echo"};
  for (int i = 0; i < 30; ++i) spec.argv.push_back(std::string(100'000, 'a' + i % 26));
  h.spec_json = spec_to_json(spec);
  ASSERT_GT(h.spec_json.size(), 2 * protocol::kMaxPayload);
  std::string received;
  h.run([&](Guest& g) {
    received = g.boot();
    g.finish();
    h.vm.end();
  });
  EXPECT_EQ(spec_from_json(received), spec);
}

TEST(Relay, GarbageOnTheChannelBreaksIt) {
  Harness h;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    write_all(h.vm.guest_fd(), "not a frame at all");
    g.receive();
  });
  EXPECT_EQ(r.end, RelayResult::End::kChannelBroke);
  EXPECT_NE(r.protocol_error.find("magic"), std::string::npos) << r.protocol_error;
}

TEST(Relay, AGuestErrorIsAcknowledgedAtOnce) {
  Harness h;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    g.send(FrameType::kError, 0, protocol::encode_error({127, "nope: command not found"}));
    EXPECT_EQ(g.receive_skipping({FrameType::kCredit}).type, FrameType::kAck);
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kGuestError);
  EXPECT_EQ(r.guest_error.exit_code, 127);
}

// The guest's side of one output that is a file: its entry, its bytes, its end.
void send_file_output(Guest& g, std::string_view data, bool end = true) {
  protocol::OutputEntry e{0, protocol::OutputEntry::Kind::kFile, "", 0644, 0, data.size(), ""};
  g.send(FrameType::kOutput, 0, protocol::encode_output_entry(e));
  g.send(FrameType::kOutputData, 0, data);
  if (!end) return;
  e.kind = protocol::OutputEntry::Kind::kEnd;
  g.send(FrameType::kOutput, 0, protocol::encode_output_entry(e));
}

void send_ends(Guest& g, protocol::ExitStatus exit) {
  g.send(FrameType::kExit, 0, protocol::encode_exit(exit));
  g.send(FrameType::kEof, protocol::kStdout);
  g.send(FrameType::kEof, protocol::kStderr);
}

TEST(Relay, TheOutputsComeAfterTheEndsAndBeforeTheAck) {
  testing::TempDir dir;
  Outputs outputs({{"/o", "/o", dir / "o"}});
  Harness h;
  h.outputs = &outputs;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    send_ends(g, {false, 3});
    send_file_output(g, "result");
    EXPECT_EQ(g.receive_skipping({FrameType::kCredit}).type, FrameType::kAck);
    // The host acknowledges what it has written.
    EXPECT_EQ(read_file(dir / "o"), "result");
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kExited);
  EXPECT_EQ(r.status, (protocol::ExitStatus{false, 3}));
  EXPECT_TRUE(outputs.finish().problems.empty());
}

TEST(Relay, WithoutItsOutputsTheRunIsNotAcknowledged) {
  testing::TempDir dir;
  Outputs outputs({{"/o", "/o", dir / "o"}});
  Harness h;
  h.outputs = &outputs;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    send_ends(g, {false, 0});
    send_file_output(g, "half", false);
    h.vm.end();  // before the output's end: an Ack would have made this the VM's normal end
  });
  EXPECT_EQ(r.end, RelayResult::End::kVmEnded);
  EXPECT_EQ(outputs.finish().problems,
            std::vector<std::string>{
                "--output /o: not received (the run ended before the guest had sent it)"});
  EXPECT_EQ(::access((dir / "o").c_str(), F_OK), -1);
}

TEST(Relay, ATimeoutKillsTheCommandAndStillCollectsTheOutputs) {
  testing::TempDir dir;
  Outputs outputs({{"/o", "/o", dir / "o"}});
  Harness h;
  h.outputs = &outputs;
  h.options.timeout = 100ms;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    Frame f = g.receive_skipping({FrameType::kCredit, FrameType::kData, FrameType::kEof});
    ASSERT_EQ(f.type, FrameType::kSignal);
    EXPECT_EQ(protocol::decode_u32(f.payload), static_cast<uint32_t>(SIGKILL));
    // And the guest stops waiting for the output of processes outside the group.
    for (uint8_t stream : {protocol::kStdout, protocol::kStderr}) {
      Frame close = g.receive_skipping({FrameType::kCredit});
      EXPECT_EQ(close.type, FrameType::kClose);
      EXPECT_EQ(close.stream, stream);
    }
    send_ends(g, {true, SIGKILL});
    send_file_output(g, "written before the timeout");
    EXPECT_EQ(g.receive_skipping({FrameType::kCredit}).type, FrameType::kAck);
    h.vm.end();
  });
  EXPECT_EQ(r.end, RelayResult::End::kTimeout);
  EXPECT_EQ(read_file(dir / "o"), "written before the timeout");
  EXPECT_TRUE(outputs.finish().problems.empty());
}

TEST(Relay, AfterATimeoutTheOutputsHaveTheCollectGrace) {
  testing::TempDir dir;
  Outputs outputs({{"/o", "/o", dir / "o"}});
  Harness h;
  h.outputs = &outputs;
  h.options.timeout = 50ms;
  h.options.collect_grace = 50ms;
  RelayResult r = h.run([](Guest& g) {
    g.boot();
    for (;;) g.receive();  // the command does not die, or the guest does not answer
  });
  EXPECT_EQ(r.end, RelayResult::End::kTimeout);
  EXPECT_TRUE(h.vm.killed());
  EXPECT_FALSE(outputs.complete());
}

TEST(Relay, OutputsBeforeTheCommandsEndBreakTheChannel) {
  testing::TempDir dir;
  Outputs outputs({{"/o", "/o", dir / "o"}});
  Harness h;
  h.outputs = &outputs;
  RelayResult r = h.run([&](Guest& g) {
    g.boot();
    send_file_output(g, "early");
    g.receive();
  });
  EXPECT_EQ(r.end, RelayResult::End::kChannelBroke);
  EXPECT_NE(r.protocol_error.find("output frame out of turn"), std::string::npos)
      << r.protocol_error;
}

}  // namespace
}  // namespace execvm
