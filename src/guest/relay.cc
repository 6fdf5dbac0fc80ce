#include "guest/relay.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "protocol/poller.h"
#include "protocol/stdin_window.h"
#include "util/error.h"

namespace execvm::guest {

using protocol::FrameType;

namespace {

// Stop reading the command's output while this much is waiting for the host: back-pressure.
constexpr size_t kHighWater = 1 << 20;
constexpr size_t kChunk = 64 * 1024;
// The most one frame splices from a pipe: a pipe holds 64 KiB unless its writer enlarged it.
constexpr size_t kMaxSplice = 1 << 20;

class Relay {
 public:
  Relay(FrameChannel& channel, Child& child, int sigchld_fd)
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
    // The host hears of each output's end; one the command does not have (stderr on the
    // terminal, or merged into stdout) ends at once.
    if (out_[protocol::kStderr].fd < 0) final_frame(FrameType::kEof, protocol::kStderr);
    window_ = child.terminal ? kStdinFirstWindow : pipe_capacity();
  }

  void run() {
    struct epoll_event events[8];
    grant_stdin();
    while (!(exited_ && out_[protocol::kStdout].fd < 0 && out_[protocol::kStderr].fd < 0)) {
      // Frames may already be buffered (they came with the spec): handle them before sleeping.
      while (auto frame = channel_.next()) handle(*frame);
      pump_stdin();
      watch();
      // A port's wake-up can be lost (measured): retry writes on a short timer, never trust one.
      int n = poller_.wait(events, 8, channel_.pending() ? 20 : -1);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == sigchld_fd_) reap();
      }
      if (channel_.read_some() == FrameChannel::Read::kClosed)
        throw Error("the host closed the channel");
      while (auto frame = channel_.next()) handle(*frame);
      for (int s : {protocol::kStdout, protocol::kStderr}) pump_output(s);
      pump_stdin();
      grant_stdin();
      if (!channel_.flush_some()) throw Error("the host closed the channel");
    }
  }

 private:
  struct Output {
    int fd = -1;
    bool shared = false;           // the terminal, which is stdin too: one fd polled for both
    bool close_requested = false;  // the host's reader is gone
    // The agent's own pipe between the command's and the port (see pump_output).
    Fd mid_read, mid_write;
  };

  void watch() {
    bool room = channel_.pending() < kHighWater;
    poller_.want(channel_.fd(), EPOLLIN | (channel_.pending() ? uint32_t{EPOLLOUT} : 0u));
    poller_.want(sigchld_fd_, EPOLLIN);
    for (auto& o : out_) {
      if (o.fd >= 0 && !o.shared)
        poller_.want(o.fd, room && !(o.mid_read && channel_.splicing(o.mid_read.get()))
                               ? uint32_t{EPOLLIN}
                               : 0u);
    }
    uint32_t in = 0;
    if (out_[protocol::kStdout].shared && room) in = EPOLLIN;  // a terminal is stdin and stdout
    // A pipe reports room while it is not full; the command's read from a full one wakes this
    // loop to grant more (see StdinGrant), so the pipe is watched only when it is.
    if (stdin_fd_ >= 0 && (stdin_offset_ < stdin_buf_.size() || (!child_.terminal && pipe_full())))
      in |= EPOLLOUT;
    poller_.want(stdin_fd_, in);
  }

  // ---- the command's end

  void reap() {
    struct signalfd_siginfo info;
    while (::read(sigchld_fd_, &info, sizeof info) > 0) {
    }
    for (;;) {
      int status;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid != child_.pid) continue;  // an orphan the agent inherited as PID 1
      exited_ = true;
      protocol::ExitStatus exit = WIFSIGNALED(status)
                                      ? protocol::ExitStatus{true, WTERMSIG(status)}
                                      : protocol::ExitStatus{false, WEXITSTATUS(status)};
      final_frame(FrameType::kExit, 0, protocol::encode_exit(exit));
    }
  }

  // Queues the Exit or an output's Eof. The host acknowledges once it has the three, and then the
  // VM may end at any moment: before the last, what the command wrote to shared filesystems is
  // synced to the host.
  void final_frame(FrameType type, uint8_t stream, std::string_view payload = {}) {
    if (++finals_ == 3) ::sync();
    channel_.queue(type, stream, payload);
  }

  // ---- output

  void close_output(int stream) {
    Output& o = out_[stream];
    if (o.fd < 0) return;
    poller_.forget(o.fd);
    if (o.fd == stdin_fd_) {
      // The terminal: stdin goes with it.
      poller_.forget(stdin_fd_);
      stdin_fd_ = -1;
    }
    o.fd = -1;
    if (stream == protocol::kStdout) {
      child_.terminal.reset();
      child_.stdout_pipe.reset();
    } else {
      child_.stderr_pipe.reset();
    }
    final_frame(FrameType::kEof, static_cast<uint8_t>(stream));
  }

  void pump_output(int stream) {
    Output& o = out_[stream];
    char buf[kChunk];
    while (o.fd >= 0 && channel_.pending() < kHighWater &&
           !(o.mid_read && channel_.splicing(o.mid_read.get()))) {
      if (o.close_requested) return close_output(stream);
      if (o.mid_write) {
        // A pipe: its pages go to the port without a copy (see FrameChannel), by way of the
        // agent's own pipe. Splicing into the port must take all that its source pipe holds (the
        // virtio console driver walks every buffer of the pipe otherwise and crashes), and only
        // a pipe nobody else writes to holds exactly what is spliced.
        ssize_t moved = ::splice(o.fd, nullptr, o.mid_write.get(), nullptr, kMaxSplice,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (moved > 0) {
          channel_.queue_splice(FrameType::kData, static_cast<uint8_t>(stream), o.mid_read.get(),
                                static_cast<size_t>(moved));
          continue;
        }
        if (moved < 0 && errno == EINTR) continue;
        if (moved < 0 && errno == EAGAIN) return;
        if (moved < 0) {
          // Not a pipe after all: copy it as below.
          o.mid_read.reset();
          o.mid_write.reset();
          continue;
        }
        close_output(stream);  // every writer closed it
        continue;
      }
      ssize_t n = ::read(o.fd, buf, sizeof buf);
      if (n > 0) {
        channel_.queue(FrameType::kData, static_cast<uint8_t>(stream),
                       std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // End of file, or EIO from a terminal whose last user left.
      close_output(stream);
    }
  }

  // ---- stdin

  size_t pipe_capacity() const {
    int size = ::fcntl(stdin_fd_, F_GETPIPE_SZ);
    return size > 0 ? static_cast<size_t>(size) : kStdinFirstWindow;
  }

  // Bytes written into the command's stdin pipe that it has not read yet.
  uint64_t unread() const {
    int queued = 0;
    if (child_.terminal || stdin_fd_ < 0 || ::ioctl(stdin_fd_, FIONREAD, &queued) < 0) return 0;
    return static_cast<uint64_t>(queued);
  }

  bool pipe_full() const { return unread() >= window_; }

  void pump_stdin() {
    while (stdin_fd_ >= 0 && stdin_offset_ < stdin_buf_.size()) {
      ssize_t n =
          ::write(stdin_fd_, stdin_buf_.data() + stdin_offset_, stdin_buf_.size() - stdin_offset_);
      if (n > 0) {
        stdin_offset_ += static_cast<size_t>(n);
        written_ += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // The command closed its stdin (EPIPE): what it did not take is dropped, as locally, and
      // the host stops reading for it.
      stdin_closed();
      return;
    }
    if (stdin_offset_ == stdin_buf_.size()) {
      stdin_buf_.clear();
      stdin_offset_ = 0;
    }
    if (stdin_fd_ < 0 || !stdin_eof_ || stdin_offset_ < stdin_buf_.size()) return;
    if (!child_.terminal) {
      poller_.forget(stdin_fd_);
      child_.stdin_pipe.reset();
      stdin_fd_ = -1;
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

  void stdin_closed() {
    stdin_buf_.clear();
    stdin_offset_ = 0;
    if (!child_.terminal) {
      poller_.forget(stdin_fd_);
      child_.stdin_pipe.reset();
      stdin_fd_ = -1;
    }
    if (!stdin_eof_) channel_.queue(FrameType::kClose, protocol::kStdin, {});
    stdin_eof_ = true;
  }

  // Grants the host what the command's stdin has room for, growing the window (the pipe) with
  // what the command has read.
  void grant_stdin() {
    if (stdin_fd_ < 0 || stdin_eof_) return;
    uint64_t consumed = written_ - unread();
    if (!child_.terminal) {
      size_t want = StdinGrant::window(consumed);
      if (want > window_) {
        ::fcntl(stdin_fd_, F_SETPIPE_SZ, static_cast<int>(want));
        window_ = std::max(window_, pipe_capacity());
      }
    }
    if (uint32_t credit = grant_.due(written_, consumed, window_))
      channel_.queue(FrameType::kCredit, protocol::encode_u32(credit));
  }

  // ---- frames from the host

  void handle(const protocol::Frame& frame) {
    switch (frame.type) {
      case FrameType::kData:
        if (frame.stream != protocol::kStdin)
          throw protocol::ProtocolError("data for stream " + std::to_string(frame.stream));
        if (stdin_fd_ >= 0 && !stdin_eof_) stdin_buf_ += frame.payload;
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
        // To the command's process group, as a terminal's Ctrl-C reaches a local command and its
        // children; also after the command itself ended, while others hold its output open.
        int sig = static_cast<int>(protocol::decode_u32(frame.payload));
        if (sig > 0 && sig < NSIG) ::kill(-child_.pid, sig);
        break;
      }
      case FrameType::kPing:
        channel_.queue(FrameType::kPong, {});
        break;
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

  FrameChannel& channel_;
  Child& child_;
  int sigchld_fd_;
  Poller poller_;
  Output out_[3];
  int finals_ = 0;
  bool exited_ = false;

  int stdin_fd_ = -1;
  std::string stdin_buf_;  // from the host, not yet written; from STDIN_OFFSET_ on
  size_t stdin_offset_ = 0;
  uint64_t written_ = 0;  // bytes written into the command's stdin
  size_t window_ = kStdinFirstWindow;
  StdinGrant grant_;
  bool stdin_eof_ = false;
  bool eof_typed_ = false;
};

}  // namespace

void relay(FrameChannel& channel, Child& child, int sigchld_fd) {
  Relay(channel, child, sigchld_fd).run();
}

}  // namespace execvm::guest
