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
    kFile,         // an empty file TARGET, when there is nothing there: a file's mount point
    kSwitchRoot,   // the new root (TARGET) takes the place of the initramfs
  };
  Kind kind;
  std::string target;
  std::string source, fstype, options;
  unsigned long flags = 0;
  bool operator==(const RootStep&) const = default;
};

// The steps that build the root SPEC asks for. When spec.root is empty the initramfs stays the
// root, and the steps only offer the agent's tools there.
std::vector<RootStep> plan_root(const RunSpec& spec);

// The steps that offer the agent (the initramfs's /init) as tools::kToolsPath under ROOT ("" for
// the initramfs itself): bound read-only onto a file of the guest's own /run, so that nothing is
// written into a root that writes through.
std::vector<RootStep> plan_tools(const std::string& root);

// Carries out plan_root(SPEC). Throws Error naming the step that failed.
void enter_root(const RunSpec& spec);

}  // namespace execvm::guest
