// Starting the command: identity, environment, working directory, and its stdio on pipes or a
// pseudo-terminal whose other ends the agent relays.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>

#include "spec/run_spec.h"
#include "util/fd.h"

namespace execvm::guest {

// The command could not be started; EXIT_CODE is 126 (cannot invoke), 127 (not found) or 125.
class SpawnError : public std::runtime_error {
 public:
  SpawnError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// The running command and the agent's (non-blocking) ends of its stdio. With a terminal,
// stdin_fd and stdout_fd are the same master (stderr_fd too when stderr_tty).
struct Child {
  pid_t pid = -1;
  Fd terminal;  // pty master, when spec.tty
  Fd stdin_pipe, stdout_pipe, stderr_pipe;
  int stdin_fd() const { return terminal ? terminal.get() : stdin_pipe.get(); }
  int stdout_fd() const { return terminal ? terminal.get() : stdout_pipe.get(); }
};

// Forks and execs SPEC's command. Returns once exec succeeded; throws SpawnError when any step
// before it failed (the child has then been reaped).
Child spawn_command(const RunSpec& spec);

}  // namespace execvm::guest
