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
#include "host/session.h"
#include "util/error.h"
#include "util/sys.h"

int main(int argc, char** argv) {
  using namespace execvm;
  // A closed stdin, stdout or stderr becomes /dev/null: otherwise the next fd execvm opens would
  // take its number and be mistaken for it.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", O_RDWR) < 0) return kExitFailure;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
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
    std::vector<int> ignored = prepare_process_signals();
    return run_session(parsed.options, ignored);
  } catch (const Error& e) {
    write_all(STDERR_FILENO, "execvm: " + e.message() + "\n");
    return e.exit_code();
  } catch (const std::exception& e) {
    write_all(STDERR_FILENO, std::string("execvm: internal error: ") + e.what() + "\n");
    return kExitFailure;
  }
}
