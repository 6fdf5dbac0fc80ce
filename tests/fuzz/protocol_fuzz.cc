// libFuzzer target for what the host and the guest read from each other: the frame reader, every
// payload decoder and the RunSpec JSON parser. Garbage must give ProtocolError or SpecError,
// never a crash, a hang or unbounded memory. Run it with tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/frame.h"
#include "spec/run_spec.h"

using namespace execvm;
using namespace execvm::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the size of the pieces the stream arrives in.
  size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  FrameReader reader;
  try {
    for (size_t off = 0; off < input.size(); off += piece) {
      reader.feed(input.substr(off, piece));
      while (auto frame = reader.next()) {
        try {
          switch (frame->type) {
            case FrameType::kHello:
              decode_hello(frame->payload);
              break;
            case FrameType::kSpec:
              spec_from_json(frame->payload);
              break;
            case FrameType::kCredit:
            case FrameType::kSignal:
              decode_u32(frame->payload);
              break;
            case FrameType::kWinsize:
              decode_winsize(frame->payload);
              break;
            case FrameType::kExit:
              decode_exit(frame->payload);
              break;
            case FrameType::kError:
              decode_error(frame->payload);
              break;
            case FrameType::kOutput:
              decode_output_entry(frame->payload);
              break;
            default:
              break;
          }
        } catch (const ProtocolError&) {
        } catch (const SpecError&) {
        }
      }
    }
  } catch (const ProtocolError&) {
  }
  // The JSON parser on its own, on the raw input.
  try {
    spec_from_json(input);
  } catch (const SpecError&) {
  }
  return 0;
}
