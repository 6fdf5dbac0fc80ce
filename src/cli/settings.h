// The effective settings of a run: the command line over the project file (.execvm.toml in
// the working directory or its git work tree) over the defaults, with where each came from.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cli/options.h"

namespace execvm {

// Reads the project file for OPTIONS' working directory, when there is one, into the settings
// the command line left unset; its volumes and variables come before the command line's (a
// later -e or -v wins). Throws Error (exit 125) for a bad file.
void apply_project_file(RunOptions& options);

// "NAME VALUE" and where it came from ("command line", "default", "FILE:LINE"), for doctor.
std::vector<std::pair<std::string, std::string>> describe_settings(const RunOptions& options);

}  // namespace execvm
