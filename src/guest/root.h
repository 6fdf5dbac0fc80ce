// The guest's root when it is not the initramfs: the shared root read-only under a tmpfs
// overlay, the guest's own /proc, /sys, /dev, /tmp and /run, and the shares that write through
// to the host, then a switch into it.
#pragma once

#include "spec/run_spec.h"

namespace execvm::guest {

// Builds the root SPEC asks for and makes it the agent's / (nothing when spec.root is empty).
// Throws Error naming the mount that failed.
void enter_root(const RunSpec& spec);

}  // namespace execvm::guest
