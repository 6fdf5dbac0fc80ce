#include "guest/exec_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include "util/strings.h"

namespace execvm::guest {

std::vector<std::string> exec_candidates(const std::string& name,
                                         const std::optional<std::string>& path_value) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) return {name};
  std::vector<std::string> out;
  for (const auto& dir : split(path_value.value_or(kDefaultPath), ':'))
    out.push_back((dir.empty() ? "." : dir) + "/" + name);
  return out;
}

ExecChoice choose_exec_failure(const std::vector<int>& errors) {
  ExecChoice choice;
  for (size_t i = 0; i < errors.size(); ++i) {
    switch (errors[i]) {
      case EACCES:
        if (choice.err != EACCES) choice = {static_cast<int>(i), EACCES};
        break;
      case ENOENT:
      case ESTALE:
      case ENOTDIR:
      case ENODEV:
      case ETIMEDOUT:
        break;
      default:
        return {static_cast<int>(i), errors[i]};
    }
  }
  return choice;
}

ExecPlan plan_exec(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  ExecPlan plan;
  plan.name = argv[0];
  plan.candidates = exec_candidates(plan.name, command_path(env));
  for (const auto& a : argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  for (const auto& e : env) plan.envp.push_back(const_cast<char*>(e.c_str()));
  plan.envp.push_back(nullptr);
  plan.sh_argv = {const_cast<char*>("/bin/sh"), nullptr};
  for (size_t i = 1; i < argv.size(); ++i) plan.sh_argv.push_back(plan.argv[i]);
  plan.sh_argv.push_back(nullptr);
  plan.errors.assign(plan.candidates.size(), 0);
  return plan;
}

void exec_command(ExecPlan& plan) {
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    std::string& candidate = plan.candidates[i];
    ::execve(candidate.c_str(), plan.argv.data(), plan.envp.data());
    if (errno == ENOEXEC) {
      plan.sh_argv[1] = candidate.data();
      ::execve("/bin/sh", plan.sh_argv.data(), plan.envp.data());
      errno = ENOEXEC;
    }
    plan.errors[i] = errno;
  }
  plan.failure = choose_exec_failure(plan.errors);
  // ENOENT from a file that is there: what it needs to run (its #! interpreter, its ELF
  // interpreter) is missing. That file is what to report on.
  for (size_t i = 0; plan.failure.index < 0 && i < plan.candidates.size(); ++i) {
    struct stat st;
    if (::stat(plan.candidates[i].c_str(), &st) == 0) plan.failure.index = static_cast<int>(i);
  }
  if (plan.failure.index >= 0)
    look_at_exec_file(plan.candidates[plan.failure.index].c_str(), plan.facts);
}

Error describe_exec_failure(const ExecPlan& plan) {
  const ExecChoice& f = plan.failure;
  return exec_failure(plan.name, f.index < 0 ? "" : plan.candidates[f.index], f.err, plan.facts);
}

}  // namespace execvm::guest
