// RawTerminal: the caller's terminal in raw mode while the command has a terminal of its own in
// the guest, so that keys (Ctrl-C included) go to it, restored however the run ends. Only while
// execvm is in the terminal's foreground process group: a background job that changes its
// terminal's modes is stopped by the kernel. Restore it before printing anything of execvm's.
#pragma once

#include <termios.h>

namespace execvm {

class RawTerminal {
 public:
  explicit RawTerminal(int fd);  // nothing when FD is not a terminal
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  int fd() const { return fd_; }
  // Enters raw mode if execvm is now in the foreground and the terminal is not raw yet (after a
  // SIGCONT: brought to the foreground, or the shell restored its own modes).
  void refresh();

 private:
  int fd_;
  bool active_ = false;
  struct termios saved_ {};
};

}  // namespace execvm
