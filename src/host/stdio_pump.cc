#include "host/stdio_pump.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "util/error.h"

namespace execvm {

namespace {

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

}  // namespace

// Shared with the reader thread, which may outlive the pump: a blocked read(2) on the caller's
// stdin cannot be interrupted, so the thread is detached and finishes on its own.
struct InputPump::State {
  int fd;
  size_t max_buffered;
  Fd event;
  std::mutex mutex;
  std::condition_variable cv;
  std::string buffer;
  bool eof = false;
  bool stopping = false;
};

InputPump::InputPump(int fd, size_t max_buffered) : state_(std::make_shared<State>()) {
  state_->fd = fd;
  state_->max_buffered = max_buffered;
  state_->event = make_eventfd();
  std::thread([s = state_] {
    char buf[65536];
    for (;;) {
      {
        std::unique_lock lock(s->mutex);
        s->cv.wait(lock, [&] { return s->stopping || s->buffer.size() < s->max_buffered; });
        if (s->stopping) return;
      }
      ssize_t n = ::read(s->fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lock(s->mutex);
      if (n > 0) {
        s->buffer.append(buf, static_cast<size_t>(n));
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

std::string InputPump::take(size_t max) {
  std::lock_guard lock(state_->mutex);
  drain(state_->event.get());
  std::string out = state_->buffer.substr(0, max);
  state_->buffer.erase(0, out.size());
  state_->cv.notify_all();
  if (!state_->buffer.empty() || state_->eof) notify(state_->event.get());
  return out;
}

bool InputPump::finished() const {
  std::lock_guard lock(state_->mutex);
  return state_->eof && state_->buffer.empty();
}

OutputPump::OutputPump(int fd) : fd_(fd), event_(make_eventfd()) {
  thread_ = std::thread([this] { run(); });
}

OutputPump::~OutputPump() {
  finish();
}

void OutputPump::push(std::string data) {
  if (data.empty()) return;
  std::lock_guard lock(mutex_);
  if (broken_) return;
  queued_ += data.size();
  queue_.push_back(std::move(data));
  cv_.notify_all();
}

size_t OutputPump::queued() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

bool OutputPump::broken() const {
  std::lock_guard lock(mutex_);
  return broken_;
}

int OutputPump::event_fd() const {
  return event_.get();
}

void OutputPump::finish() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void OutputPump::run() {
  for (;;) {
    std::string chunk;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      chunk = std::move(queue_.front());
      queue_.pop_front();
    }
    size_t done = 0;
    bool failed = false;
    while (done < chunk.size()) {
      ssize_t n = ::write(fd_, chunk.data() + done, chunk.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed = true;
        break;
      }
      done += static_cast<size_t>(n);
    }
    std::lock_guard lock(mutex_);
    queued_ -= chunk.size();
    notify(event_.get());
    if (failed) {
      // Nothing more will be written: push() drops from now on.
      broken_ = true;
      for (auto& c : queue_) queued_ -= c.size();
      queue_.clear();
      return;
    }
  }
}

}  // namespace execvm
