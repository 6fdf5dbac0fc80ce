// The command's confinement, as docker confines a container's process: a capability set (docker's
// default unless --cap-add/--cap-drop change it), no_new_privs, and a seccomp filter equivalent
// to docker's default profile, whose rules open what those capabilities need. The agent itself
// keeps its powers: only the command's process is confined, between fork and exec.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "spec/capabilities.h"

namespace execvm::guest {

// What confining a command takes, made by the agent before it starts the command: building the
// filter allocates, and the child must not (it shares the agent's memory until exec).
struct Confinement {
  CapabilitySet capabilities = 0;
  std::vector<sock_filter> filter;  // the seccomp program, classic BPF
};

// Whether the running kernel runs 32-bit x86 programs (IA32 emulation; execvm's own kernel
// does not).
bool kernel_runs_32_bit_programs();

// The confinement of a command that keeps CAPABILITIES: they, and a seccomp filter built with
// libseccomp from execvm's table of docker's default profile, for x86_64 programs and, with
// ALSO_32_BIT, i386 and x32 ones. Throws Error when libseccomp fails.
Confinement prepare_confinement(CapabilitySet capabilities,
                                bool also_32_bit = kernel_runs_32_bit_programs());

// In the child, while it still has the agent's powers and before it takes the command's
// identity: removes every capability but C's from the bounding set (which needs CAP_SETPCAP).
// System calls only. Returns 0 or the errno value of the call that failed.
int limit_capabilities(const Confinement& c);

// In the child, after it took the command's identity and right before exec: a root command
// (uid 0) keeps those of C's capabilities it has as permitted and effective, any other none;
// inheritable and ambient are emptied; then no_new_privs and the seccomp filter. System calls
// only. Returns 0 or the errno value of the call that failed.
int confine(const Confinement& c);

}  // namespace execvm::guest
