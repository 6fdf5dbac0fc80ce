// Files out of the guest (--output GUEST_PATH[:HOST_PATH]), the host's side: where each one
// goes, and the writer that puts what the guest sends there and nowhere else.
//
// The guest is not trusted with the host's files. Each output is written under a temporary name
// in its destination directory, through directory descriptors only (openat, mkdirat, symlinkat
// with O_NOFOLLOW and O_EXCL): an entry is created in a directory that this output created, or
// not at all, so a symlink the guest sent is never followed and an entry named "..", "", with a
// NUL or "/" in a component, or given twice refuses its whole output. When the output is
// complete it is renamed into place; an output that was refused, failed or never ended leaves
// nothing behind.
//
// Destinations, as cp -r does it: HOST_PATH (default: GUEST_PATH's base name in the current
// directory) is created; an existing directory there takes the output inside it, under
// GUEST_PATH's base name; an existing file (or symlink) there is replaced by a file or a
// symlink, and refuses a directory. Owners are the caller's; modes are kept but for the setuid
// and setgid bits; mtimes are kept.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "protocol/frame.h"

namespace execvm {

// One --output, as parsed.
struct OutputOption {
  std::string text;   // as given: GUEST_PATH[:HOST_PATH]
  std::string guest;  // GUEST_PATH: absolute, or relative to the command's working directory
  std::string host;   // HOST_PATH, absolute
  bool operator==(const OutputOption&) const = default;
};

// Parses GUEST_PATH[:HOST_PATH] (split at the first colon), a relative HOST_PATH against BASE.
// Throws Error "LABEL: what is wrong" with what to write.
OutputOption parse_output_option(const std::string& text, const std::string& base,
                                 const std::string& label);

// What became of the outputs, for the report.
struct OutputsSummary {
  // One line for each output that was not written: "--output /tmp/x: no such file in the guest".
  std::vector<std::string> problems;
  // What was left out of the outputs that were: "--output /d: skipped d/sock (a socket)".
  std::vector<std::string> notes;
};

// The run's outputs: their destinations, opened before the run, and the writing of what the
// guest sends (the relay hands it the Output and OutputData frames).
class Outputs {
 public:
  // Opens each destination's directory and checks it: it exists and is writable, the name
  // there is not a directory already, no two outputs go to one place. Throws Error (125).
  explicit Outputs(const std::vector<OutputOption>& options);
  ~Outputs();  // what an unfinished output left goes
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;

  bool empty() const { return writers_.empty(); }
  // The guest paths, for the RunSpec, in order.
  std::vector<std::string> guest_paths() const;

  // An Output or OutputData frame from the guest. A hostile or unwritable entry refuses its
  // output (see the summary), not the channel; throws ProtocolError when the frames themselves
  // are out of order (an output's entries after its end, data beyond a file's size).
  void handle(const protocol::Frame& frame);
  // Every output has ended: written, missing, failed or refused.
  bool complete() const { return current_ >= writers_.size(); }

  // After the run: what became of each output. Outputs that never ended are "not received",
  // and what they left is removed. Call once.
  OutputsSummary finish();

  class Writer;  // one output (outputs.cc)

 private:
  std::vector<std::unique_ptr<Writer>> writers_;
  size_t current_ = 0;  // the output the guest is sending
};

}  // namespace execvm
