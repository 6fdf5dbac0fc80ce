// execvm: execve for virtual machines. main() dispatches to `run` (the default) and the other
// subcommands, and turns execvm's own failures into one line on stderr and exit status 125.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/settings.h"
#include "host/caller.h"
#include "host/session.h"
#include "util/error.h"
#include "util/sys.h"

int main(int argc, char** argv) {
  using namespace execvm;
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    std::vector<int> closed = claim_standard_fds();
    if (!args.empty()) {
      std::vector<std::string> rest(args.begin() + 1, args.end());
      if (args[0] == "kernel") return kernel_command(rest);
      if (args[0] == "doctor") return doctor_command(rest);
      if (args[0] == "run") args = rest;
    }
    ParsedRun parsed = parse_run_options(args);
    if (parsed.output) {
      write_all(STDOUT_FILENO, *parsed.output);
      return parsed.status;
    }
    apply_project_file(parsed.options);
    return run_session(parsed.options, read_caller(closed));
  } catch (const Error& e) {
    write_all(STDERR_FILENO, "execvm: " + e.message() + "\n");
    return e.exit_code();
  } catch (const std::exception& e) {
    write_all(STDERR_FILENO, std::string("execvm: internal error: ") + e.what() + "\n");
    return kExitFailure;
  }
}
