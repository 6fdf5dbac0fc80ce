// execvm's subcommands other than run: each takes its arguments (after the subcommand's name)
// and returns the exit status.
#pragma once

#include <string>
#include <vector>

namespace execvm {

// execvm kernel ls|build [...]
int kernel_command(const std::vector<std::string>& args);

// execvm doctor [--kernel PATH] [--accel ...]
int doctor_command(const std::vector<std::string>& args);

}  // namespace execvm
