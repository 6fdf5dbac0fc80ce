#include "guest/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"

namespace execvm::guest {

void Channel::queue(protocol::FrameType type, uint8_t stream, std::string_view payload) {
  if (out_.empty() || out_.back().pipe >= 0) out_.emplace_back();
  size_t before = out_.back().bytes.size();
  protocol::append_frame(out_.back().bytes, type, stream, payload);
  pending_ += out_.back().bytes.size() - before;
}

void Channel::queue_splice(protocol::FrameType type, uint8_t stream, int pipe, size_t length) {
  if (out_.empty() || out_.back().pipe >= 0) out_.emplace_back();
  Segment& header = out_.back();
  size_t before = header.bytes.size();
  protocol::append_header(header.bytes, type, stream, length);
  header.pipe = pipe;
  header.left = length;
  pending_ += header.bytes.size() - before + length;
}

bool Channel::splicing(int pipe) const {
  for (const auto& s : out_)
    if (s.pipe == pipe && s.left) return true;
  return false;
}

bool Channel::flush_some() {
  while (!out_.empty()) {
    Segment& s = out_.front();
    ssize_t n;
    if (s.offset < s.bytes.size()) {
      n = ::write(port_.get(), s.bytes.data() + s.offset, s.bytes.size() - s.offset);
      if (n > 0) s.offset += static_cast<size_t>(n);
    } else if (s.left) {
      n = ::splice(s.pipe, nullptr, port_.get(), nullptr, s.left,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n == 0) return false;  // the pipe holds less than promised: a broken invariant
      if (n > 0) s.left -= static_cast<size_t>(n);
    } else {
      out_.pop_front();
      continue;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      return false;
    }
    pending_ -= static_cast<size_t>(n);
  }
  return true;
}

bool Channel::read_some() {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(port_.get(), buf, sizeof buf);
    if (n > 0) {
      reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

void Channel::wait(short events) {
  struct pollfd p {
    port_.get(), events, 0
  };
  // Until the host side connects, the port polls as hung up: do not spin on that.
  if (::poll(&p, 1, 10) == 1 && (p.revents & (events | POLLERR)) == 0) ::usleep(1000);
}

void Channel::flush_all() {
  while (pending_) {
    if (!flush_some()) throw Error("the host closed the channel");
    if (pending_) wait(POLLOUT);
  }
}

protocol::Frame Channel::receive() {
  for (;;) {
    if (auto frame = reader_.next()) return std::move(*frame);
    if (!read_some()) throw Error("the host closed the channel");
    if (auto frame = reader_.next()) return std::move(*frame);
    wait(POLLIN);
  }
}

}  // namespace execvm::guest
