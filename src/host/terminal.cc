#include "host/terminal.h"

#include <unistd.h>

namespace execvm {

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
  struct termios raw = saved_;
  ::cfmakeraw(&raw);
  // Keep output processing: the guest's terminal already turns \n into \r\n, and the caller's
  // own output (execvm's messages) stays readable.
  raw.c_oflag = saved_.c_oflag;
  active_ = ::tcsetattr(fd, TCSADRAIN, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

}  // namespace execvm
