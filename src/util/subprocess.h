// Running helper programs (make, tar, qemu --version): no shell, stdin from /dev/null.
#pragma once

#include <string>
#include <vector>

namespace execvm {

struct ProcessResult {
  int status = 0;  // the exit code, or 128 + the signal that killed it
  std::string output;
};

// Runs ARGV in CWD (the current directory when empty) and captures its stdout, and its stderr
// too when MERGE_STDERR (else stderr is passed through). Throws Error when it cannot start.
ProcessResult run_capture(const std::vector<std::string>& argv, bool merge_stderr = false,
                          const std::string& cwd = "");

// Runs ARGV in CWD with stdout and stderr going to OUTPUT_FD. Returns the status as above.
// Throws Error when it cannot start.
int run_to_fd(const std::vector<std::string>& argv, int output_fd, const std::string& cwd = "");

}  // namespace execvm
