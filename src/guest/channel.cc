#include "guest/channel.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"

namespace execvm::guest {

bool Channel::flush_some() {
  while (out_offset_ < out_.size()) {
    ssize_t n = ::write(port_.get(), out_.data() + out_offset_, out_.size() - out_offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return false;
    }
    out_offset_ += static_cast<size_t>(n);
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  } else if (out_offset_ > (1 << 20)) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
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
  while (out_offset_ < out_.size()) {
    if (!flush_some()) throw Error("the host closed the channel");
    if (out_offset_ < out_.size()) wait(POLLOUT);
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
