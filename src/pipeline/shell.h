// Shell words for pipelines' parts: the lines that `execvm pipeline show` joins, and that a run's
// result names its stages by.
#pragma once

#include <string>
#include <vector>

#include "execvm/pipeline.h"

namespace execvm::pipeline {

// ARGV quoted for a shell. A first word with "=" in it is quoted even when plain, so that the
// shell does not take it for an assignment.
std::string words(const std::vector<std::string>& argv);

// "tar -czf - FILE...": what the Tar source makes.
std::string tar_line(const Tar& tar);

// "podman build -q -t TAG -": what a Build stage runs.
std::string build_line(const Build& build);

// The argv of a Build stage.
std::vector<std::string> build_argv(const Build& build);

}  // namespace execvm::pipeline
