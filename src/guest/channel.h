// The guest's end of the framed channel: the virtio-serial port, its outgoing buffer and its
// frame reader.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "protocol/frame.h"
#include "util/fd.h"

namespace execvm::guest {

class Channel {
 public:
  explicit Channel(Fd port) : port_(std::move(port)) {}

  int fd() const { return port_.get(); }

  void queue(protocol::FrameType type, uint8_t stream, std::string_view payload) {
    protocol::append_frame(out_, type, stream, payload);
  }
  void queue(protocol::FrameType type, std::string_view payload = {}) { queue(type, 0, payload); }
  size_t pending() const { return out_.size(); }

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
  // Waits until the port is ready for EVENTS, or briefly: a wake-up on a virtio port can be lost,
  // so the caller retries rather than trusting one poll (NOTES.md).
  void wait(short events);

  Fd port_;
  std::string out_;
  size_t out_offset_ = 0;
  protocol::FrameReader reader_;
};

}  // namespace execvm::guest
