#include "protocol/frame.h"

#include <gtest/gtest.h>

#include <random>

namespace execvm::protocol {
namespace {

TEST(Frame, RoundTripsInPiecesOfAnySize) {
  std::string wire;
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  append_frame(wire, FrameType::kHello, encode_hello({kVersion, "agent"}));
  append_frame(wire, FrameType::kData, kStdout, big);
  append_frame(wire, FrameType::kEof, kStderr, "");
  append_frame(wire, FrameType::kExit, encode_exit({true, 9}));
  for (size_t piece : {1, 3, 8, 4096, 1 << 20}) {
    FrameReader reader;
    std::vector<Frame> frames;
    for (size_t off = 0; off < wire.size(); off += piece) {
      reader.feed(std::string_view(wire).substr(off, piece));
      while (auto f = reader.next()) frames.push_back(*f);
    }
    ASSERT_EQ(frames.size(), 4u) << "piece " << piece;
    EXPECT_EQ(decode_hello(frames[0].payload).agent, "agent");
    EXPECT_EQ(frames[1].type, FrameType::kData);
    EXPECT_EQ(frames[1].stream, kStdout);
    EXPECT_EQ(frames[1].payload, big);
    EXPECT_EQ(frames[2].type, FrameType::kEof);
    EXPECT_EQ(frames[2].stream, kStderr);
    EXPECT_EQ(decode_exit(frames[3].payload), (ExitStatus{true, 9}));
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(Frame, RejectsOversizedPayloadOnBothEnds) {
  std::string wire;
  EXPECT_THROW(append_frame(wire, FrameType::kSpec, std::string(kMaxPayload + 1, 'x')),
               ProtocolError);
  std::string header = {static_cast<char>(kMagic), 3, 1, 0, 0, 0, 0x20, 0};  // 2 MiB
  FrameReader reader;
  reader.feed(header);
  EXPECT_THROW(reader.next(), ProtocolError);
}

TEST(Frame, RejectsBadHeaders) {
  auto rejects = [](std::string header) {
    FrameReader reader;
    reader.feed(header);
    EXPECT_THROW(reader.next(), ProtocolError);
  };
  rejects({'\x00', 3, 1, 0, 0, 0, 0, 0});                      // magic
  rejects({static_cast<char>(kMagic), 0, 0, 0, 0, 0, 0, 0});   // type 0
  rejects({static_cast<char>(kMagic), 99, 0, 0, 0, 0, 0, 0});  // unknown type
  rejects({static_cast<char>(kMagic), 3, 7, 0, 0, 0, 0, 0});   // unknown stream
  rejects({static_cast<char>(kMagic), 3, 1, 1, 0, 0, 0, 0});   // reserved byte
}

TEST(Frame, GarbageNeverCrashes) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(rng() % 64, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (rng() % 2 && junk.size() > 0) junk[0] = static_cast<char>(kMagic);
    FrameReader reader;
    reader.feed(junk);
    try {
      while (auto f = reader.next()) {
        // Decoders must reject, not crash, whatever the payload.
        try {
          decode_exit(f->payload);
        } catch (const ProtocolError&) {
        }
        try {
          decode_winsize(f->payload);
        } catch (const ProtocolError&) {
        }
        try {
          decode_output_entry(f->payload);
        } catch (const ProtocolError&) {
        }
      }
    } catch (const ProtocolError&) {
    }
  }
}

TEST(Frame, PayloadCodecs) {
  EXPECT_EQ(decode_u32(encode_u32(0xDEADBEEF)), 0xDEADBEEFu);
  EXPECT_THROW(decode_u32("abc"), ProtocolError);
  EXPECT_EQ(decode_winsize(encode_winsize({50, 132})), (Winsize{50, 132}));
  EXPECT_EQ(decode_exit(encode_exit({false, 255})), (ExitStatus{false, 255}));
  EXPECT_EQ(decode_exit(encode_exit({true, 9})), (ExitStatus{true, 9}));
  EXPECT_THROW(decode_exit(std::string("\x02\0\0\0\0", 5)), ProtocolError);
  EXPECT_THROW(decode_exit(std::string("\x00\x00\x01\0\0", 5)), ProtocolError);
  EXPECT_THROW(decode_exit(std::string("\x00\x01\0\0", 4)), ProtocolError);
  EXPECT_EQ(decode_i64(encode_i64(-5)), -5);
  EXPECT_EQ(decode_i64(encode_i64(1'700'000'000'123'456'789)), 1'700'000'000'123'456'789);
  EXPECT_THROW(decode_i64("1234567"), ProtocolError);
  auto err = decode_error(encode_error({127, "foo: command not found"}));
  EXPECT_EQ(err.exit_code, 127);
  EXPECT_EQ(err.message, "foo: command not found");
  EXPECT_THROW(decode_error(""), ProtocolError);
  EXPECT_THROW(decode_hello("ab"), ProtocolError);
}

TEST(Frame, OutputEntriesRoundTrip) {
  OutputEntry file{3, OutputEntry::Kind::kFile, "a/b\xff", 0644, -1'500'000'000, 1ull << 40, ""};
  EXPECT_EQ(decode_output_entry(encode_output_entry(file)), file);
  OutputEntry link{0, OutputEntry::Kind::kSymlink, "", 0777, 7, 0, std::string("/etc\0x", 6)};
  EXPECT_EQ(decode_output_entry(encode_output_entry(link)), link);
  OutputEntry end{1, OutputEntry::Kind::kEnd};
  EXPECT_EQ(decode_output_entry(encode_output_entry(end)), end);
  // Read back as the reader gets it: in a frame.
  std::string wire;
  append_frame(wire, FrameType::kOutput, encode_output_entry(file));
  append_frame(wire, FrameType::kOutputData, "bytes");
  FrameReader reader;
  reader.feed(wire);
  EXPECT_EQ(decode_output_entry(reader.next()->payload), file);
  EXPECT_EQ(reader.next()->type, FrameType::kOutputData);
}

TEST(Frame, RejectsBadOutputEntries) {
  std::string good = encode_output_entry({0, OutputEntry::Kind::kFile, "name", 0600, 0, 4, ""});
  EXPECT_THROW(decode_output_entry(good.substr(0, 28)), ProtocolError);  // short
  std::string kind = good;
  kind[4] = 7;
  EXPECT_THROW(decode_output_entry(kind), ProtocolError);
  std::string mode = good;
  mode[6] = 0x10;  // 010000: a file type bit, not a permission
  EXPECT_THROW(decode_output_entry(mode), ProtocolError);
  std::string path = good;
  path[25] = 5;  // a path longer than what follows
  EXPECT_THROW(decode_output_entry(path), ProtocolError);
}

TEST(ExitStatus, ShellStatus) {
  EXPECT_EQ((ExitStatus{false, 42}).shell_status(), 42);
  EXPECT_EQ((ExitStatus{true, 9}).shell_status(), 137);
  EXPECT_EQ((ExitStatus{true, 11}).shell_status(), 139);
}

}  // namespace
}  // namespace execvm::protocol
