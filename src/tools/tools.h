// execvm's tools (the seed calls them so): `chain` and `init`, programs as lists of strings with
// no shell. The host's execvm offers them as `execvm chain` and `execvm init`; the static guest
// agent is a multi-call binary that runs them by its first argument, and every guest, whatever
// its root, finds it at kToolsPath.
#pragma once

#include <string>
#include <vector>

namespace execvm::tools {

// Where the agent is in every guest (bind-mounted there from the initramfs, read-only, on the
// guest's own /run): `/run/execvm/execvm chain ...` works inside any execvm VM.
inline constexpr const char* kToolsPath = "/run/execvm/execvm";

// The exit status of a usage error of a tool.
inline constexpr int kExitUsage = 2;

// The tool a multi-call binary started as ARGV0 with ARGS (its arguments, without argv[0])
// runs: "chain" or "init" when ARGS[0] names it, "chain" when ARGV0's base name is "chain"
// (through a symlink, say); "" for none. *SKIP is how many of ARGS the tool's name took.
std::string tool_for(const std::string& argv0, const std::vector<std::string>& args, size_t* skip);

// Writes "execvm: MESSAGE" and a line end to stderr.
void print_error(const std::string& message);

}  // namespace execvm::tools
