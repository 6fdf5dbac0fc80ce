#include "protocol/stdin_window.h"

#include <algorithm>

#include "protocol/frame.h"

namespace execvm {

namespace {
// Smaller grants wait for company, so that a command reading a byte at a time does not cost a
// frame per byte.
constexpr uint64_t kGrantBatch = 16 * 1024;
}  // namespace

void StdinCredit::granted(uint32_t n) {
  if (n > kStdinMaxWindow - room_)
    throw protocol::ProtocolError("stdin credit beyond the largest window");
  room_ += n;
}

size_t StdinGrant::window(uint64_t consumed) {
  size_t window = kStdinFirstWindow;
  while (window < kStdinMaxWindow && window < consumed) window *= 2;
  return window;
}

uint32_t StdinGrant::due(uint64_t written, uint64_t consumed, size_t window) {
  window = std::min(window, kStdinMaxWindow);
  uint64_t target = consumed + window;
  if (target <= granted_) return 0;
  uint64_t more = target - granted_;
  bool in_flight = granted_ > written;
  if (more < kGrantBatch && in_flight) return 0;
  granted_ = target;
  return static_cast<uint32_t>(more);
}

}  // namespace execvm
