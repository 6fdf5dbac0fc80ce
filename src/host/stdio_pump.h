// The caller's stdin, stdout and stderr, each served by a thread doing plain blocking I/O.
//
// execvm never sets O_NONBLOCK on the caller's descriptors: they are shared with the rest of a
// shell pipeline, which would see the flag too (NOTES.md). Blocking I/O on threads keeps them
// as they are, and the main loop hears of progress through an eventfd.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "util/fd.h"

namespace execvm {

// Reads FD on a thread, holding at most MAX_BUFFERED bytes not yet taken.
class InputPump {
 public:
  InputPump(int fd, size_t max_buffered);
  ~InputPump();
  InputPump(const InputPump&) = delete;
  InputPump& operator=(const InputPump&) = delete;

  // Readable (eventfd) when there is something to take or the input ended.
  int event_fd() const;
  // Up to MAX bytes read so far.
  std::string take(size_t max);
  // The input ended and everything read was taken.
  bool finished() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Writes to FD on a thread, in order, everything pushed.
class OutputPump {
 public:
  explicit OutputPump(int fd);
  ~OutputPump();  // finishes writing, like finish()
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  void push(std::string data);
  // Bytes pushed and not yet written.
  size_t queued() const;
  // The reader is gone (EPIPE) or the fd failed; what is pushed from now on is dropped.
  bool broken() const;
  // Readable (eventfd) after each write, so the main loop sees queued() fall, and on a break.
  int event_fd() const;
  // Waits until everything pushed is written (or the output broke) and stops the thread.
  void finish();

 private:
  void run();

  int fd_;
  Fd event_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_ = 0;
  bool broken_ = false;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace execvm
