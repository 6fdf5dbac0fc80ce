#include "host/relay.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "host/outputs.h"
#include "host/stdio_pump.h"
#include "protocol/channel.h"
#include "protocol/poller.h"
#include "protocol/stdin_window.h"
#include "util/error.h"

namespace execvm {

using protocol::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

// Stop reading the channel while this much output waits for a slow reader: back-pressure
// reaches the command through QEMU and the agent.
constexpr size_t kOutputHighWater = 8 << 20;
// Once execvm was told to stop, the channel is read past the high water (the command's end comes
// after its output), and output beyond this is dropped rather than kept for a reader that does
// not read.
constexpr size_t kOutputDropAbove = 64 << 20;
constexpr size_t kStdinChunk = 64 * 1024;
constexpr size_t kChannelReadPerWake = 1 << 20;
constexpr size_t kVmStderrKept = 8192;
constexpr size_t kConsoleLineMax = 1024;
// While the command runs the host pings the guest this many times per RelayOptions::unresponsive
// period; a guest silent through that many pings in a row has stopped.
constexpr int kPingsPerSilence = 6;

// The kernel's words when it halts instead of ending the VM (poweroff or halt in a guest whose
// kernel has no way to power off: QEMU keeps running).
constexpr const char* kHaltLines[] = {"reboot: System halted", "reboot: Power down",
                                      "Power off not available"};

Fd make_timer() {
  Fd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!fd) throw_errno("timerfd_create");
  return fd;
}

// Fires once AFTER from now, then every EVERY when given.
void arm(int timer, std::chrono::milliseconds after,
         std::optional<std::chrono::milliseconds> every = std::nullopt) {
  struct itimerspec spec {};
  int64_t ms = std::max<int64_t>(after.count(), 1);
  spec.it_value.tv_sec = ms / 1000;
  spec.it_value.tv_nsec = (ms % 1000) * 1'000'000;
  if (every) {
    int64_t interval = std::max<int64_t>(every->count(), 1);
    spec.it_interval.tv_sec = interval / 1000;
    spec.it_interval.tv_nsec = (interval % 1000) * 1'000'000;
  }
  ::timerfd_settime(timer, 0, &spec, nullptr);
}

void disarm(int timer) {
  struct itimerspec spec {};
  ::timerfd_settime(timer, 0, &spec, nullptr);
}

void drain_event(int fd) {
  uint64_t count;
  (void)!::read(fd, &count, sizeof count);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t realtime_ns() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

class Relay {
 public:
  Relay(Vmm& vm, const std::string& spec_json, const RelayIo& io, const RelayOptions& options)
      : vm_(vm),
        spec_json_(spec_json),
        io_(io),
        options_(options),
        channel_(vm.channel()),
        boot_timer_(make_timer()),
        run_timer_(make_timer()),
        live_timer_(make_timer()),
        stdin_(io.in),
        stdout_(io.out),
        stderr_(io.err) {}

  RelayResult run() {
    start_ = Clock::now();
    arm(boot_timer_.get(), options_.boot_timeout);
    if (options_.timeout) arm(run_timer_.get(), *options_.timeout);
    struct epoll_event events[16];
    while (!finished_) {
      watch();
      int n = poller_.wait(events, 16, -1);
      for (int i = 0; i < n && !finished_; ++i) dispatch(events[i].data.fd);
      if (!finished_) {
        send_stdin();
        if (channel_open_ && !channel_.flush_some()) channel_open_ = false;
      }
    }
    // A timeout that let the outputs be collected is still a timeout, however the rest ended.
    if (timed_out_ &&
        (result_.end == RelayResult::End::kExited || result_.end == RelayResult::End::kVmEnded ||
         result_.end == RelayResult::End::kHalted))
      result_.end = RelayResult::End::kTimeout;
    // Whatever happened, the VM is gone before execvm says so, and what was received is out
    // (within a grace, when the run did not end by itself).
    vm_.kill();
    result_.vm_status = vm_.wait();
    std::optional<std::chrono::milliseconds> grace;
    if (stopping_ || result_.end != RelayResult::End::kExited) grace = options_.output_grace;
    stdout_.finish(grace);
    stderr_.finish(grace);
    result_.run_seconds = seconds_since(start_);
    return result_;
  }

 private:
  enum class Phase {
    kBooting,     // until the agent's Hello
    kRunning,     // the spec is sent; the command runs
    kDraining,    // the command ended; its output may still come
    kPoweringOff  // the host has everything and said so; the VM ends by itself
  };

  bool in_session() const { return phase_ == Phase::kRunning || phase_ == Phase::kDraining; }

  void watch() {
    size_t queued = stdout_.queued() + stderr_.queued();
    bool room = queued < kOutputHighWater || stopping_;
    uint32_t channel_events = 0;
    if (channel_open_ && room) channel_events |= uint32_t{EPOLLIN};
    if (channel_open_ && channel_.pending()) channel_events |= uint32_t{EPOLLOUT};
    poller_.want(channel_.fd(), channel_events);
    poller_.want(vm_.console(), console_open_ ? uint32_t{EPOLLIN} : 0u);
    poller_.want(vm_.diagnostics(), vm_stderr_open_ ? uint32_t{EPOLLIN} : 0u);
    poller_.want(vm_.ended(), vm_running_ ? uint32_t{EPOLLIN} : 0u);
    poller_.want(io_.signals, EPOLLIN);
    poller_.want(boot_timer_.get(), EPOLLIN);
    poller_.want(run_timer_.get(), EPOLLIN);
    poller_.want(live_timer_.get(), EPOLLIN);
    // The guest cannot be heard while its output is not read: that is no sign of a hang.
    if (!room) deaf_ = true;
    poller_.want(stdin_.event_fd(), in_session() && !stdin_done_ ? uint32_t{EPOLLIN} : 0u);
    poller_.want(stdout_.event_fd(), EPOLLIN);
    poller_.want(stderr_.event_fd(), EPOLLIN);
  }

  void dispatch(int fd) {
    if (fd == channel_.fd()) {
      read_channel(kChannelReadPerWake);
    } else if (fd == vm_.console()) {
      read_console();
    } else if (fd == vm_.diagnostics()) {
      read_vm_stderr();
    } else if (fd == vm_.ended()) {
      vm_ended();
    } else if (fd == io_.signals) {
      read_signals();
    } else if (fd == boot_timer_.get()) {
      drain_event(fd);
      // The boot lasts until the command runs: a guest stuck on the way there is a failed boot.
      if (phase_ == Phase::kBooting || (phase_ == Phase::kRunning && !result_.started))
        fail(RelayResult::End::kBootTimeout);
      if (phase_ == Phase::kPoweringOff) finished_ = true;  // QEMU is killed on the way out
    } else if (fd == run_timer_.get()) {
      drain_event(fd);
      timed_out();
    } else if (fd == live_timer_.get()) {
      drain_event(fd);
      check_alive();
    } else if (fd == stdin_.event_fd()) {
      stdin_ready_ = true;  // taken (and the eventfd drained) in send_stdin()
    } else if (fd == stdout_.event_fd() || fd == stderr_.event_fd()) {
      drain_event(fd);
      for (auto [pump, stream] :
           {std::pair{&stdout_, protocol::kStdout}, {&stderr_, protocol::kStderr}}) {
        if (pump->broken() && !close_sent_[stream] && in_session()) {
          // The reader is gone: the command's next write fails, as it would locally.
          close_sent_[stream] = true;
          channel_.queue(FrameType::kClose, stream, {});
        }
      }
    }
  }

  // ---- the channel

  // Reads up to MAX bytes and handles the frames. Returns whether there may be more.
  bool read_channel(size_t max) {
    if (!channel_open_ || finished_) return false;
    FrameChannel::Read read = channel_.read_some(max);
    try {
      while (auto frame = channel_.next()) {
        handle(*frame);
        if (finished_) return false;
      }
    } catch (const protocol::ProtocolError& e) {
      result_.protocol_error = e.what();
      fail(RelayResult::End::kChannelBroke);
      return false;
    }
    if (read == FrameChannel::Read::kClosed) channel_open_ = false;  // QEMU is ending
    return read == FrameChannel::Read::kMore;
  }

  void handle(protocol::Frame& frame) {
    heard_ = true;
    switch (frame.type) {
      case FrameType::kHello: {
        if (phase_ != Phase::kBooting) throw protocol::ProtocolError("a second hello");
        auto hello = protocol::decode_hello(frame.payload);
        if (hello.version != protocol::kVersion)
          throw protocol::ProtocolError("the guest agent speaks protocol " +
                                        std::to_string(hello.version) + ", execvm " +
                                        std::to_string(protocol::kVersion));
        result_.booted = true;
        result_.boot_seconds = seconds_since(start_);
        send_spec();
        phase_ = Phase::kRunning;
        if (io_.terminal) send_winsize();
        break;
      }
      case FrameType::kStarted: {
        if (phase_ != Phase::kRunning || result_.started)
          throw protocol::ProtocolError("a start out of turn");
        result_.started = true;
        disarm(boot_timer_.get());
        auto every =
            std::max(options_.unresponsive / kPingsPerSilence, std::chrono::milliseconds(1));
        arm(live_timer_.get(), every, every);
        break;
      }
      case FrameType::kPong:
        break;  // heard: that was all it had to say
      case FrameType::kData:
        if (frame.stream == protocol::kStdin)
          throw protocol::ProtocolError("data frame for stdin from the guest");
        if (stopping_ && stdout_.queued() + stderr_.queued() >= kOutputDropAbove) break;
        output(frame.stream).push(std::move(frame.payload));
        break;
      case FrameType::kEof:
        if (frame.stream == protocol::kStdin)
          throw protocol::ProtocolError("end of stdin from the guest");
        output_ended_[frame.stream] = true;
        maybe_acknowledge();
        break;
      case FrameType::kClose:
        // The command's stdin is closed: read no more of the caller's for it.
        if (frame.stream != protocol::kStdin)
          throw protocol::ProtocolError("close of an output from the guest");
        stdin_done_ = true;
        break;
      case FrameType::kCredit:
        credit_.granted(protocol::decode_u32(frame.payload));
        break;
      case FrameType::kExit:
        if (!in_session() || !result_.started) throw protocol::ProtocolError("an exit out of turn");
        result_.end = RelayResult::End::kExited;
        result_.status = protocol::decode_exit(frame.payload);
        result_.exit_seconds = seconds_since(start_);
        phase_ = Phase::kDraining;
        maybe_acknowledge();
        break;
      case FrameType::kOutput:
      case FrameType::kOutputData:
        // The files out come after the command's end and its output's.
        if (phase_ != Phase::kDraining || !output_ended_[protocol::kStdout] ||
            !output_ended_[protocol::kStderr] || !io_.outputs)
          throw protocol::ProtocolError(std::string("an ") + protocol::frame_type_name(frame.type) +
                                        " frame out of turn");
        io_.outputs->handle(frame);
        maybe_acknowledge();
        break;
      case FrameType::kError:
        if (phase_ != Phase::kRunning) throw protocol::ProtocolError("an error out of turn");
        result_.end = RelayResult::End::kGuestError;
        result_.guest_error = protocol::decode_error(frame.payload);
        result_.exit_seconds = seconds_since(start_);
        acknowledge();
        break;
      default:
        throw protocol::ProtocolError(std::string("unexpected ") +
                                      protocol::frame_type_name(frame.type) +
                                      " frame from the guest");
    }
  }

  OutputPump& output(uint8_t stream) {
    if (stream == protocol::kStdout) return stdout_;
    if (stream == protocol::kStderr) return stderr_;
    throw protocol::ProtocolError("unknown output stream " + std::to_string(stream));
  }

  void send_spec() {
    channel_.queue(FrameType::kClock, protocol::encode_i64(realtime_ns()));
    std::string_view rest = spec_json_;
    while (rest.size() > protocol::kMaxPayload) {
      channel_.queue(FrameType::kSpecPart, rest.substr(0, protocol::kMaxPayload));
      rest.remove_prefix(protocol::kMaxPayload);
    }
    channel_.queue(FrameType::kSpec, rest);
  }

  bool collecting() const { return io_.outputs && !io_.outputs->empty(); }

  void maybe_acknowledge() {
    if (phase_ == Phase::kDraining && output_ended_[protocol::kStdout] &&
        output_ended_[protocol::kStderr] && (!collecting() || io_.outputs->complete()))
      acknowledge();
  }

  // The run's time is up. Without outputs to collect, or before the command runs, the VM is
  // stopped now; with them, the guest kills the command's process group and stops reading its
  // output (what it had not sent is lost, as when the VM is stopped; a process outside the group
  // cannot hold the end back), then sends the outputs, within the collect grace.
  void timed_out() {
    if (timed_out_ || !collecting() || !in_session() || !channel_open_) {
      fail(RelayResult::End::kTimeout);
      return;
    }
    timed_out_ = true;
    stopping_ = true;
    channel_.queue(FrameType::kSignal, 0, protocol::encode_u32(SIGKILL));
    for (uint8_t stream : {protocol::kStdout, protocol::kStderr}) {
      if (close_sent_[stream] || output_ended_[stream]) continue;
      close_sent_[stream] = true;
      channel_.queue(FrameType::kClose, stream, {});
    }
    arm(run_timer_.get(), options_.collect_grace);
  }

  // Each ping period while the command runs: a guest that said nothing through kPingsPerSilence
  // pings in a row, while it could be heard, has stopped (its kernel hangs, or its agent), and the
  // run ends rather than wait for it forever.
  void check_alive() {
    if (phase_ != Phase::kRunning || !result_.started || !channel_open_) return;
    if (heard_ || deaf_)
      silent_ = 0;
    else if (++silent_ >= kPingsPerSilence)
      return fail(RelayResult::End::kUnresponsive);
    heard_ = deaf_ = false;
    channel_.queue(FrameType::kPing, {});
  }

  // The host has everything: the agent may end the VM, which QEMU then leaves on its own.
  void acknowledge() {
    channel_.queue(FrameType::kAck, {});
    phase_ = Phase::kPoweringOff;
    arm(boot_timer_.get(), options_.power_off_grace);
    disarm(run_timer_.get());
  }

  void send_stdin() {
    if (!in_session() || stdin_done_ || !channel_open_) return;
    if (stdin_ready_) {
      stdin_ready_ = false;
      std::string data = stdin_.take();
      taken_ += data.size();
      for (size_t at = 0; at < data.size(); at += kStdinChunk)
        channel_.queue(FrameType::kData, protocol::kStdin,
                       std::string_view(data).substr(at, kStdinChunk));
      credit_.sent(data.size());
      if (stdin_.finished()) {
        stdin_done_ = true;
        channel_.queue(FrameType::kEof, protocol::kStdin, {});
        return;
      }
    }
    // Ask the pump for what the guest has room for and was not asked yet.
    uint64_t outstanding = asked_ - taken_;
    if (credit_.room() > outstanding) {
      stdin_.request(credit_.room() - outstanding);
      asked_ = taken_ + credit_.room();
    }
  }

  void send_winsize() {
    struct winsize ws {};
    if (::ioctl(io_.terminal->fd(), TIOCGWINSZ, &ws) == 0)
      channel_.queue(FrameType::kWinsize, 0, protocol::encode_winsize({ws.ws_row, ws.ws_col}));
  }

  // ---- QEMU's other outputs

  // Reads what the console has now; returns whether it read something.
  bool read_console() {
    char buf[4096];
    ssize_t n = ::read(vm_.console(), buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n <= 0) {
      poller_.forget(vm_.console());
      console_open_ = false;
      return false;
    }
    std::string_view text(buf, static_cast<size_t>(n));
    if (options_.console_to_stderr) stderr_.push(std::string(text));
    result_.console.append(text);
    if (result_.console.size() > kConsoleKept)
      result_.console.erase(0, result_.console.size() - kConsoleKept);
    for (char c : text) {
      if (c != '\n') {
        if (console_line_.size() < kConsoleLineMax) console_line_ += c;
        continue;
      }
      for (const char* halt : kHaltLines) {
        if (console_line_.find(halt) != std::string::npos && phase_ != Phase::kPoweringOff)
          fail(RelayResult::End::kHalted);
      }
      console_line_.clear();
    }
    return true;
  }

  // Reads what QEMU said now; returns whether it read something.
  bool read_vm_stderr() {
    char buf[4096];
    ssize_t n = ::read(vm_.diagnostics(), buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n <= 0) {
      poller_.forget(vm_.diagnostics());
      vm_stderr_open_ = false;
      return false;
    }
    if (result_.vm_stderr.size() < kVmStderrKept)
      result_.vm_stderr.append(buf, static_cast<size_t>(n));
    return true;
  }

  // The VM ended. What it left in the sockets is read first: the end of the output and the
  // command's exit may be among it.
  void vm_ended() {
    result_.vm_status = vm_.wait();
    vm_running_ = false;
    while (read_channel(SIZE_MAX)) {
    }
    if (finished_) return;
    while (read_console()) {
    }
    while (read_vm_stderr()) {
    }
    if (finished_) return;
    if (phase_ == Phase::kPoweringOff) {
      finished_ = true;  // the normal end: the agent was done and rebooted
      return;
    }
    fail(RelayResult::End::kVmEnded);
  }

  // ---- signals

  void read_signals() {
    struct signalfd_siginfo info;
    while (::read(io_.signals, &info, sizeof info) == sizeof info) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGWINCH) {
        if (io_.terminal && in_session()) send_winsize();
        continue;
      }
      if (sig == SIGCONT) {
        // Perhaps brought back to the foreground: the terminal may be read and be raw again.
        if (io_.terminal) io_.terminal->refresh();
        stdin_.wake();
        deaf_ = true;  // execvm itself was stopped, and heard nothing meanwhile
        continue;
      }
      if (phase_ == Phase::kPoweringOff) continue;  // the command has already ended
      result_.signal = sig;
      if (phase_ == Phase::kBooting) {
        // Nothing runs yet that could take the signal: the run ends here, as a command killed
        // by it would.
        fail(RelayResult::End::kInterrupted);
        return;
      }
      stopping_ = true;
      if (++signal_counts_[sig] >= kSignalsToStop) {
        fail(RelayResult::End::kInterrupted);
        return;
      }
      channel_.queue(FrameType::kSignal, 0, protocol::encode_u32(static_cast<uint32_t>(sig)));
    }
  }

  void fail(RelayResult::End end) {
    result_.end = end;
    finished_ = true;
  }

  Vmm& vm_;
  const std::string& spec_json_;
  RelayIo io_;
  RelayOptions options_;
  FrameChannel channel_;
  Poller poller_;
  Fd boot_timer_;  // the boot watchdog, then the power-off grace
  Fd run_timer_;
  Fd live_timer_;  // the ping period, once the command runs
  InputPump stdin_;
  OutputPump stdout_;
  OutputPump stderr_;

  Phase phase_ = Phase::kBooting;
  bool finished_ = false;
  bool stopping_ = false;   // a signal to stop reached the command
  bool timed_out_ = false;  // the timeout expired; the outputs are being collected
  bool heard_ = false;      // a frame came since the last ping
  bool deaf_ = false;       // since the last ping, the channel was not read for a while
  int silent_ = 0;          // pings in a row that nothing was heard after
  Clock::time_point start_;
  RelayResult result_;

  bool vm_running_ = true;
  bool channel_open_ = true;
  bool console_open_ = true;
  bool vm_stderr_open_ = true;
  std::string console_line_;

  StdinCredit credit_;
  uint64_t asked_ = 0, taken_ = 0;  // of the stdin pump
  bool stdin_ready_ = false;        // the stdin pump has read something, or the input ended
  bool stdin_done_ = false;
  bool output_ended_[3] = {false, false, false};
  bool close_sent_[3] = {false, false, false};
  int signal_counts_[NSIG] = {};
};

}  // namespace

RelayResult relay(Vmm& vm, const std::string& spec_json, const RelayIo& io,
                  const RelayOptions& options) {
  return Relay(vm, spec_json, io, options).run();
}

}  // namespace execvm
