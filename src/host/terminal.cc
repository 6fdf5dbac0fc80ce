#include "host/terminal.h"

#include <unistd.h>

namespace execvm {

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  refresh();
}

void RawTerminal::refresh() {
  if (!::isatty(fd_) || ::tcgetpgrp(fd_) != ::getpgrp()) return;
  struct termios now;
  if (::tcgetattr(fd_, &now) < 0) return;
  if (!active_) saved_ = now;
  struct termios raw = now;
  // Output processing too is the guest terminal's: it already turns \n into \r\n.
  ::cfmakeraw(&raw);
  if (active_ && now.c_lflag == raw.c_lflag && now.c_oflag == raw.c_oflag) return;
  if (::tcsetattr(fd_, TCSADRAIN, &raw) == 0) active_ = true;
}

RawTerminal::~RawTerminal() {
  // Only from the foreground (the kernel would stop a background job): a shell that moved execvm
  // to the background has put its own modes back on the terminal.
  if (active_ && ::tcgetpgrp(fd_) == ::getpgrp()) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

}  // namespace execvm
