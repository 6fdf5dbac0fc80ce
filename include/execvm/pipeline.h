// Pipelines as data: a program is a list of strings, a pipeline is a source, stages and a sink,
// and where each command runs is its runner's business (execvm/runner.h).
//
//   auto computer = execvm::pipeline::local_runner();
//   auto block = computer.command("/bin/echo", "hello") | computer.command("/bin/wc", "-c");
//   block.run({.capture_output = true}).output == "6\n"
//
//   (Tar{{"file1", "file2"}, Compression::kGzip} | command("/bin/tar", "-tzf", "-")
//       | command("wc", "-l")) > "output";         // the file output holds "2\n"
//
// (In C++ > binds tighter than |: a | b > "f" is a | (b > "f"), the same pipeline, but
// compilers ask for the parentheses.)
//
// Running one starts every stage at once, connected by pipes (nothing is buffered whole); each
// stage's stderr is the caller's unless captured; the result holds every stage's status, and
// the pipeline's is the last failing one (pipefail). A stage that dies ends the others as in a
// shell pipeline (EOF, SIGPIPE); SIGINT, SIGTERM or SIGHUP to the caller stops every stage.
//
// The JSON form (the seed's): each node is an object with one key, its type:
//   {"Command": {"args": ["/bin/echo", "hello"], "env": {}, "output": {"Command": {...}}}}
//   {"Tar": {"files": [...], "compression": "gzip", "output": ...}}   {"File": {"name": "out"}}
//   {"Build": {"tag": "img", "output": ...}}
// and a Command may also have "cwd", "runner" ({"vm": {"bare": true}}, ...) and, instead of
// "args", "chain": [["/bin/true"], ["/bin/true"]]. The seed's own notation, Command{"args": ...},
// is read too.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <concepts>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "execvm/runner.h"

namespace execvm::pipeline {

// Commands run one after the other, stopping at the first failure: realized by each runner with
// the `chain` program that exists where it runs (`execvm chain DELIM CMD... DELIM REST...`).
struct Chain {
  std::vector<std::vector<std::string>> commands;
  bool operator==(const Chain&) const = default;
};

// chain({"/bin/true"}, {"/bin/true"}), chain({{"a"}, {"b"}, {"c"}}); see also chain(Command...).
inline Chain chain(std::initializer_list<std::vector<std::string>> commands) {
  return Chain{commands};
}
inline Chain chain(std::vector<std::string> a, std::vector<std::string> b) {
  return Chain{{std::move(a), std::move(b)}};
}
inline Chain chain(std::vector<std::string> a, std::vector<std::string> b,
                   std::vector<std::string> c) {
  return Chain{{std::move(a), std::move(b), std::move(c)}};
}

// argv, environment and working directory, bound to a runner (or to the run's default one).
struct Command {
  std::vector<std::string> args;
  std::optional<Chain> chain;              // instead of ARGS
  std::map<std::string, std::string> env;  // set on top of the runner's environment
  std::string cwd;                         // empty: the runner's
  std::optional<Runner> runner;            // unset: RunOptions::runner
  bool operator==(const Command&) const = default;
};

// An unbound command: command("/bin/echo", "hello").
template <class... Args>
requires(sizeof...(Args) > 0 && (std::constructible_from<std::string, Args> && ...)) Command
    command(Args&&... args) {
  return Command{{std::string(std::forward<Args>(args))...}};
}
inline Command command(std::vector<std::string> args) {
  return Command{std::move(args)};
}
inline Command command(Chain c) {
  return Command{{}, std::move(c)};
}

// The commands' argv one after the other (a command that is a chain adds its own commands).
// Their environments, directories and runners are not part of it: a chain is one command.
Chain chain_of(const std::vector<Command>& commands);
template <class... Commands>
requires(sizeof...(Commands) > 1 && (std::same_as<std::remove_cvref_t<Commands>, Command> &&
                                     ...)) Chain chain(Commands&&... commands) {
  return chain_of({commands...});
}

template <class... Args>
requires(sizeof...(Args) > 0 && (std::constructible_from<std::string, Args> &&
                                 ...)) Command Runner::command(Args&&... args)
const {
  Command c{{std::string(std::forward<Args>(args))...}};
  c.runner = *this;
  return c;
}

enum class Compression { kNone, kGzip, kZstd, kXz };

// A tar archive of local files (directories recursively), made in this process with libarchive,
// as the first stage's input. Names as given, a leading "/" dropped (as tar does).
struct Tar {
  std::vector<std::string> files;
  Compression compression = Compression::kNone;
  bool operator==(const Tar&) const = default;
};

// A file: as the source, the first stage's input; as the sink, where the output is written.
struct File {
  std::string name;
  bool operator==(const File&) const = default;
};

// The seed's docker-build: the tar stream of a build context in, an image named TAG out (`ENGINE
// build -q -t TAG -`; its output is the image ID). Runs here, whatever the runners.
struct Build {
  std::string tag;
  std::string engine = "podman";
  std::string file;                  // the Containerfile's name in the context; empty: default
  std::vector<std::string> options;  // more `build` options
  bool operator==(const Build&) const = default;
};

using Source = std::variant<Tar, File>;
using Stage = std::variant<Command, Build>;

struct RunOptions;
struct Result;

class Pipeline {
 public:
  Pipeline() = default;
  Pipeline(Command c);
  Pipeline(Build b);
  Pipeline(Tar t);
  Pipeline(File f);

  std::optional<Source> source;  // unset: RunOptions' stdin
  std::vector<Stage> stages;
  std::optional<File> sink;  // unset: RunOptions' stdout

  // Runs it to the end. Throws PipelineError when it cannot start (an unknown runner setting, a
  // file that cannot be opened); a stage's failure is in the result (see Result::check).
  Result run(const RunOptions& options) const;
  Result run() const;

  bool operator==(const Pipeline&) const = default;
};

// A | B: A's output into B's input. A pipeline that writes a file has no output to pipe on, and
// only the first part may have a source. A lone File on the right is the sink: a | File{"out"}.
Pipeline operator|(Pipeline a, Pipeline b);
// A > "file": A's output written to the file (created, or truncated).
Pipeline operator>(Pipeline a, std::string file);

class PipelineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct StageResult;

// A stage that failed: Result::check() throws it for the last failing stage.
class StageError : public PipelineError {
 public:
  StageError(std::string message, size_t stage, int status)
      : PipelineError(std::move(message)), stage_(stage), status_(status) {}
  size_t stage() const { return stage_; }  // its index in Result::stages
  int status() const { return status_; }

 private:
  size_t stage_;
  int status_;
};

struct RunOptions {
  std::optional<Runner> runner;  // for commands bound to none; unset: local
  int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;
  std::optional<std::string> input;  // the first stage's input instead of stdin_fd
  bool capture_output = false;       // Result::output instead of stdout_fd
  bool capture_stderr = false;       // each stage's into StageResult::stderr_output
  // The execvm binary, for vm runners and the local chain(); empty: $EXECVM, else the one
  // installed with this library, else execvm in PATH.
  std::string execvm;
  // Stop every stage on SIGINT, SIGTERM and SIGHUP to this process while it runs (the
  // handlers are the caller's again afterwards).
  bool handle_signals = true;
  // How long stopped stages have to end before they are killed.
  std::chrono::milliseconds grace{5000};
  // Called with each stage's index and process id once it has started (tests, progress).
  std::function<void(size_t stage, pid_t pid)> on_start;
};

struct StageResult {
  std::string command;        // as a shell line
  std::string runner;         // "local", "vm", "container", "void", or "tar", "build"
  int status = 0;             // the exit code, 128+N when signal N killed it; 127/126: not started
  std::string error;          // why it did not start or failed in execvm, if so
  std::string stderr_output;  // with capture_stderr
};

struct Result {
  std::vector<StageResult> stages;  // the source's tar (if any), then each stage in order
  int status = 0;                   // the last failing stage's status, else 0
  int interrupted = 0;              // the signal that stopped the run, if one did
  std::string output;               // with capture_output

  bool ok() const { return status == 0 && interrupted == 0; }
  // Throws StageError naming the last failing stage, its status and its stderr, if any.
  const Result& check() const;
};

// The JSON form: to_json(pipeline) is indented by two spaces, with the seed's key order, and
// reads back into the same pipeline; to_json(from_json(text)) == text for such text.
std::string to_json(const Pipeline& pipeline);
// Reads the JSON form or the seed's notation. Throws PipelineError, one line naming the bad
// field: "at .Command.output.Command.args[1]: expected a string".
Pipeline from_json(std::string_view text);
// The seed's notation, laid out as the seed writes it: Command{\n  "args": [...],\n ...}.
std::string to_seed_notation(const Pipeline& pipeline);

// The equivalent shell line, every word quoted as needed: each command as its runner would run
// it (unbound ones with DEFAULT_RUNNER), "tar -czf - ..." for a Tar, "< in" and "> out" for files.
std::string to_shell(const Pipeline& pipeline, const Runner& default_runner = Runner());

// The argv that RUNNER runs for COMMAND (the run's EXECVM as in RunOptions::execvm).
std::vector<std::string> runner_argv(const Runner& runner, const Command& command,
                                     const std::string& execvm = "");

}  // namespace execvm::pipeline
