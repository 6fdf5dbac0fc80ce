#include "protocol/channel.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace execvm {

namespace {

// One read takes this much at most, in pieces of a page: a virtio-serial port returns at most one
// of its page-sized buffers per read(2), and a vector of pages lets one system call take many
// (under TCG each system call costs).
constexpr size_t kPage = 4096;
constexpr size_t kReadPages = 16;

}  // namespace

void FrameChannel::queue(protocol::FrameType type, uint8_t stream, std::string_view payload) {
  if (out_.empty() || out_.back().pipe >= 0) out_.emplace_back();
  size_t before = out_.back().bytes.size();
  protocol::append_frame(out_.back().bytes, type, stream, payload);
  pending_ += out_.back().bytes.size() - before;
}

void FrameChannel::queue_splice(protocol::FrameType type, uint8_t stream, int pipe, size_t length) {
  if (out_.empty() || out_.back().pipe >= 0) out_.emplace_back();
  Segment& header = out_.back();
  size_t before = header.bytes.size();
  protocol::append_header(header.bytes, type, stream, length);
  header.pipe = pipe;
  header.left = length;
  pending_ += header.bytes.size() - before + length;
}

bool FrameChannel::splicing(int pipe) const {
  for (const auto& s : out_)
    if (s.pipe == pipe && s.left) return true;
  return false;
}

bool FrameChannel::flush_some() {
  while (!out_.empty()) {
    Segment& s = out_.front();
    ssize_t n;
    if (s.offset < s.bytes.size()) {
      n = ::write(fd_, s.bytes.data() + s.offset, s.bytes.size() - s.offset);
      if (n > 0) s.offset += static_cast<size_t>(n);
    } else if (s.left) {
      n = ::splice(s.pipe, nullptr, fd_, nullptr, s.left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n == 0) return false;  // the pipe holds less than promised: a broken invariant
      if (n > 0) s.left -= static_cast<size_t>(n);
    } else {
      out_.pop_front();
      continue;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      return false;
    }
    pending_ -= static_cast<size_t>(n);
  }
  return true;
}

FrameChannel::Read FrameChannel::read_some(size_t max) {
  char buf[kPage * kReadPages];
  struct iovec pages[kReadPages];
  for (size_t i = 0; i < kReadPages; ++i) pages[i] = {buf + i * kPage, kPage};
  size_t total = 0;
  while (total < max) {
    ssize_t n = ::readv(fd_, pages, kReadPages);
    if (n > 0) {
      reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
      total += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Read::kDrained;
    return Read::kClosed;
  }
  return Read::kMore;
}

}  // namespace execvm
