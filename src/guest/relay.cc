#include "guest/relay.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "util/error.h"

namespace execvm::guest {

using protocol::FrameType;

namespace {

// Stop reading the command's output while this much is waiting for the host: back-pressure.
constexpr size_t kHighWater = 1 << 20;
constexpr size_t kChunk = 64 * 1024;
// The most one frame splices from a pipe: a pipe holds 64 KiB unless its writer enlarged it.
constexpr size_t kMaxSplice = 1 << 20;
// Return stdin credit in batches, or as soon as the command has taken everything.
constexpr uint32_t kCreditBatch = 64 * 1024;

// Keeps an epoll set's interest per fd in step with what the loop wants this round.
class Interests {
 public:
  Interests() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!epoll_) throw_errno("epoll_create1");
  }
  // Events 0 takes FD out of the set: registered, a hung-up fd would be reported even so.
  void want(int fd, uint32_t events) {
    if (fd < 0) return;
    if (events == 0) return forget(fd);
    auto it = current_.find(fd);
    if (it != current_.end() && it->second == events) return;
    struct epoll_event ev {};
    ev.events = events;
    ev.data.fd = fd;
    int op = it == current_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epoll_.get(), op, fd, &ev) < 0) throw_errno("epoll_ctl");
    current_[fd] = events;
  }
  void forget(int fd) {
    if (current_.erase(fd)) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  }
  int wait(struct epoll_event* events, int max, int timeout_ms) {
    int n = ::epoll_wait(epoll_.get(), events, max, timeout_ms);
    if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
    return n < 0 ? 0 : n;
  }

 private:
  Fd epoll_;
  std::map<int, uint32_t> current_;
};

class Relay {
 public:
  Relay(Channel& channel, Child& child, int sigchld_fd)
      : channel_(channel), child_(child), sigchld_fd_(sigchld_fd) {
    out_[protocol::kStdout].fd = child.stdout_fd();
    out_[protocol::kStderr].fd = child.stderr_pipe ? child.stderr_pipe.get() : -1;
    out_[protocol::kStdout].shared = child.terminal.valid();
    stdin_fd_ = child.stdin_fd();
    for (auto& o : out_) {
      if (o.fd < 0 || o.shared) continue;
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) throw_errno("pipe");
      o.mid_read.reset(fds[0]);
      o.mid_write.reset(fds[1]);
      ::fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(kMaxSplice));
    }
  }

  protocol::ExitStatus run() {
    struct epoll_event events[8];
    while (!finished()) {
      // Frames may already be buffered (they came with the spec): handle them before sleeping.
      while (auto frame = channel_.next()) handle(*frame);
      pump_stdin();
      bool room = channel_.pending() < kHighWater;
      interests_.want(channel_.fd(), EPOLLIN | (channel_.pending() ? uint32_t{EPOLLOUT} : 0u));
      interests_.want(sigchld_fd_, EPOLLIN);
      for (auto& o : out_) {
        if (o.fd >= 0 && !o.shared)
          interests_.want(o.fd, room && !(o.mid_read && channel_.splicing(o.mid_read.get()))
                                    ? uint32_t{EPOLLIN}
                                    : 0u);
      }
      if (out_[protocol::kStdout].shared && stdin_fd_ >= 0) {
        // A terminal is stdin and stdout at once.
        interests_.want(stdin_fd_, (room ? uint32_t{EPOLLIN} : 0u) |
                                       (stdin_buf_.empty() ? 0u : uint32_t{EPOLLOUT}));
      } else if (stdin_fd_ >= 0) {
        interests_.want(stdin_fd_, stdin_buf_.empty() ? 0u : uint32_t{EPOLLOUT});
      }
      // A port's wake-up can be lost (NOTES.md): retry writes on a short timer, never trust one.
      int n = interests_.wait(events, 8, channel_.pending() ? 20 : -1);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == sigchld_fd_) reap();
      }
      if (!channel_.read_some()) throw Error("the host closed the channel");
      while (auto frame = channel_.next()) handle(*frame);
      for (int s : {protocol::kStdout, protocol::kStderr}) pump_output(s);
      pump_stdin();
      if (pending_credit_ && (pending_credit_ >= kCreditBatch || stdin_buf_.empty())) {
        channel_.queue(FrameType::kCredit, protocol::encode_u32(pending_credit_));
        pending_credit_ = 0;
      }
      if (!channel_.flush_some()) throw Error("the host closed the channel");
    }
    return status_;
  }

 private:
  struct Output {
    int fd = -1;
    bool shared = false;  // the terminal, which is stdin too: one fd polled for both
    // After the command exited: how much more to read at most before giving up on the stream
    // (a background process may hold it open and keep writing).
    ssize_t budget = -1;
    bool close_requested = false;  // the host's reader is gone
    // The agent's own pipe between the command's and the port (see pump_output).
    Fd mid_read, mid_write;
  };

  bool finished() const {
    return exited_ && out_[protocol::kStdout].fd < 0 && out_[protocol::kStderr].fd < 0;
  }

  void reap() {
    struct signalfd_siginfo info;
    while (::read(sigchld_fd_, &info, sizeof info) > 0) {
    }
    for (;;) {
      int status;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid != child_.pid) continue;
      exited_ = true;
      status_ = WIFSIGNALED(status) ? protocol::ExitStatus{true, WTERMSIG(status)}
                                    : protocol::ExitStatus{false, WEXITSTATUS(status)};
      // Everything the command wrote is now in its pipes; take that much and no more.
      for (auto& o : out_) {
        if (o.fd < 0) continue;
        int available = 0;
        ::ioctl(o.fd, FIONREAD, &available);
        o.budget = available + static_cast<ssize_t>(kHighWater);
      }
    }
  }

  void close_output(int stream) {
    Output& o = out_[stream];
    if (o.fd < 0) return;
    interests_.forget(o.fd);
    if (o.fd == stdin_fd_) {
      // The terminal: stdin goes with it.
      stdin_fd_ = -1;
      stdin_buf_.clear();
    }
    o.fd = -1;
    if (stream == protocol::kStdout && child_.terminal) child_.terminal.reset();
    if (stream == protocol::kStdout) child_.stdout_pipe.reset();
    if (stream == protocol::kStderr) child_.stderr_pipe.reset();
    channel_.queue(FrameType::kEof, static_cast<uint8_t>(stream), {});
  }

  void pump_output(int stream) {
    Output& o = out_[stream];
    char buf[kChunk];
    while (o.fd >= 0 && channel_.pending() < kHighWater &&
           !(o.mid_read && channel_.splicing(o.mid_read.get()))) {
      if (o.close_requested) return close_output(stream);
      size_t want = kMaxSplice;
      if (o.budget >= 0) want = std::min(want, static_cast<size_t>(o.budget));
      if (want == 0) return close_output(stream);
      if (o.mid_write) {
        // A pipe: its pages go to the port without a copy (see Channel), by way of the agent's
        // own pipe. Splicing into the port must take all that its source pipe holds (the
        // virtio console driver walks every buffer of the pipe otherwise and crashes), and only
        // a pipe nobody else writes to holds exactly what is spliced.
        ssize_t moved = ::splice(o.fd, nullptr, o.mid_write.get(), nullptr, want,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (moved > 0) {
          channel_.queue_splice(FrameType::kData, static_cast<uint8_t>(stream), o.mid_read.get(),
                                static_cast<size_t>(moved));
          if (o.budget >= 0) o.budget -= moved;
          continue;
        }
        if (moved < 0 && errno == EINTR) continue;
        if (moved < 0 && errno == EAGAIN && !exited_) return;
        if (moved < 0 && errno != EAGAIN) {
          // Not a pipe after all: copy it as below.
          o.mid_read.reset();
          o.mid_write.reset();
          continue;
        }
        // End of file, or nothing left after the command exited.
        close_output(stream);
        continue;
      }
      ssize_t n = ::read(o.fd, buf, std::min(want, sizeof buf));
      if (n > 0) {
        channel_.queue(FrameType::kData, static_cast<uint8_t>(stream),
                       std::string_view(buf, static_cast<size_t>(n)));
        if (o.budget >= 0) o.budget -= n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // EAGAIN while the command runs: later. After it exited: it is all here.
      if (n < 0 && errno == EAGAIN && !exited_) return;
      // End of file, EIO from a terminal whose last user left, EAGAIN after exit, or budget.
      close_output(stream);
    }
  }

  void pump_stdin() {
    while (stdin_fd_ >= 0 && !stdin_buf_.empty()) {
      ssize_t n = ::write(stdin_fd_, stdin_buf_.data(), stdin_buf_.size());
      if (n > 0) {
        stdin_buf_.erase(0, static_cast<size_t>(n));
        pending_credit_ += static_cast<uint32_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // The command closed its stdin (EPIPE): what it did not take is dropped, as locally.
      drop_stdin();
    }
    if (stdin_fd_ < 0 || !stdin_eof_ || !stdin_buf_.empty()) return;
    if (!child_.terminal) {
      drop_stdin();
    } else if (!eof_typed_) {
      // The caller's terminal went away: type end-of-file, as a hung-up terminal ends input.
      eof_typed_ = true;
      struct termios t;
      if (::tcgetattr(child_.terminal.get(), &t) == 0) {
        char veof = static_cast<char>(t.c_cc[VEOF]);
        (void)!::write(child_.terminal.get(), &veof, 1);
      }
    }
  }

  void drop_stdin() {
    pending_credit_ += static_cast<uint32_t>(stdin_buf_.size());
    stdin_buf_.clear();
    if (child_.terminal) return;  // the terminal stays for output
    interests_.forget(stdin_fd_);
    child_.stdin_pipe.reset();
    stdin_fd_ = -1;
  }

  void handle(const protocol::Frame& frame) {
    switch (frame.type) {
      case FrameType::kData:
        if (frame.stream != protocol::kStdin)
          throw protocol::ProtocolError("data for stream " + std::to_string(frame.stream));
        if (stdin_fd_ >= 0) {
          stdin_buf_ += frame.payload;
        } else {
          pending_credit_ += static_cast<uint32_t>(frame.payload.size());
        }
        break;
      case FrameType::kEof:
        stdin_eof_ = true;
        break;
      case FrameType::kClose:
        // Closed once no splice from it is under way (its header promised those bytes).
        if (frame.stream == protocol::kStdout || frame.stream == protocol::kStderr)
          out_[frame.stream].close_requested = true;
        break;
      case FrameType::kSignal: {
        int sig = static_cast<int>(protocol::decode_u32(frame.payload));
        if (!exited_ && sig > 0 && sig < NSIG) ::kill(child_.pid, sig);
        break;
      }
      case FrameType::kWinsize:
        if (child_.terminal) {
          auto size = protocol::decode_winsize(frame.payload);
          struct winsize ws {};
          ws.ws_row = size.rows;
          ws.ws_col = size.cols;
          ::ioctl(child_.terminal.get(), TIOCSWINSZ, &ws);
        }
        break;
      default:
        throw protocol::ProtocolError(std::string("unexpected ") +
                                      protocol::frame_type_name(frame.type) + " frame");
    }
  }

  Channel& channel_;
  Child& child_;
  int sigchld_fd_;
  Interests interests_;
  Output out_[3];
  int stdin_fd_ = -1;
  std::string stdin_buf_;
  bool stdin_eof_ = false;
  bool eof_typed_ = false;
  uint32_t pending_credit_ = 0;
  bool exited_ = false;
  protocol::ExitStatus status_;
};

}  // namespace

protocol::ExitStatus relay(Channel& channel, Child& child, int sigchld_fd) {
  return Relay(channel, child, sigchld_fd).run();
}

}  // namespace execvm::guest
