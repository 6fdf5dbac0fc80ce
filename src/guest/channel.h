// The guest's end of the framed channel: the virtio-serial port, what waits to go out on it and
// its frame reader.
//
// What goes out is a queue of segments: bytes (frames built in memory), or a payload to be
// spliced straight from a pipe into the port. Splicing moves the pipe's pages into the virtqueue
// without copying them: under TCG every copy in the guest is slow, and the command's output is
// most of what crosses the channel.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "protocol/frame.h"
#include "util/fd.h"

namespace execvm::guest {

class Channel {
 public:
  explicit Channel(Fd port) : port_(std::move(port)) {}

  int fd() const { return port_.get(); }

  void queue(protocol::FrameType type, uint8_t stream, std::string_view payload);
  void queue(protocol::FrameType type, std::string_view payload = {}) { queue(type, 0, payload); }
  // Queues a frame whose LENGTH-byte payload is spliced from PIPE when its turn comes. PIPE
  // must hold at least LENGTH bytes that nothing else reads.
  void queue_splice(protocol::FrameType type, uint8_t stream, int pipe, size_t length);
  // Whether a splice from PIPE is still queued (its bytes are then not to be counted again).
  bool splicing(int pipe) const;
  // Bytes queued and not yet written, spliced payloads included.
  size_t pending() const { return pending_; }

  // Writes what the port takes now. Returns false when the host is gone.
  bool flush_some();
  // Reads what the port has now into the frame reader. Returns false when the host is gone.
  bool read_some();
  // The next complete frame read so far. Throws ProtocolError on garbage.
  std::optional<protocol::Frame> next() { return reader_.next(); }

  // Blocking helpers for the phases before and after the relay.
  void flush_all();
  protocol::Frame receive();

 private:
  struct Segment {
    std::string bytes;  // a run of frames, or the header before a splice
    size_t offset = 0;  // bytes already written
    int pipe = -1;      // then LEFT bytes to splice from PIPE
    size_t left = 0;
  };

  // Waits until the port is ready for EVENTS, or briefly: a wake-up on a virtio port can be lost,
  // so the caller retries rather than trusting one poll (NOTES.md).
  void wait(short events);

  Fd port_;
  std::deque<Segment> out_;
  size_t pending_ = 0;
  protocol::FrameReader reader_;
};

}  // namespace execvm::guest
