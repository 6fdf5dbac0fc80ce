// The exec of the command: glibc's execvp search through the command's PATH, run by the child
// between clone() and exec, and what the agent reports when it fails.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "spec/run_spec.h"
#include "util/error.h"
#include "util/exec_failure.h"

namespace execvm::guest {

// The paths execvp tries for NAME, in order: none for "" (execvp fails with ENOENT at once); NAME
// itself when it has a slash; else DIR/NAME for each entry of PATH, "." for an empty one.
// PATH_VALUE nullopt: PATH is unset, and glibc searches kDefaultPath.
std::vector<std::string> exec_candidates(const std::string& name,
                                         const std::optional<std::string>& path_value);

// The failure execvp settles on after the execve of candidate I failed with ERRORS[I]: the first
// error that stops its search (any but EACCES, ENOENT, ESTALE, ENOTDIR, ENODEV and ETIMEDOUT);
// else EACCES at the first candidate that gave it, the search having gone on past it; else
// ENOENT at no candidate in particular (index -1).
struct ExecChoice {
  int index = -1;
  int err = ENOENT;
};
ExecChoice choose_exec_failure(const std::vector<int>& errors);

// Everything the child needs to exec the command, prepared by the parent (the child shares the
// parent's memory and only makes system calls), and what the child found when it failed.
struct ExecPlan {
  std::string name;                     // argv[0]
  std::vector<std::string> candidates;  // exec_candidates of it
  std::vector<char*> argv, envp;
  std::vector<char*> sh_argv;  // for a candidate without #! (ENOEXEC), as execvp runs it
  std::vector<int> errors;     // each candidate's errno, written by the child
  ExecChoice failure;          // what the search settled on, written by the child
  ExecFacts facts;             // about candidates[failure.index], written by the child
};

// The plan for ARGV with the environment ENV (whose PATH is searched). The plan points into both:
// they must outlive it.
ExecPlan plan_exec(const std::vector<std::string>& argv, const std::vector<std::string>& env);

// In the child, as the command's user in its directory: execs the command, or returns with the
// failure and the facts about it filled in. System calls only.
void exec_command(ExecPlan& plan);

// In the parent, after exec_command returned in the child: what to report.
Error describe_exec_failure(const ExecPlan& plan);

}  // namespace execvm::guest
