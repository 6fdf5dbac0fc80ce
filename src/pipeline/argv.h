// What each runner runs for a command: the argv of a local exec, of `execvm ... -- COMMAND`, of
// `podman run ... IMAGE COMMAND`; chain() realized with the chain program where it runs; and
// which execvm binary runs the VMs.
#pragma once

#include <string>
#include <vector>

#include "execvm/pipeline.h"

namespace execvm::pipeline {

// The argv of CHAIN with PROGRAM (e.g. {"/run/execvm/execvm"}) as the chain executable:
// PROGRAM chain D CMD1... D PROGRAM chain D' CMD2... D' CMD3..., each delimiter ("--", "---",
// ...) one that its first command does not contain. One command is that command itself.
// Throws PipelineError for an empty chain or an empty command in it.
std::vector<std::string> chain_argv(const Chain& chain, const std::vector<std::string>& program);

// The execvm binary: CONFIGURED when set, else $EXECVM, else the one installed with this
// library when it is there, else "execvm" (found in PATH when it runs).
std::string resolve_execvm(const std::string& configured);

// execvm's flags for OPTIONS (before the command's -e, -w and --). Throws PipelineError for
// what execvm cannot do (an initrd, devices not named /dev/vda, /dev/vdb, ... in order).
std::vector<std::string> vm_flags(const VmOptions& options);

// The argv RUNNER runs for COMMAND: EXECVM as RunOptions::execvm; CONTAINER_NAME, when not
// empty, is given to the container (--name) so that it can be removed when it is killed.
std::vector<std::string> stage_argv(const Runner& runner, const Command& command,
                                    const std::string& execvm, const std::string& container_name);

// The command's own argv (its chain realized with PROGRAM).
std::vector<std::string> command_argv(const Command& command,
                                      const std::vector<std::string>& program);

// The program that realizes chain() where RUNNER runs (before its "chain" argument).
std::vector<std::string> chain_program(const Runner& runner, const std::string& execvm);

// Where the static multi-call execvm is inside every execvm guest.
inline constexpr const char* kGuestExecvm = "/run/execvm/execvm";

}  // namespace execvm::pipeline
