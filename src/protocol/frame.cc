#include "protocol/frame.h"

#include <cstring>

#include "util/strings.h"

namespace execvm::protocol {

namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
               static_cast<char>(v >> 24)};
  out.append(b, 4);
}

uint32_t get_u32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

void put_u16(std::string& out, uint16_t v) {
  out += static_cast<char>(v);
  out += static_cast<char>(v >> 8);
}

uint16_t get_u16(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | u[1] << 8);
}

bool known_type(uint8_t t) {
  return t >= static_cast<uint8_t>(FrameType::kHello) &&
         t <= static_cast<uint8_t>(FrameType::kPong);
}

void expect_size(std::string_view payload, size_t size, const char* what) {
  if (payload.size() != size)
    throw ProtocolError(std::string(what) + " payload of " + std::to_string(payload.size()) +
                        " bytes, expected " + std::to_string(size));
}

}  // namespace

const char* frame_type_name(FrameType type) {
  switch (type) {
    case FrameType::kHello:
      return "hello";
    case FrameType::kSpec:
      return "spec";
    case FrameType::kData:
      return "data";
    case FrameType::kEof:
      return "eof";
    case FrameType::kClose:
      return "close";
    case FrameType::kCredit:
      return "credit";
    case FrameType::kSignal:
      return "signal";
    case FrameType::kWinsize:
      return "winsize";
    case FrameType::kExit:
      return "exit";
    case FrameType::kAck:
      return "ack";
    case FrameType::kError:
      return "error";
    case FrameType::kSpecPart:
      return "spec part";
    case FrameType::kClock:
      return "clock";
    case FrameType::kOutput:
      return "output";
    case FrameType::kOutputData:
      return "output data";
    case FrameType::kStarted:
      return "started";
    case FrameType::kPing:
      return "ping";
    case FrameType::kPong:
      return "pong";
  }
  return "unknown";
}

void append_header(std::string& out, FrameType type, uint8_t stream, size_t length) {
  if (length > kMaxPayload)
    throw ProtocolError(std::string(frame_type_name(type)) + " frame of " + std::to_string(length) +
                        " bytes is over the limit of " + std::to_string(kMaxPayload));
  out += static_cast<char>(kMagic);
  out += static_cast<char>(type);
  out += static_cast<char>(stream);
  out += '\0';
  put_u32(out, static_cast<uint32_t>(length));
}

void append_frame(std::string& out, FrameType type, uint8_t stream, std::string_view payload) {
  append_header(out, type, stream, payload.size());
  out.append(payload);
}

std::optional<Frame> FrameReader::next() {
  if (buffered() < kHeaderSize) return std::nullopt;
  const char* h = buffer_.data() + offset_;
  auto byte = [&](int i) { return static_cast<uint8_t>(h[i]); };
  if (byte(0) != kMagic)
    throw ProtocolError("bad frame magic 0x" + hex(std::string_view(h, 1)) +
                        " (stream out of sync)");
  if (!known_type(byte(1))) throw ProtocolError("unknown frame type " + std::to_string(byte(1)));
  if (byte(2) > kStderr) throw ProtocolError("unknown stream " + std::to_string(byte(2)));
  if (byte(3) != 0) throw ProtocolError("reserved header byte is not zero");
  uint32_t length = get_u32(h + 4);
  if (length > kMaxPayload)
    throw ProtocolError("frame of " + std::to_string(length) + " bytes is over the limit");
  if (buffered() < kHeaderSize + length) return std::nullopt;
  Frame frame{static_cast<FrameType>(byte(1)), byte(2), std::string(h + kHeaderSize, length)};
  offset_ += kHeaderSize + length;
  // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > (1 << 16) && offset_ > buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return frame;
}

std::string encode_u32(uint32_t value) {
  std::string out;
  put_u32(out, value);
  return out;
}

uint32_t decode_u32(std::string_view payload) {
  expect_size(payload, 4, "u32");
  return get_u32(payload.data());
}

std::string encode_i64(int64_t value) {
  auto v = static_cast<uint64_t>(value);
  std::string out;
  put_u32(out, static_cast<uint32_t>(v));
  put_u32(out, static_cast<uint32_t>(v >> 32));
  return out;
}

int64_t decode_i64(std::string_view payload) {
  expect_size(payload, 8, "i64");
  return static_cast<int64_t>(uint64_t(get_u32(payload.data())) |
                              uint64_t(get_u32(payload.data() + 4)) << 32);
}

// u8 kind (0 exited, 1 signaled), u32 value.
std::string encode_exit(ExitStatus status) {
  std::string out(1, status.signaled ? '\1' : '\0');
  put_u32(out, static_cast<uint32_t>(status.value));
  return out;
}

ExitStatus decode_exit(std::string_view payload) {
  expect_size(payload, 5, "exit");
  if (payload[0] != 0 && payload[0] != 1) throw ProtocolError("bad exit kind");
  ExitStatus status{payload[0] == 1, static_cast<int>(get_u32(payload.data() + 1))};
  if (status.value < 0 || status.value > 255) throw ProtocolError("exit value out of range");
  return status;
}

std::string encode_winsize(Winsize size) {
  std::string out;
  put_u16(out, size.rows);
  put_u16(out, size.cols);
  return out;
}

Winsize decode_winsize(std::string_view payload) {
  expect_size(payload, 4, "winsize");
  return {get_u16(payload.data()), get_u16(payload.data() + 2)};
}

std::string encode_hello(const Hello& hello) {
  return encode_u32(hello.version) + hello.agent;
}

Hello decode_hello(std::string_view payload) {
  if (payload.size() < 4) throw ProtocolError("short hello");
  return {get_u32(payload.data()), std::string(payload.substr(4))};
}

std::string encode_error(const GuestError& error) {
  return std::string(1, static_cast<char>(error.exit_code)) + error.message;
}

GuestError decode_error(std::string_view payload) {
  if (payload.empty()) throw ProtocolError("empty error frame");
  return {static_cast<unsigned char>(payload[0]), std::string(payload.substr(1))};
}

const char* output_kind_name(OutputEntry::Kind kind) {
  switch (kind) {
    case OutputEntry::Kind::kFile:
      return "file";
    case OutputEntry::Kind::kDirectory:
      return "directory";
    case OutputEntry::Kind::kSymlink:
      return "symlink";
    case OutputEntry::Kind::kSkipped:
      return "skipped";
    case OutputEntry::Kind::kEnd:
      return "end";
    case OutputEntry::Kind::kMissing:
      return "missing";
    case OutputEntry::Kind::kFailed:
      return "failed";
  }
  return "unknown";
}

// u32 output, u8 kind, u32 mode, i64 mtime, u64 size, u32 path length, the path, the text.
std::string encode_output_entry(const OutputEntry& e) {
  std::string out;
  put_u32(out, e.output);
  out += static_cast<char>(e.kind);
  put_u32(out, e.mode);
  out += encode_i64(e.mtime_ns);
  out += encode_i64(static_cast<int64_t>(e.size));
  put_u32(out, static_cast<uint32_t>(e.path.size()));
  out += e.path;
  out += e.text;
  return out;
}

OutputEntry decode_output_entry(std::string_view p) {
  constexpr size_t kFixed = 4 + 1 + 4 + 8 + 8 + 4;
  if (p.size() < kFixed) throw ProtocolError("short output entry");
  OutputEntry e;
  e.output = get_u32(p.data());
  uint8_t kind = static_cast<uint8_t>(p[4]);
  if (kind > static_cast<uint8_t>(OutputEntry::Kind::kFailed))
    throw ProtocolError("unknown output entry kind " + std::to_string(kind));
  e.kind = static_cast<OutputEntry::Kind>(kind);
  e.mode = get_u32(p.data() + 5);
  if (e.mode > 07777) throw ProtocolError("output entry mode out of range");
  e.mtime_ns = decode_i64(p.substr(9, 8));
  e.size = static_cast<uint64_t>(decode_i64(p.substr(17, 8)));
  uint32_t length = get_u32(p.data() + 25);
  if (length > p.size() - kFixed) throw ProtocolError("output entry path beyond its frame");
  e.path = std::string(p.substr(kFixed, length));
  e.text = std::string(p.substr(kFixed + length));
  return e;
}

}  // namespace execvm::protocol
