// Session: one `execvm run`, top to bottom: options and caller -> RunSpec -> Root -> kernel,
// QEMU and accelerator -> Vm -> relay -> report -> the exit status.
#pragma once

#include "cli/options.h"
#include "host/caller.h"

namespace execvm {

// Runs OPTIONS' command for CALLER in a VM and returns the status execvm exits with, having said
// on stderr what failed, if anything did. Throws Error for failures before the VM starts.
int run_session(const RunOptions& options, const Caller& caller);

}  // namespace execvm
