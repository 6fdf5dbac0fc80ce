// Files out of the guest (the RunSpec's outputs), the agent's side: once the command has ended,
// each output is walked without following a symlink and sent to the host over the channel, in
// Output and OutputData frames (see protocol/frame.h).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "protocol/frame.h"
#include "spec/run_spec.h"

namespace execvm::guest {

class Port;

// Thrown by an OutputVisitor to give up on its output: the walk ends it with a Failed entry
// saying what().
class OutputFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Called with each entry of an output in the order they are sent. For a file, FD is open on it
// for reading its SIZE bytes while the call lasts; else it is -1.
using OutputVisitor = std::function<void(const protocol::OutputEntry& entry, int fd)>;

// Walks the output at PATH (absolute) as output number INDEX: the output itself first (a
// symlink stays a symlink), then for a directory what is below it, each directory's entries in
// name order after the directory, never following a symlink nor entering another filesystem.
// Device nodes, sockets, fifos, other filesystems and what cannot be read are Skipped entries.
// The last entry is End, Missing (PATH does not exist) or Failed (it cannot be read, or VISIT
// gave up on it).
void walk_output(uint32_t index, const std::string& path, const OutputVisitor& visit);

// Sends SPEC's outputs over PORT, in order; a relative one is under SPEC's working directory.
// Throws Error when the host is gone.
void send_outputs(Port& port, const RunSpec& spec);

}  // namespace execvm::guest
