// The flow of the command's stdin across the channel. The host reads its own stdin only as far as
// the guest has granted with Credit frames, and the guest grants as the command takes what it was
// given: a small window while the command has read little (a command that reads nothing costs its
// caller at most that much of its input), growing with what it has read, up to kStdinMaxWindow.
// The window is the capacity of the command's stdin pipe: when the host has sent all it may, the
// pipe is full, and the command's next read wakes the guest to grant more.
#pragma once

#include <cstddef>
#include <cstdint>

namespace execvm {

inline constexpr size_t kStdinFirstWindow = 64 * 1024;
inline constexpr size_t kStdinMaxWindow = 1 << 20;

// The host's side: how much it may send.
class StdinCredit {
 public:
  size_t room() const { return room_; }
  // N bytes (at most room()) went out.
  void sent(size_t n) { room_ -= n; }
  // A Credit frame of N bytes. Throws ProtocolError when it would let more than the largest
  // window be outstanding.
  void granted(uint32_t n);

 private:
  size_t room_ = 0;
};

// The guest's side: how much to grant.
class StdinGrant {
 public:
  // The window (the stdin pipe's capacity to ask for) once the command has taken CONSUMED bytes:
  // a power of two from kStdinFirstWindow to kStdinMaxWindow.
  static size_t window(uint64_t consumed);
  // The Credit to send now (0: none yet), once WRITTEN bytes went into the command's stdin, of
  // which it has taken CONSUMED, with a window of WINDOW bytes. Small grants wait for company
  // while more is on its way from the host; when nothing is, they go at once.
  uint32_t due(uint64_t written, uint64_t consumed, size_t window);

 private:
  uint64_t granted_ = 0;
};

}  // namespace execvm
