// execvm's subcommands: each registers itself on the top-level parser and says what to do
// when it was the one given.
#pragma once

#include <functional>
#include <vector>

namespace CLI {
class App;
}

namespace execvm {

struct Caller;

struct Command {
  CLI::App* app;             // the subcommand's parser, a child of the top-level one
  std::function<int()> run;  // once the command line has parsed: runs it, returns the status
};

// execvm [run] [OPTIONS] [--] COMMAND [ARG...], for CALLER (which outlives the command)
Command add_run_command(CLI::App& app, const Caller& caller);

// execvm kernel ls|path|build [...]
Command add_kernel_command(CLI::App& app);

// execvm doctor [OPTIONS] [--no-boot] [[--] COMMAND [ARG...]], describing a run for CALLER
Command add_doctor_command(CLI::App& app, const Caller& caller);

// execvm image ls|inspect|rm|prune [...]
Command add_image_command(CLI::App& app);

// execvm initramfs --output FILE [--compress C] [--add HOST[:GUEST]]... [--from-tar T] [PROGRAM...]
Command add_initramfs_command(CLI::App& app);

// execvm trust [--revoke] [FILE] | --list
Command add_trust_command(CLI::App& app);

// execvm pipeline run|show FILE.json|- [...]
Command add_pipeline_command(CLI::App& app);

// All of them, on APP: execvm's top-level parser, which takes exactly one of them.
std::vector<Command> add_commands(CLI::App& app, const Caller& caller);

}  // namespace execvm
