#include "guest/channel.h"

#include <poll.h>
#include <unistd.h>

#include "util/error.h"

namespace execvm::guest {

using protocol::FrameType;

void Port::wait(short events) {
  struct pollfd p {
    port_.get(), events, 0
  };
  // Until the host side connects, the port polls as hung up: do not spin on that.
  if (::poll(&p, 1, 10) == 1 && (p.revents & (events | POLLERR)) == 0) ::usleep(1000);
}

void Port::flush_all() {
  while (channel_.pending()) {
    if (!channel_.flush_some()) throw Error("the host closed the channel");
    if (channel_.pending()) wait(POLLOUT);
  }
}

protocol::Frame Port::receive() {
  for (;;) {
    if (auto frame = channel_.next()) return std::move(*frame);
    if (channel_.read_some() == FrameChannel::Read::kClosed)
      throw Error("the host closed the channel");
    if (auto frame = channel_.next()) return std::move(*frame);
    wait(POLLIN);
  }
}

RunSpec Port::receive_spec(int64_t& realtime_ns) {
  std::string json;
  for (;;) {
    protocol::Frame frame = receive();
    switch (frame.type) {
      case FrameType::kClock:
        realtime_ns = protocol::decode_i64(frame.payload);
        break;
      case FrameType::kSpecPart:
        json += frame.payload;
        break;
      case FrameType::kSpec:
        json += frame.payload;
        return spec_from_json(json);
      default:
        throw protocol::ProtocolError(std::string("expected the spec, got a ") +
                                      protocol::frame_type_name(frame.type) + " frame");
    }
  }
}

void Port::finish() {
  flush_all();
  for (;;) {
    if (receive().type == FrameType::kAck) return;
  }
}

}  // namespace execvm::guest
