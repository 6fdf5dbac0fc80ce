// The caller's stdin, stdout and stderr, each served by a thread doing plain blocking I/O.
//
// execvm never sets O_NONBLOCK on the caller's descriptors: they are shared with the rest of a
// shell pipeline, which would see the flag too (QEMU does that to descriptors it is given, which
// is why they go through execvm). Blocking I/O on threads keeps them as they are, and the relay
// hears of progress through an eventfd. A thread blocked in read(2) or write(2) cannot be woken,
// so each pump's state is shared with its thread, which may outlive the pump.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace execvm {

// Reads FD on a thread, only as much as it is asked for. A terminal is read only while execvm is
// in its foreground process group: the kernel stops a background job that reads its terminal.
class InputPump {
 public:
  explicit InputPump(int fd);
  ~InputPump();  // stops reading; a read under way ends on its own
  InputPump(const InputPump&) = delete;
  InputPump& operator=(const InputPump&) = delete;

  // Readable (eventfd) when something was read or the input ended.
  int event_fd() const;
  // Asks for up to N bytes more than asked so far.
  void request(size_t n);
  // What was read and not yet taken.
  std::string take();
  // The input ended and everything read was taken.
  bool finished() const;
  // Execvm may have been moved to the foreground (SIGCONT): look again.
  void wake();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Writes to FD on a thread, in order, everything pushed.
class OutputPump {
 public:
  explicit OutputPump(int fd);
  ~OutputPump();  // finish()
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  void push(std::string data);
  // Bytes pushed and not yet written.
  size_t queued() const;
  // The reader is gone (EPIPE) or the fd failed; what is pushed from now on is dropped.
  bool broken() const;
  // Readable (eventfd) after each write, so the relay sees queued() fall, and on a break.
  int event_fd() const;
  // Waits until everything pushed is written or the output broke, but no longer than GRACE when
  // given: a reader that does not read then loses the rest. Returns whether all was written.
  bool finish(std::optional<std::chrono::milliseconds> grace = std::nullopt);

 private:
  struct State;
  std::shared_ptr<State> state_;
  bool finished_ = false;
};

}  // namespace execvm
