// FrameChannel: one end of the framed channel over a non-blocking stream (the host's socket to
// QEMU, the guest's virtio-serial port): what waits to go out, and the frames read so far.
//
// What goes out is a queue of segments: bytes (frames built in memory), or a payload to be
// spliced straight from a pipe. Splicing moves a pipe's pages into the port without copying them:
// under TCG every copy in the guest is slow, and the command's output is most of what crosses.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "protocol/frame.h"

namespace execvm {

class FrameChannel {
 public:
  // FD stays the caller's; it must be non-blocking.
  explicit FrameChannel(int fd) : fd_(fd) {}

  int fd() const { return fd_; }

  void queue(protocol::FrameType type, uint8_t stream, std::string_view payload);
  void queue(protocol::FrameType type, std::string_view payload = {}) { queue(type, 0, payload); }
  // Queues a frame whose LENGTH-byte payload is spliced from PIPE when its turn comes. PIPE must
  // hold at least LENGTH bytes that nothing else reads.
  void queue_splice(protocol::FrameType type, uint8_t stream, int pipe, size_t length);
  // Whether a splice from PIPE is still queued.
  bool splicing(int pipe) const;
  // Bytes queued and not yet written, spliced payloads included.
  size_t pending() const { return pending_; }

  // Writes what the other end takes now. Returns false when the other end is gone.
  bool flush_some();

  enum class Read {
    kDrained,  // nothing more to read for now
    kMore,     // stopped after MAX bytes: there may be more
    kClosed,   // the other end is gone (end of file or an error)
  };
  // Reads up to MAX bytes of what the descriptor has now.
  Read read_some(size_t max = SIZE_MAX);
  // The next complete frame read so far. Throws ProtocolError on garbage.
  std::optional<protocol::Frame> next() { return reader_.next(); }

 private:
  struct Segment {
    std::string bytes;  // a run of frames, or the header before a splice
    size_t offset = 0;  // bytes already written
    int pipe = -1;      // then LEFT bytes to splice from PIPE
    size_t left = 0;
  };

  int fd_;
  std::deque<Segment> out_;
  size_t pending_ = 0;
  protocol::FrameReader reader_;
};

}  // namespace execvm
