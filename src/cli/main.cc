// execvm: execve for virtual machines. main() dispatches to `run` (the default), the tools
// `chain` and `init` (which take their words as they are) and the other subcommands, and turns
// execvm's own failures into one line on stderr and exit status 125.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "host/caller.h"
#include "tools/chain.h"
#include "tools/init.h"
#include "util/error.h"
#include "util/sys.h"

namespace execvm {

namespace {

int execvm_main(std::vector<std::string> args, const Caller& caller) {
  CLI::App app{"execvm"};
  const std::vector<Command> commands = add_commands(app, caller);
  // The first argument names a subcommand, or else the whole command line is run's.
  bool named = !args.empty() && std::any_of(commands.begin(), commands.end(),
                                            [&](auto& c) { return c.app->check_name(args[0]); });
  if (!named) args.insert(args.begin(), "run");
  parse_command_line(app, args, args[0] == "run" ? "execvm" : "execvm " + args[0]);
  for (const Command& c : commands)
    if (c.app->parsed()) return c.run();
  throw Error("no subcommand was parsed");  // require_subcommand(1) makes this unreachable
}

}  // namespace

}  // namespace execvm

int main(int argc, char** argv) {
  using namespace execvm;
  // `execvm chain` and `execvm init` take every word after them as it is (no option parsing),
  // and run with the standard descriptors as they were given.
  if (argc > 1 && (argv[1] == std::string_view("chain") || argv[1] == std::string_view("init"))) {
    std::vector<std::string> args(argv + 2, argv + argc);
    return argv[1] == std::string_view("chain") ? tools::chain_main(args) : tools::init_main(args);
  }
  try {
    std::vector<int> closed = claim_standard_fds();
    return execvm_main(std::vector<std::string>(argv + 1, argv + argc), read_caller(closed));
  } catch (const Error& e) {
    write_all(STDERR_FILENO, "execvm: " + e.message() + "\n");
    return e.exit_code();
  } catch (const std::exception& e) {
    write_all(STDERR_FILENO, std::string("execvm: internal error: ") + e.what() + "\n");
    return kExitFailure;
  }
}
