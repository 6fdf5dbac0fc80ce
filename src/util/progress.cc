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

MultiProgress::MultiProgress(int fd, bool quiet)
    : fd_(fd), terminal_(!quiet && ::isatty(fd) == 1), quiet_(quiet) {}

MultiProgress::~MultiProgress() {
  std::lock_guard<std::mutex> hold(mutex_);
  try {
    draw(true);
  } catch (...) {
  }
}

std::string MultiProgress::line(const std::string& name, const std::string& state, uint64_t done,
                                uint64_t total, double seconds, unsigned width) {
  std::string out = name + "  " + state;
  if (done || total) {
    out += "  " + format_mib(done) + (total ? " of " + format_mib(total) : "");
    if (seconds > 0.05) {
      char rate[32];
      snprintf(rate, sizeof rate, "  %.1f MB/s", done / seconds / 1e6);
      out += rate;
    }
  }
  if (out.size() > width) out.resize(width);
  return out;
}

size_t MultiProgress::add(std::string name, uint64_t total) {
  std::lock_guard<std::mutex> hold(mutex_);
  Item item;
  item.name = std::move(name);
  item.state = "waiting";
  item.total = total;
  item.start = std::chrono::steady_clock::now();
  items_.push_back(std::move(item));
  draw(false);
  return items_.size() - 1;
}

void MultiProgress::update(size_t index, uint64_t done) {
  std::lock_guard<std::mutex> hold(mutex_);
  Item& item = items_.at(index);
  if (item.state == "waiting") {
    item.state = "downloading";
    item.start = std::chrono::steady_clock::now();
  }
  item.done = done;
  draw(false);
}

void MultiProgress::finish(size_t index, const std::string& state) {
  std::lock_guard<std::mutex> hold(mutex_);
  Item& item = items_.at(index);
  item.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - item.start).count();
  item.state = state;
  item.over = true;
  if (!quiet_ && !terminal_) {
    try {
      uint64_t size = item.total ? item.total : item.done;
      write_all(fd_, "execvm: " + state + " " + item.name + " (" + format_mib(size) + ")\n");
    } catch (...) {
    }
  }
  draw(true);
}

void MultiProgress::draw(bool force) {
  if (!terminal_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_ < kRedraw) return;
  last_ = now;
  struct winsize ws {};
  unsigned width = ::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col - 1 : 79;
  std::string out;
  if (drawn_lines_) out += "\033[" + std::to_string(drawn_lines_) + "F";  // up to the first line
  for (const Item& item : items_) {
    double seconds =
        item.over ? item.seconds : std::chrono::duration<double>(now - item.start).count();
    out += line(item.name, item.state, item.done, item.total,
                item.state == "downloading" || item.over ? seconds : 0, width) +
           "\033[K\n";
  }
  drawn_lines_ = items_.size();
  try {
    write_all(fd_, out);
  } catch (...) {
  }
}

}  // namespace execvm
