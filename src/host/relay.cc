#include "host/relay.h"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <map>

#include "host/stdio_pump.h"
#include "util/error.h"
#include "util/strings.h"

namespace execvm {

using protocol::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

// Stop reading the channel while this much output waits for a slow reader: back-pressure
// reaches the command through QEMU and the agent.
constexpr size_t kOutputHighWater = 8 << 20;
constexpr size_t kStdinChunk = 64 * 1024;
constexpr size_t kConsoleLines = 40;
constexpr size_t kQemuStderrMax = 8192;
// How long QEMU may take to end after the agent was told it may power off.
constexpr std::chrono::milliseconds kPowerOffGrace{3000};
// The same signal this many times while the command runs: stop waiting for it and stop the VM.
constexpr int kSignalsToForce = 3;

Fd make_timer() {
  Fd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!fd) throw_errno("timerfd_create");
  return fd;
}

void arm(int timer, std::chrono::milliseconds after) {
  struct itimerspec spec {};
  int64_t ms = std::max<int64_t>(after.count(), 1);
  spec.it_value.tv_sec = ms / 1000;
  spec.it_value.tv_nsec = (ms % 1000) * 1'000'000;
  ::timerfd_settime(timer, 0, &spec, nullptr);
}

void disarm(int timer) {
  struct itimerspec spec {};
  ::timerfd_settime(timer, 0, &spec, nullptr);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class Relay {
 public:
  Relay(Vm& vm, Fd channel, Fd console, RunSpec spec, const RelayOptions& options)
      : vm_(vm),
        channel_(std::move(channel)),
        console_(std::move(console)),
        spec_(std::move(spec)),
        options_(options),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        boot_timer_(make_timer()),
        run_timer_(make_timer()),
        stdin_(STDIN_FILENO, protocol::kStdinWindow),
        stdout_(STDOUT_FILENO),
        stderr_(STDERR_FILENO) {
    if (!epoll_) throw_errno("epoll_create1");
    sigset_t signals = relay_signals();
    signals_.reset(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_) throw_errno("signalfd");
  }

  RelayResult run() {
    start_ = Clock::now();
    arm(boot_timer_.get(), options_.boot_timeout);
    if (options_.timeout) arm(run_timer_.get(), *options_.timeout);
    struct epoll_event events[16];
    while (!finished_) {
      update_interests();
      int n = ::epoll_wait(epoll_.get(), events, 16, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("epoll_wait");
      }
      for (int i = 0; i < n && !finished_; ++i) dispatch(events[i].data.fd);
      if (!finished_) {
        send_stdin();
        flush_channel();
      }
    }
    // Whatever happened, QEMU is gone before execvm says so, and every byte received is out.
    vm_.kill();
    vm_.reap();
    stdout_.finish();
    stderr_.finish();
    result_.run_seconds = seconds_since(start_);
    if (result_.kind != RelayResult::Kind::kExited && !result_.message.empty())
      result_.console_tail.assign(console_lines_.begin(), console_lines_.end());
    return result_;
  }

 private:
  enum class Phase { kBooting, kRunning, kPoweringOff };

  void want(int fd, uint32_t events) {
    if (fd < 0) return;
    auto it = interests_.find(fd);
    if (events == 0) {
      if (it != interests_.end()) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
        interests_.erase(it);
      }
      return;
    }
    if (it != interests_.end() && it->second == events) return;
    struct epoll_event ev {};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), it == interests_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) <
        0)
      throw_errno("epoll_ctl");
    interests_[fd] = events;
  }

  void update_interests() {
    bool room = stdout_.queued() + stderr_.queued() < kOutputHighWater;
    uint32_t channel_events = 0;
    if (channel_ && room) channel_events |= uint32_t{EPOLLIN};
    if (channel_ && out_offset_ < out_.size()) channel_events |= uint32_t{EPOLLOUT};
    want(channel_.get(), channel_events);
    want(console_.get(), console_ ? uint32_t{EPOLLIN} : 0u);
    want(vm_.stderr_fd(), qemu_stderr_open_ ? uint32_t{EPOLLIN} : 0u);
    want(vm_.pidfd(), EPOLLIN);
    want(signals_.get(), EPOLLIN);
    want(boot_timer_.get(), EPOLLIN);
    want(run_timer_.get(), EPOLLIN);
    bool stdin_wanted =
        phase_ == Phase::kRunning && !stdin_done_ && inflight_ < protocol::kStdinWindow;
    want(stdin_.event_fd(), stdin_wanted ? uint32_t{EPOLLIN} : 0u);
    want(stdout_.event_fd(), EPOLLIN);
    want(stderr_.event_fd(), EPOLLIN);
  }

  void dispatch(int fd) {
    if (fd == channel_.get()) {
      read_channel();
    } else if (fd == console_.get()) {
      read_console();
    } else if (fd == vm_.stderr_fd()) {
      read_qemu_stderr();
    } else if (fd == vm_.pidfd()) {
      vm_ended();
    } else if (fd == signals_.get()) {
      read_signals();
    } else if (fd == boot_timer_.get()) {
      boot_timer_fired();
    } else if (fd == run_timer_.get()) {
      fail(RelayResult::Kind::kTimeout, kExitTimeout,
           "the command timed out after " + format_duration(*options_.timeout) +
               "; the VM was stopped");
    } else if (fd == stdout_.event_fd() || fd == stderr_.event_fd()) {
      uint64_t count;
      (void)!::read(fd, &count, sizeof count);
      for (auto [pump, stream] :
           {std::pair{&stdout_, protocol::kStdout}, {&stderr_, protocol::kStderr}}) {
        if (pump->broken() && !closed_sent_[stream]) {
          // The reader is gone: the command's next write fails, as it would locally.
          closed_sent_[stream] = true;
          if (phase_ == Phase::kRunning) queue(FrameType::kClose, stream, {});
        }
      }
    }
    // The stdin pump's eventfd is drained by take() in send_stdin().
  }

  // ---- the channel

  void queue(FrameType type, uint8_t stream, std::string_view payload) {
    protocol::append_frame(out_, type, stream, payload);
  }

  void flush_channel() {
    while (channel_ && out_offset_ < out_.size()) {
      ssize_t n = ::write(channel_.get(), out_.data() + out_offset_, out_.size() - out_offset_);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        // QEMU is gone; its pidfd says so next.
        channel_.reset();
        break;
      }
      out_offset_ += static_cast<size_t>(n);
    }
    if (out_offset_ == out_.size()) {
      out_.clear();
      out_offset_ = 0;
    }
  }

  // Reads what the channel has now. Returns false when there is nothing more to read for now
  // (EAGAIN) or ever (QEMU closed it).
  bool read_channel() {
    char buf[1 << 16];
    // A bounded number of reads per wake-up, so that output pumps and signals get their turn.
    for (int round = 0; round < 16; ++round) {
      if (!channel_ || finished_) return false;
      ssize_t n = ::read(channel_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return false;
      if (n <= 0) {
        channel_.reset();  // QEMU closed it: it is exiting, the pidfd tells the rest
        return false;
      }
      reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
      try {
        while (auto frame = reader_.next()) {
          handle(*frame);
          if (finished_) return false;
        }
      } catch (const protocol::ProtocolError& e) {
        fail(RelayResult::Kind::kVmFailed, kExitFailure,
             std::string("the channel to the guest broke: ") + e.what());
        return false;
      }
    }
    return true;
  }

  void handle(const protocol::Frame& frame) {
    switch (frame.type) {
      case FrameType::kHello: {
        if (phase_ != Phase::kBooting) throw protocol::ProtocolError("a second hello");
        auto hello = protocol::decode_hello(frame.payload);
        if (hello.version != protocol::kVersion)
          throw protocol::ProtocolError("the guest agent speaks protocol " +
                                        std::to_string(hello.version) + ", execvm " +
                                        std::to_string(protocol::kVersion));
        disarm(boot_timer_.get());
        result_.boot_seconds = seconds_since(start_);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        spec_.realtime_ns = int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
        queue(FrameType::kSpec, 0, spec_to_json(spec_));
        phase_ = Phase::kRunning;
        if (options_.tty) send_winsize();
        break;
      }
      case FrameType::kData:
        if (frame.stream == protocol::kStdout) {
          stdout_.push(frame.payload);
        } else if (frame.stream == protocol::kStderr) {
          stderr_.push(frame.payload);
        } else {
          throw protocol::ProtocolError("data frame for stdin from the guest");
        }
        break;
      case FrameType::kEof:
        break;  // the command closed that output; nothing to do on this side
      case FrameType::kCredit: {
        uint32_t credit = protocol::decode_u32(frame.payload);
        if (credit > inflight_) throw protocol::ProtocolError("credit beyond what was sent");
        inflight_ -= credit;
        break;
      }
      case FrameType::kExit:
        result_.kind = RelayResult::Kind::kExited;
        result_.status = protocol::decode_exit(frame.payload);
        result_.exit_code = result_.status.shell_status();
        power_off();
        break;
      case FrameType::kError: {
        auto error = protocol::decode_error(frame.payload);
        result_.kind = RelayResult::Kind::kGuestError;
        result_.exit_code = error.exit_code;
        result_.message = error.message;
        power_off();
        break;
      }
      default:
        throw protocol::ProtocolError(std::string("unexpected ") +
                                      protocol::frame_type_name(frame.type) +
                                      " frame from the guest");
    }
  }

  // The agent has reported; it powers off once acknowledged. QEMU then exits on its own.
  void power_off() {
    result_.exit_seconds = seconds_since(start_);
    queue(FrameType::kAck, 0, {});
    phase_ = Phase::kPoweringOff;
    arm(boot_timer_.get(), kPowerOffGrace);
    disarm(run_timer_.get());
  }

  void send_stdin() {
    if (phase_ != Phase::kRunning || stdin_done_ || !channel_) return;
    while (inflight_ < protocol::kStdinWindow) {
      size_t room = std::min<size_t>(kStdinChunk, protocol::kStdinWindow - inflight_);
      std::string chunk = stdin_.take(room);
      if (chunk.empty()) break;
      inflight_ += static_cast<uint32_t>(chunk.size());
      queue(FrameType::kData, protocol::kStdin, chunk);
    }
    if (stdin_.finished()) {
      stdin_done_ = true;
      queue(FrameType::kEof, protocol::kStdin, {});
    }
  }

  void send_winsize() {
    struct winsize ws {};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
      queue(FrameType::kWinsize, 0, protocol::encode_winsize({ws.ws_row, ws.ws_col}));
  }

  // ---- QEMU's other outputs

  void read_console() {
    char buf[4096];
    ssize_t n = ::read(console_.get(), buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      console_.reset();
      return;
    }
    std::string_view text(buf, static_cast<size_t>(n));
    if (options_.console_to_stderr) stderr_.push(std::string(text));
    for (char c : text) {
      if (c == '\n') {
        console_lines_.push_back(std::move(console_partial_));
        console_partial_.clear();
        if (console_lines_.size() > kConsoleLines) console_lines_.pop_front();
      } else if (c != '\r' && console_partial_.size() < 1024) {
        console_partial_ += c;
      }
    }
  }

  void read_qemu_stderr() {
    char buf[4096];
    ssize_t n = ::read(vm_.stderr_fd(), buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      qemu_stderr_open_ = false;
      return;
    }
    if (qemu_stderr_.size() < kQemuStderrMax) qemu_stderr_.append(buf, static_cast<size_t>(n));
  }

  // QEMU exited. Read what it left in the sockets first: an Exit frame may be among it.
  void vm_ended() {
    int status = vm_.reap();
    while (read_channel()) {
    }
    if (finished_) return;
    while (console_) read_console();
    while (qemu_stderr_open_) read_qemu_stderr();
    if (!console_partial_.empty()) console_lines_.push_back(console_partial_);
    if (phase_ == Phase::kPoweringOff) {
      finished_ = true;  // the normal end: the agent reported and rebooted
      return;
    }
    fail(RelayResult::Kind::kVmFailed, kExitFailure, explain_vm_end(status));
  }

  std::string explain_vm_end(int status) {
    for (const auto& line : console_lines_) {
      auto pos = line.find("Kernel panic");
      if (pos != std::string::npos) return "the guest kernel panicked: " + line.substr(pos);
    }
    std::string first_error;
    for (const auto& line : split(qemu_stderr_, '\n')) {
      if (!trim(line).empty()) {
        first_error = std::string(trim(line));
        break;
      }
    }
    std::string when =
        phase_ == Phase::kBooting ? "before the guest started" : "before the command finished";
    if (WIFSIGNALED(status)) return "QEMU " + describe_wait_status(status) + " " + when;
    if (!first_error.empty()) return "QEMU failed " + when + ": " + first_error;
    if (WEXITSTATUS(status) != 0) return "QEMU " + describe_wait_status(status) + " " + when;
    return "the VM stopped " + when + " (the guest rebooted or powered off)";
  }

  // ---- signals and timers

  void read_signals() {
    struct signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGWINCH) {
        if (options_.tty && phase_ == Phase::kRunning) send_winsize();
        continue;
      }
      if (phase_ == Phase::kPoweringOff) continue;  // the command has already ended
      if (phase_ == Phase::kBooting) {
        // Nothing runs yet that could take the signal: the run ends here, as a command
        // killed by it would.
        fail(RelayResult::Kind::kInterrupted, 128 + sig, "");
        return;
      }
      if (++signal_counts_[sig] >= kSignalsToForce) {
        fail(RelayResult::Kind::kInterrupted, 128 + sig,
             "stopped the VM after " + std::to_string(kSignalsToForce) + " " + sigabbrev_np(sig) +
                 " signals the command did not end on");
        return;
      }
      queue(FrameType::kSignal, 0, protocol::encode_u32(static_cast<uint32_t>(sig)));
    }
  }

  void boot_timer_fired() {
    uint64_t count;
    (void)!::read(boot_timer_.get(), &count, sizeof count);
    if (phase_ == Phase::kBooting) {
      fail(RelayResult::Kind::kBootTimeout, kExitFailure,
           "the VM did not start within " + format_duration(options_.boot_timeout) +
               "; see the kernel's last lines below, or run again with --console");
    } else if (phase_ == Phase::kPoweringOff) {
      finished_ = true;  // the command's status is known; QEMU is killed on the way out
    }
  }

  void fail(RelayResult::Kind kind, int exit_code, std::string message) {
    result_.kind = kind;
    result_.exit_code = exit_code;
    result_.message = std::move(message);
    finished_ = true;
  }

  Vm& vm_;
  Fd channel_;
  Fd console_;
  RunSpec spec_;
  RelayOptions options_;
  Fd epoll_;
  Fd signals_;
  Fd boot_timer_;  // the boot watchdog, then the power-off grace
  Fd run_timer_;
  InputPump stdin_;
  OutputPump stdout_;
  OutputPump stderr_;
  std::map<int, uint32_t> interests_;

  Phase phase_ = Phase::kBooting;
  bool finished_ = false;
  Clock::time_point start_;
  RelayResult result_;

  std::string out_;
  size_t out_offset_ = 0;
  protocol::FrameReader reader_;
  uint32_t inflight_ = 0;  // stdin bytes sent and not yet credited back
  bool stdin_done_ = false;
  bool closed_sent_[3] = {false, false, false};
  std::map<int, int> signal_counts_;

  std::deque<std::string> console_lines_;
  std::string console_partial_;
  bool qemu_stderr_open_ = true;
  std::string qemu_stderr_;
};

}  // namespace

sigset_t relay_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&set, sig);
  return set;
}

RelayResult relay_vm(Vm& vm, Fd channel, Fd console, RunSpec spec, const RelayOptions& options) {
  return Relay(vm, std::move(channel), std::move(console), std::move(spec), options).run();
}

}  // namespace execvm
