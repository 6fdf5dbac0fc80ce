// A progress bar for long work, on a terminal only: it appears once the work has taken longer
// than a second (quick work shows nothing), redraws at most ten times a second, and is erased
// when the work ends, leaving the terminal as it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace execvm {

class ProgressBar {
 public:
  // Draws on FD when FD is a terminal; WHAT names the work ("converting image alpine").
  ProgressBar(int fd, std::string what);
  ~ProgressBar();  // erases the bar, if it was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // DONE of TOTAL units (bytes) so far; TOTAL 0 when unknown. Cheap when nothing is drawn.
  void update(uint64_t done, uint64_t total);

  // The line the bar would draw for DONE of TOTAL after SECONDS, WIDTH columns at most.
  static std::string line(const std::string& what, uint64_t done, uint64_t total, double seconds,
                          unsigned width);

 private:
  int fd_;
  bool terminal_;
  std::string what_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

}  // namespace execvm
