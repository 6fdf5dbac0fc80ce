// A progress bar for long work, on a terminal only: it appears once the work has taken longer
// than a second (quick work shows nothing), redraws at most ten times a second, and is erased
// when the work ends, leaving the terminal as it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

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

// The progress of several transfers at once, as `docker pull` shows its layers: on a terminal,
// one line per item with its state, bytes, total and rate, redrawn in place at most ten times a
// second; elsewhere one line per finished item ("execvm: pulled sha256:0123456789ab (12.5 MiB)");
// nothing when quiet. Safe to call from several threads.
class MultiProgress {
 public:
  MultiProgress(int fd, bool quiet);
  ~MultiProgress();  // draws the last state, on a terminal
  MultiProgress(const MultiProgress&) = delete;
  MultiProgress& operator=(const MultiProgress&) = delete;

  // A new item NAME of TOTAL bytes (0: unknown), "waiting"; returns its number.
  size_t add(std::string name, uint64_t total);
  // Item ITEM has DONE bytes.
  void update(size_t item, uint64_t done);
  // Item ITEM is over: STATE ("pulled", "cached") is its last word. Elsewhere than a terminal,
  // prints "execvm: STATE NAME (SIZE)".
  void finish(size_t item, const std::string& state);

  // The line of an item, WIDTH columns at most.
  static std::string line(const std::string& name, const std::string& state, uint64_t done,
                          uint64_t total, double seconds, unsigned width);

 private:
  struct Item {
    std::string name, state;
    uint64_t done = 0, total = 0;
    std::chrono::steady_clock::time_point start;
    double seconds = 0;  // once finished
    bool over = false;
  };
  void draw(bool force);

  int fd_;
  bool terminal_, quiet_;
  std::mutex mutex_;
  std::vector<Item> items_;
  size_t drawn_lines_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace execvm
