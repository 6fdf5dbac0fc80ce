#include "tools/chain.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "guest/exec_path.h"
#include "tools/tools.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/sys.h"

extern char** environ;

namespace execvm::tools {

namespace {

constexpr const char* kUsageLine = "usage: execvm chain DELIM COMMAND [ARG...] [DELIM REST...]";

Error usage_error(const std::string& what) {
  return Error(what, kUsageLine, kExitUsage);
}

bool is_agent_chain(const std::vector<std::string>& argv) {
  return argv.size() >= 2 && argv[0] == kToolsPath && argv[1] == "chain";
}

void collect(const std::vector<std::string>& argv, std::vector<std::vector<std::string>>& out) {
  if (!is_agent_chain(argv)) {
    out.push_back(argv);
    return;
  }
  std::vector<std::string> args(argv.begin() + 2, argv.end());
  if (args.empty()) return;
  // What comes before the mistake still runs: FIRST when only REST is empty.
  auto end = std::find(args.begin() + 1, args.end(), args[0]);
  std::vector<std::string> first(args.begin() + 1, end);
  if (first.empty()) return;
  collect(first, out);
  if (end != args.end() && end + 1 != args.end())
    collect(std::vector<std::string>(end + 1, args.end()), out);
}

}  // namespace

ChainParts split_chain(const std::vector<std::string>& args) {
  if (args.empty()) throw usage_error("chain needs a delimiter and a command");
  const std::string& delimiter = args[0];
  auto end = std::find(args.begin() + 1, args.end(), delimiter);
  ChainParts parts;
  parts.first.assign(args.begin() + 1, end);
  if (parts.first.empty()) {
    throw usage_error(end == args.end()
                          ? "chain has no command after the delimiter " + shell_quote(delimiter)
                          : "chain has an empty command before the delimiter " +
                                shell_quote(delimiter));
  }
  if (end != args.end()) {
    parts.rest.assign(end + 1, args.end());
    if (parts.rest.empty())
      throw usage_error("chain has no command after the last delimiter " + shell_quote(delimiter));
  }
  return parts;
}

std::vector<std::vector<std::string>> commands_run_by(const std::vector<std::string>& argv) {
  std::vector<std::vector<std::string>> out;
  collect(argv, out);
  return out;
}

std::string chain_usage() {
  return std::string(kUsageLine) + R"(

Run COMMAND and wait for it; when it succeeds, exec REST in chain's place. The first argument
is the delimiter (any word: --, '>>=', ...); COMMAND is everything up to its next occurrence and
REST everything after it, so that REST may be another `execvm chain` and chains nest. Without a
second delimiter COMMAND is exec'd. No shell is involved: each command is an argv, looked up
in PATH as execvp does.

Exit status: REST's; COMMAND's when it failed (128+N when signal N killed it); 2 for a usage
error (no delimiter, an empty command); 126 or 127 when a command cannot be executed or is not
found. Inside every execvm guest the same tool is /run/execvm/execvm chain.

Example:
  execvm chain -- /bin/tar -xf archive.tar -- execvm chain -- /usr/bin/make -- /bin/cat out
)";
}

int exec_program(const std::vector<std::string>& argv) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  guest::ExecPlan plan = guest::plan_exec(argv, env);
  guest::exec_command(plan);
  Error e = guest::describe_exec_failure(plan);
  print_error(e.message());
  return e.exit_code();
}

int chain_main(const std::vector<std::string>& args) {
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    write_all(STDOUT_FILENO, chain_usage());
    return 0;
  }
  ChainParts parts;
  try {
    parts = split_chain(args);
  } catch (const Error& e) {
    print_error(e.message());
    return e.exit_code();
  }
  if (parts.rest.empty()) return exec_program(parts.first);

  // SIGCHLD ignored (inherited so from the caller) would reap FIRST before chain can ask for
  // its status: the default while waiting; FIRST and REST get the caller's disposition.
  struct sigaction dfl {
  }, caller{};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &dfl, &caller);
  pid_t pid = ::fork();
  if (pid < 0) {
    print_error(std::string("chain: fork: ") + strerror(errno));
    return kExitFailure;
  }
  if (pid == 0) {
    ::sigaction(SIGCHLD, &caller, nullptr);
    ::_exit(exec_program(parts.first));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      print_error(std::string("chain: wait: ") + strerror(errno));
      return kExitFailure;
    }
  }
  ::sigaction(SIGCHLD, &caller, nullptr);
  if (int code = shell_status(status); code != 0) return code;
  return exec_program(parts.rest);
}

}  // namespace execvm::tools
