#include "util/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr auto kQuiet = std::chrono::seconds(1);
constexpr auto kRedraw = std::chrono::milliseconds(100);

}  // namespace

ProgressBar::ProgressBar(int fd, std::string what)
    : fd_(fd),
      terminal_(::isatty(fd) == 1),
      what_(std::move(what)),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

ProgressBar::~ProgressBar() {
  if (drawn_) {
    try {
      write_all(fd_, "\r\033[K");
    } catch (...) {
    }
  }
}

std::string ProgressBar::line(const std::string& what, uint64_t done, uint64_t total,
                              double seconds, unsigned width) {
  char rate[32];
  snprintf(rate, sizeof rate, "%.0f MB/s", seconds > 0 ? done / seconds / 1e6 : 0.0);
  std::string amount = format_mib(done) + (total ? " of " + format_mib(total) : "");
  std::string tail = " " + amount + ", " + rate;
  std::string head = what + " ";
  if (total && head.size() + tail.size() + 12 <= width) {
    size_t bar = std::min<size_t>(40, width - head.size() - tail.size() - 2);
    size_t full = static_cast<size_t>(bar * std::min(1.0, double(done) / double(total)));
    head += "[" + std::string(full, '#') + std::string(bar - full, ' ') + "]";
  }
  std::string out = head + tail;
  if (out.size() > width) out.resize(width);
  return out;
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!terminal_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - start_ < kQuiet || (drawn_ && now - last_ < kRedraw)) return;
  last_ = now;
  struct winsize ws {};
  unsigned width = ::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col - 1 : 79;
  double seconds = std::chrono::duration<double>(now - start_).count();
  try {
    write_all(fd_, "\r" + line(what_, done, total, seconds, width) + "\033[K");
    drawn_ = true;
  } catch (...) {
  }
}

}  // namespace execvm
