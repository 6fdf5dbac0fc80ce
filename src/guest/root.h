// The guest's root when it is not the initramfs: the shared root read-only under a tmpfs
// overlay, the guest's own /proc, /sys, /dev, /tmp and /run, and the shares that write through
// to the host, then a switch into it. Planned as a list of steps (plain data, unit-tested), then
// carried out in order.
#pragma once

#include <string>
#include <vector>

#include "spec/run_spec.h"

namespace execvm::guest {

struct RootStep {
  enum class Kind {
    kDirectory,    // mkdir -p TARGET
    kMount,        // mount(SOURCE, TARGET, FSTYPE, FLAGS, OPTIONS)
    kShareTarget,  // make TARGET in the new root for a share: a directory, or an empty file when
                   // SOURCE (a path in the shared root, for a bind) is a file; with the host's
                   // modes and owners where the host has the same path
    kSwitchRoot,   // the new root (TARGET) takes the place of the initramfs
  };
  Kind kind;
  std::string target;
  std::string source, fstype, options;
  unsigned long flags = 0;
  bool operator==(const RootStep&) const = default;
};

// The steps that build the root SPEC asks for (none when spec.root is empty: the initramfs is
// the root).
std::vector<RootStep> plan_root(const RunSpec& spec);

// Carries out plan_root(SPEC). Throws Error naming the step that failed.
void enter_root(const RunSpec& spec);

}  // namespace execvm::guest
