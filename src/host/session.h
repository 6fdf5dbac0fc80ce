// Session: one `execvm run` end to end: options -> RunSpec, kernel, root, accelerator -> Vm ->
// relay -> the exit status, with execvm's own failures reported as one line on stderr.
#pragma once

#include "cli/options.h"

namespace execvm {

// Runs OPTIONS' command in a VM and returns the status execvm exits with. IGNORED_SIGNALS are
// the signals execvm's caller ignores (the command will too). Throws Error for failures before
// the VM starts.
int run_session(const RunOptions& options, const std::vector<int>& ignored_signals);

// Blocks the signals the relay reads and ignores SIGPIPE: call first in main(), before any
// thread exists, so that every thread inherits the mask. Returns the signals the caller had set
// to be ignored, before execvm changed anything.
std::vector<int> prepare_process_signals();

}  // namespace execvm
