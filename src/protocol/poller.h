// Poller: an epoll set whose interest in each descriptor follows what its loop wants this round.
// Both relays (host and guest) are one loop over one of these.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <map>

#include "util/fd.h"

namespace execvm {

class Poller {
 public:
  Poller();

  // Watches FD for EVENTS (EPOLLIN, EPOLLOUT); 0 takes it out of the set (registered, a hung-up
  // descriptor would be reported even so). FD < 0 is ignored.
  void want(int fd, uint32_t events);
  void forget(int fd);
  // Waits up to TIMEOUT_MS (-1: no limit) and returns how many of EVENTS are filled in; 0 on a
  // timeout or an interrupted wait. Each event's data.fd is the descriptor.
  int wait(struct epoll_event* events, int max, int timeout_ms);

 private:
  Fd epoll_;
  std::map<int, uint32_t> current_;
};

}  // namespace execvm
