#include "host/terminal.h"

#include <unistd.h>

namespace execvm {

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
  struct termios raw = saved_;
  // Output processing too is the guest terminal's: it already turns \n into \r\n.
  ::cfmakeraw(&raw);
  active_ = ::tcsetattr(fd, TCSADRAIN, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

}  // namespace execvm
