#include "host/stdio_pump.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "util/error.h"
#include "util/fd.h"

namespace execvm {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
// How often a background job looks again whether it is in the foreground, besides on SIGCONT.
constexpr std::chrono::milliseconds kForegroundRecheck{250};

Fd make_eventfd() {
  Fd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) throw_errno("eventfd");
  return fd;
}

void notify(int event_fd) {
  uint64_t one = 1;
  (void)!::write(event_fd, &one, sizeof one);
}

void drain(int event_fd) {
  uint64_t count;
  (void)!::read(event_fd, &count, sizeof count);
}

// Whether reading FD now is allowed: it is not a terminal, or execvm is in the terminal's
// foreground process group.
bool may_read(int fd) {
  if (!::isatty(fd)) return true;
  pid_t foreground = ::tcgetpgrp(fd);
  return foreground < 0 || foreground == ::getpgrp();
}

}  // namespace

struct InputPump::State {
  int fd;
  Fd event = make_eventfd();
  std::mutex mutex;
  std::condition_variable cv;
  size_t wanted = 0;  // asked for and not yet read
  std::string buffer;
  bool eof = false;
  bool stopping = false;
};

InputPump::InputPump(int fd) : state_(std::make_shared<State>()) {
  state_->fd = fd;
  std::thread([s = state_] {
    char buf[kReadChunk];
    for (;;) {
      size_t want;
      {
        std::unique_lock lock(s->mutex);
        for (;;) {
          if (s->stopping) return;
          if (s->wanted > 0) {
            lock.unlock();
            bool allowed = may_read(s->fd);
            lock.lock();
            if (allowed) break;
            s->cv.wait_for(lock, kForegroundRecheck);
            continue;
          }
          s->cv.wait(lock);
        }
        want = std::min(s->wanted, sizeof buf);
      }
      ssize_t n = ::read(s->fd, buf, want);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lock(s->mutex);
      if (n > 0) {
        s->buffer.append(buf, static_cast<size_t>(n));
        s->wanted -= std::min(s->wanted, static_cast<size_t>(n));
      } else {
        // End of file, or an fd that cannot be read (closed, a directory): no more input.
        s->eof = true;
      }
      notify(s->event.get());
      if (n <= 0) return;
    }
  }).detach();
}

InputPump::~InputPump() {
  std::lock_guard lock(state_->mutex);
  state_->stopping = true;
  state_->cv.notify_all();
}

int InputPump::event_fd() const {
  return state_->event.get();
}

void InputPump::request(size_t n) {
  if (n == 0) return;
  std::lock_guard lock(state_->mutex);
  state_->wanted += n;
  state_->cv.notify_all();
}

std::string InputPump::take() {
  std::lock_guard lock(state_->mutex);
  drain(state_->event.get());
  return std::exchange(state_->buffer, {});
}

bool InputPump::finished() const {
  std::lock_guard lock(state_->mutex);
  return state_->eof && state_->buffer.empty();
}

void InputPump::wake() {
  std::lock_guard lock(state_->mutex);
  state_->cv.notify_all();
}

struct OutputPump::State {
  int fd;
  Fd event = make_eventfd();
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> queue;
  size_t queued = 0;
  bool broken = false;
  bool closing = false;
  bool done = false;  // the thread has finished
};

OutputPump::OutputPump(int fd) : state_(std::make_shared<State>()) {
  state_->fd = fd;
  std::thread([s = state_] {
    for (;;) {
      std::string chunk;
      {
        std::unique_lock lock(s->mutex);
        s->cv.wait(lock, [&] { return s->closing || !s->queue.empty(); });
        if (s->queue.empty()) {
          s->done = true;
          s->cv.notify_all();
          return;
        }
        chunk = std::move(s->queue.front());
        s->queue.pop_front();
      }
      size_t written = 0;
      bool failed = false;
      while (written < chunk.size()) {
        ssize_t n = ::write(s->fd, chunk.data() + written, chunk.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          failed = true;
          break;
        }
        written += static_cast<size_t>(n);
      }
      std::lock_guard lock(s->mutex);
      s->queued -= chunk.size();
      notify(s->event.get());
      if (failed) {
        // Nothing more will be written: push() drops from now on.
        s->broken = true;
        for (auto& c : s->queue) s->queued -= c.size();
        s->queue.clear();
      }
    }
  }).detach();
}

OutputPump::~OutputPump() {
  if (!finished_) finish();
}

void OutputPump::push(std::string data) {
  if (data.empty()) return;
  std::lock_guard lock(state_->mutex);
  if (state_->broken) return;
  state_->queued += data.size();
  state_->queue.push_back(std::move(data));
  state_->cv.notify_all();
}

size_t OutputPump::queued() const {
  std::lock_guard lock(state_->mutex);
  return state_->queued;
}

bool OutputPump::broken() const {
  std::lock_guard lock(state_->mutex);
  return state_->broken;
}

int OutputPump::event_fd() const {
  return state_->event.get();
}

bool OutputPump::finish(std::optional<std::chrono::milliseconds> grace) {
  finished_ = true;
  std::unique_lock lock(state_->mutex);
  state_->closing = true;
  state_->cv.notify_all();
  auto done = [&] { return state_->done; };
  if (grace) {
    if (!state_->cv.wait_for(lock, *grace, done)) {
      // The reader does not read: what is left is dropped, and the thread, blocked in write(2),
      // ends when the write does (or with the process).
      for (auto& c : state_->queue) state_->queued -= c.size();
      state_->queue.clear();
      return false;
    }
  } else {
    state_->cv.wait(lock, done);
  }
  return !state_->broken;
}

}  // namespace execvm
