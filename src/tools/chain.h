// `execvm chain DELIM COMMAND... [DELIM REST...]`: sequencing without a shell. The first word is
// the delimiter; COMMAND (everything up to its next occurrence) is forked, exec'd and waited
// for; then REST is exec'd in chain's place, so that REST may itself be a chain and chains
// nest. A COMMAND that fails stops the chain with its status (128+N when signal N killed it).
#pragma once

#include <string>
#include <vector>

namespace execvm::tools {

// The parts of a chain: FIRST runs and is waited for, then REST (when not empty) is exec'd.
struct ChainParts {
  std::vector<std::string> first;
  std::vector<std::string> rest;
  bool operator==(const ChainParts&) const = default;
};

// Splits ARGS (what follows `chain`). Without a second delimiter FIRST is all the rest and REST
// is empty. Throws Error with exit status kExitUsage when ARGS is empty (no delimiter), when
// FIRST is empty, or when the second delimiter is the last word (an empty REST).
ChainParts split_chain(const std::vector<std::string>& args);

// The commands ARGV runs: ARGV itself, or when it is a chain of the agent's
// (kToolsPath chain ...) the commands of that chain, looking into nested ones too, in order;
// a malformed chain contributes the commands before what is wrong with it (it fails there).
// What a bare root must hold.
std::vector<std::vector<std::string>> commands_run_by(const std::vector<std::string>& argv);

// `execvm chain --help`.
std::string chain_usage();

// Runs the chain ARGS (what follows `chain`), with this process's stdio and environment.
// Returns the exit status when it does not exec: FIRST's when it failed, 2 for a usage error
// (with one line on stderr), 126 or 127 when a command cannot be executed or is not found.
int chain_main(const std::vector<std::string>& args);

// Execs ARGV with this process's environment, looking ARGV[0] up in PATH as execvp does (a file
// without #! runs with /bin/sh). Returns only when that failed, having said why on stderr as a
// shell does, with 126 (cannot be executed) or 127 (not found).
int exec_program(const std::vector<std::string>& argv);

}  // namespace execvm::tools
