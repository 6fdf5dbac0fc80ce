#include "pipeline/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "util/error.h"

namespace execvm::pipeline {

namespace {

// A signal handler has nowhere but globals to write to: these, guarded by the mutex for
// everything but the handler itself.
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
std::mutex mutex;
int guards = 0;
int pipe_fds[2] = {-1, -1};
std::atomic<int> pipe_write{-1};
std::atomic<int> caught{0};
struct sigaction previous[std::size(kSignals)];

void on_signal(int sig) {
  int expected = 0;
  caught.compare_exchange_strong(expected, sig);
  int saved = errno;
  int fd = pipe_write.load();
  if (fd >= 0) (void)!::write(fd, "x", 1);
  errno = saved;
}

}  // namespace

InterruptGuard::InterruptGuard() {
  std::lock_guard lock(mutex);
  if (guards++ > 0) return;
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) {
    --guards;
    throw_errno("pipe");
  }
  caught = 0;
  pipe_write = pipe_fds[1];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < std::size(kSignals); ++i) {
    ::sigaction(kSignals[i], nullptr, &previous[i]);
    // A signal ignored by the caller stays ignored: nobody can have meant it for the stages.
    if (previous[i].sa_handler == SIG_IGN) continue;
    ::sigaction(kSignals[i], &sa, nullptr);
  }
}

InterruptGuard::~InterruptGuard() {
  std::lock_guard lock(mutex);
  if (--guards > 0) return;
  for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &previous[i], nullptr);
  pipe_write = -1;
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  pipe_fds[0] = pipe_fds[1] = -1;
}

int InterruptGuard::fd() const {
  return pipe_fds[0];
}

int InterruptGuard::signal() const {
  return caught.load();
}

}  // namespace execvm::pipeline
