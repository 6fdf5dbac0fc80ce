// RawTerminal: puts the caller's terminal in raw mode for the VM's lifetime, so that keys (Ctrl-C
// included) go to the command's terminal in the guest, and restores it however the run ends.
// Restore it before printing anything of execvm's own.
#pragma once

#include <termios.h>

namespace execvm {

class RawTerminal {
 public:
  explicit RawTerminal(int fd);  // does nothing when FD is not a terminal
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  bool active_ = false;
  struct termios saved_ {};
};

}  // namespace execvm
