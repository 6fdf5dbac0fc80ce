#include "protocol/poller.h"

#include <cerrno>

#include "util/error.h"

namespace execvm {

Poller::Poller() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw_errno("epoll_create1");
}

void Poller::want(int fd, uint32_t events) {
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

void Poller::forget(int fd) {
  if (current_.erase(fd)) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

int Poller::wait(struct epoll_event* events, int max, int timeout_ms) {
  int n = ::epoll_wait(epoll_.get(), events, max, timeout_ms);
  if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
  return n < 0 ? 0 : n;
}

}  // namespace execvm
