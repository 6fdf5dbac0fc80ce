// The framed protocol spoken over the virtio-serial port between execvm (host) and its guest
// agent. One module for both ends.
//
// A frame is an 8-byte header and a payload:
//   byte 0     magic 0xE5
//   byte 1     type (FrameType)
//   byte 2     stream (Stream) for Data, Eof and Close frames, else 0
//   byte 3     0
//   bytes 4-7  payload length, little-endian, at most kMaxPayload
//
// A session: the guest sends Hello; the host sends Clock, then the RunSpec's JSON as SpecPart
// frames and a last Spec frame. The guest sends Started once the command runs (or Error when it
// cannot run it): until then the host's boot deadline holds. Then Data/Eof/Close/Credit/Signal/
// Winsize flow both ways, and the host sends Ping now and then, which the guest answers with Pong
// at once: a guest that hears and says nothing for long has stopped. The host sends stdin only
// as far as the guest has granted it with Credit frames. The guest sends Exit (or Error) when the
// command ends, then what is left of its output until every process holding the command's stdout
// and stderr has closed them, and Eof for each of the two; once the host has the exit and both
// ends it answers Ack, and only then does the guest power off: data still in flight when a VM
// ends is lost (measured), so the guest waits for the host's word.
//
// Files out (the RunSpec's outputs): after the two Eofs the guest sends each output in the
// spec's order as Output frames (an OutputEntry each; a directory's entries parents first), a
// file's bytes as the OutputData frames right after its entry, and ends each output with one
// entry of kind End, Missing or Failed. The host's Ack then waits for that last entry too.
//
// Both ends are built together (the agent is embedded in execvm), so there is one version:
// kVersion changes with every change of a frame's layout or of the session's order, and a Hello
// of another version ends the session.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace execvm::protocol {

inline constexpr uint32_t kVersion = 4;
inline constexpr uint8_t kMagic = 0xE5;
inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kMaxPayload = 1 << 20;
// The virtio-serial port's name, seen by the guest under /sys/class/virtio-ports/*/name.
inline constexpr const char* kPortName = "org.execvm.0";

enum class FrameType : uint8_t {
  kHello = 1,      // guest -> host: u32 version, then the agent's description
  kSpec = 2,       // host -> guest: the RunSpec's JSON, its last piece (after any SpecPart frames)
  kData = 3,       // stdin host -> guest; stdout/stderr guest -> host
  kEof = 4,        // the writer of STREAM is done (stdin from host; stdout/stderr from guest)
  kClose = 5,      // host -> guest: the reader of STREAM is gone (the command's writes fail)
  kCredit = 6,     // guest -> host: u32 more stdin bytes the host may send
  kSignal = 7,     // host -> guest: u32 signal number for the command
  kWinsize = 8,    // host -> guest: u16 rows, u16 cols
  kExit = 9,       // guest -> host: ExitStatus
  kAck = 10,       // host -> guest: the exit and all output received, the guest may power off
  kError = 11,     // guest -> host: u8 exit status, then one line saying what failed
  kSpecPart = 12,  // host -> guest: a piece of the RunSpec's JSON; more follow
  kClock = 13,     // host -> guest: i64 the host's realtime clock in nanoseconds
  kOutput = 14,    // guest -> host: OutputEntry, one entry of an output
  kOutputData = 15,  // guest -> host: the next bytes of the file whose entry came last
  kStarted = 16,     // guest -> host: the command runs
  kPing = 17,        // host -> guest: answer with Pong (while the command runs)
  kPong = 18,        // guest -> host: the answer to a Ping
};

enum Stream : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2 };

const char* frame_type_name(FrameType type);

struct Frame {
  FrameType type;
  uint8_t stream = 0;
  std::string payload;
};

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends the header of a frame whose payload of LENGTH bytes follows it (sent by other means,
// e.g. spliced). Throws ProtocolError if LENGTH is over kMaxPayload.
void append_header(std::string& out, FrameType type, uint8_t stream, size_t length);

// Appends one encoded frame to OUT. Throws ProtocolError if PAYLOAD is over kMaxPayload.
void append_frame(std::string& out, FrameType type, uint8_t stream, std::string_view payload);
inline void append_frame(std::string& out, FrameType type, std::string_view payload = {}) {
  append_frame(out, type, 0, payload);
}

// Reassembles frames from a byte stream fed in pieces of any size.
class FrameReader {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete frame, or nullopt when more bytes are needed. Throws ProtocolError on a
  // malformed header; the reader is unusable afterwards.
  std::optional<Frame> next();
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

// How the command ended.
struct ExitStatus {
  bool signaled = false;  // killed by signal VALUE, else exited with code VALUE
  int value = 0;
  // The status execvm exits with: the code, or 128 + the signal.
  int shell_status() const { return signaled ? 128 + value : value; }
  bool operator==(const ExitStatus&) const = default;
};

std::string encode_u32(uint32_t value);
uint32_t decode_u32(std::string_view payload);  // throws ProtocolError unless 4 bytes
std::string encode_i64(int64_t value);
int64_t decode_i64(std::string_view payload);  // throws ProtocolError unless 8 bytes

std::string encode_exit(ExitStatus status);
ExitStatus decode_exit(std::string_view payload);

struct Winsize {
  uint16_t rows = 0, cols = 0;
  bool operator==(const Winsize&) const = default;
};
std::string encode_winsize(Winsize size);
Winsize decode_winsize(std::string_view payload);

struct Hello {
  uint32_t version = 0;
  std::string agent;
};
std::string encode_hello(const Hello& hello);
Hello decode_hello(std::string_view payload);

struct GuestError {
  int exit_code = 125;
  std::string message;
};
std::string encode_error(const GuestError& error);
GuestError decode_error(std::string_view payload);

// One entry of a file out of the guest (an Output frame).
struct OutputEntry {
  enum class Kind : uint8_t {
    kFile = 0,       // a regular file: SIZE bytes follow in OutputData frames
    kDirectory = 1,  // a directory: its entries follow (their paths under this one's)
    kSymlink = 2,    // a symbolic link to TEXT
    kSkipped = 3,    // not copied (a device node, a socket, another filesystem): TEXT says what
    kEnd = 4,        // the output is complete
    kMissing = 5,    // the output does not exist in the guest
    kFailed = 6,     // the output could not be read in the guest: TEXT says why
  };
  uint32_t output = 0;  // its index in the RunSpec's outputs
  Kind kind = Kind::kEnd;
  // Relative to the output: "" is the output itself, "a/b" is b in its directory a.
  std::string path;
  uint32_t mode = 0;     // the permission bits (07777)
  int64_t mtime_ns = 0;  // modification time, nanoseconds since the epoch
  uint64_t size = 0;     // of a file
  std::string text;      // a symlink's target, or a note
  bool operator==(const OutputEntry&) const = default;
};
const char* output_kind_name(OutputEntry::Kind kind);
std::string encode_output_entry(const OutputEntry& entry);
// Throws ProtocolError on a malformed entry (the path is checked by its reader, not here).
OutputEntry decode_output_entry(std::string_view payload);

}  // namespace execvm::protocol
