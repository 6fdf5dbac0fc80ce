#include "util/interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <iterator>
#include <mutex>

#include "util/error.h"

namespace execvm {

namespace {

// The signal that arrived while an InterruptGuard was alive. Global because a signal handler can
// reach nothing else.
volatile sig_atomic_t g_signal = 0;
// Guards alive: the first installs the handlers and makes the pipe, the last restores what was
// there and closes it; under the mutex.
std::mutex g_mutex;
int g_depth = 0;
struct sigaction g_previous[std::size(kInterruptSignals)];
int g_pipe[2] = {-1, -1};
std::atomic<int> g_pipe_write{-1};  // what the handler writes to

void on_signal(int sig) {
  if (!g_signal) g_signal = sig;
  int saved = errno;
  int fd = g_pipe_write.load();
  if (fd >= 0) (void)!::write(fd, "x", 1);
  errno = saved;
}

std::string signal_name(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "a signal";
}

}  // namespace

InterruptGuard::InterruptGuard(std::string what) : what_(std::move(what)) {
  std::lock_guard lock(g_mutex);
  if (g_depth > 0) {
    ++g_depth;
    return;
  }
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) < 0) throw_errno("pipe");
  ++g_depth;
  g_pipe_write = g_pipe[1];
  g_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  for (size_t i = 0; i < std::size(kInterruptSignals); ++i) {
    ::sigaction(kInterruptSignals[i], nullptr, &g_previous[i]);
    if (g_previous[i].sa_handler == SIG_IGN && !(g_previous[i].sa_flags & SA_SIGINFO)) continue;
    ::sigaction(kInterruptSignals[i], &action, nullptr);
  }
}

InterruptGuard::~InterruptGuard() {
  std::lock_guard lock(g_mutex);
  if (--g_depth > 0) return;
  for (size_t i = 0; i < std::size(kInterruptSignals); ++i)
    ::sigaction(kInterruptSignals[i], &g_previous[i], nullptr);
  g_pipe_write = -1;
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
  g_signal = 0;  // what arrived was for the guarded work only
}

int InterruptGuard::signal() const {
  return g_signal;
}

int InterruptGuard::fd() const {
  return g_pipe[0];
}

void InterruptGuard::check() const {
  int sig = g_signal;
  if (sig) throw Error(what_ + " was interrupted by " + signal_name(sig), "", 128 + sig);
}

int interrupted() {
  return g_signal;
}

void throw_if_interrupted() {
  int sig = g_signal;
  if (sig) throw Error("interrupted by " + signal_name(sig), "", 128 + sig);
}

}  // namespace execvm
