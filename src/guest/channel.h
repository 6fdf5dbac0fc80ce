// The guest's port to the host: the virtio-serial port and its framed channel, with the blocking
// exchanges of the phases before and after the relay (hello and spec, the final acknowledgement).
#pragma once

#include <string>

#include "protocol/channel.h"
#include "protocol/frame.h"
#include "spec/run_spec.h"
#include "util/fd.h"

namespace execvm::guest {

class Port {
 public:
  explicit Port(Fd port) : port_(std::move(port)), channel_(port_.get()) {}

  FrameChannel& channel() { return channel_; }

  // Writes everything queued. Throws Error when the host is gone.
  void flush_all();
  // The next frame, waiting for it. Throws Error when the host is gone, ProtocolError on garbage.
  protocol::Frame receive();
  // What the host sends after Hello: its clock (into REALTIME_NS) and the RunSpec.
  RunSpec receive_spec(int64_t& realtime_ns);
  // Sends what is queued, then waits for the host's Ack: the host has everything.
  void finish();

 private:
  // Waits until the port is ready for EVENTS, or briefly: a wake-up on a virtio port can be lost,
  // so the caller retries rather than trusting one poll (measured).
  void wait(short events);

  Fd port_;
  FrameChannel channel_;
};

}  // namespace execvm::guest
