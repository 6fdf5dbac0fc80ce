// execvm pipeline run|show FILE.json: a pipeline written as data (libexecvm's JSON form) run with
// a chosen runner, or printed as the equivalent shell line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "execvm/pipeline.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr const char* kPipelineUsage =
    R"(usage: execvm pipeline run FILE.json|- [RUNNER] [-- RUNNER_OPTION...]
       execvm pipeline show FILE.json|- [RUNNER] [--format shell|json|seed] [-- RUNNER_OPTION...]

Run a pipeline written as JSON (FILE, or - for stdin), every stage at once, connected by pipes;
or print it as the equivalent shell line (or as JSON, or in the seed's notation). A command
that names its own runner in the JSON runs with it; the others run with RUNNER:

  --runner local|vm|container|void   where the commands run (default local):
      local      here, each one exec'd without a shell
      vm         each one in its own execvm VM; RUNNER_OPTIONs are execvm's options
                 (-- --bare --memory 1G)
      container  each one in its own container (--image IMAGE, --engine podman|docker);
                 RUNNER_OPTIONs are the engine's `run` options
      void       nowhere: each command passes its input through unchanged
  --image IMAGE    the container's image, or the VM's root image (execvm --image)
  --engine NAME    the container engine: podman (default) or docker
  --debug          with void: print each command it would run on stderr

The pipeline's exit status is the last failing stage's (as with set -o pipefail); 125 when
the pipeline cannot be read or started.
)";

struct PipelineArgs {
  bool help = false;
  std::string file;
  std::string runner = "local";
  std::string image, engine = "podman", format = "shell";
  bool debug = false;
  std::vector<std::string> runner_options;
};

pipeline::Runner make_runner(const PipelineArgs& a) {
  auto refuse = [&](bool given, const std::string& what) {
    if (given)
      throw Error(what + " is not for the " + a.runner + " runner", "see execvm pipeline --help");
  };
  if (a.runner != "container") refuse(a.engine != "podman", "--engine");
  if (a.runner != "void") refuse(a.debug, "--debug");
  if (a.runner == "local") {
    refuse(!a.image.empty(), "--image");
    if (!a.runner_options.empty()) refuse(true, "a runner option (" + a.runner_options[0] + ")");
    return pipeline::local_runner();
  }
  if (a.runner == "void") {
    refuse(!a.image.empty(), "--image");
    if (!a.runner_options.empty()) refuse(true, "a runner option (" + a.runner_options[0] + ")");
    return pipeline::void_runner(a.debug);
  }
  if (a.runner == "vm") {
    pipeline::VmOptions o;
    o.image = a.image;
    o.args = a.runner_options;
    return pipeline::vm_runner(o);
  }
  if (a.image.empty()) throw Error("the container runner needs an image", "add --image IMAGE");
  pipeline::ContainerOptions o;
  o.image = a.image;
  o.engine = a.engine;
  o.options = a.runner_options;
  return pipeline::container_runner(o);
}

pipeline::Pipeline read_pipeline(const std::string& file) {
  std::string text = file == "-" ? read_all(STDIN_FILENO) : read_file(file);
  try {
    return pipeline::from_json(text);
  } catch (const pipeline::PipelineError& e) {
    throw Error((file == "-" ? std::string("stdin") : file) + ": " + e.what());
  }
}

// This very execvm, for the vm runner and the local chain().
std::string self() {
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : "execvm";
}

}  // namespace

Command add_pipeline_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("pipeline", "run a pipeline written as data");
  CLI::App* run = command->add_subcommand("run", "run a pipeline");
  CLI::App* show = command->add_subcommand("show", "print a pipeline as a shell line");
  auto args = std::make_shared<PipelineArgs>();
  command->add_flag("-h,--help", args->help);
  for (CLI::App* sub : {run, show}) {
    sub->add_flag("-h,--help", args->help);
    sub->add_option("FILE", args->file);
    sub->add_option("--runner", args->runner)
        ->check(CLI::IsMember({"local", "vm", "container", "void"}));
    sub->add_option("--image", args->image);
    sub->add_option("--engine", args->engine)->check(CLI::IsMember({"podman", "docker"}));
    sub->add_flag("--debug", args->debug);
    sub->add_option("RUNNER_OPTION", args->runner_options);
    sub->positionals_at_end();
  }
  show->add_option("--format", args->format)->check(CLI::IsMember({"shell", "json", "seed"}));
  return {command, [=]() -> int {
            if (args->help || (!*run && !*show)) {
              if (!args->help)
                throw Error("execvm pipeline needs a command: run or show",
                            "see execvm pipeline --help");
              std::cout << kPipelineUsage;
              return 0;
            }
            if (args->file.empty())
              throw Error("execvm pipeline " + std::string(*run ? "run" : "show") +
                              " needs the pipeline's file (- for stdin)",
                          "see execvm pipeline --help");
            // CLI11 keeps the "--" that ends the options among them.
            auto& extra = args->runner_options;
            if (!extra.empty() && extra.front() == "--") extra.erase(extra.begin());
            pipeline::Pipeline p = read_pipeline(args->file);
            pipeline::Runner runner = make_runner(*args);
            try {
              if (*show) {
                if (args->format == "json") {
                  std::cout << pipeline::to_json(p);
                } else if (args->format == "seed") {
                  std::cout << pipeline::to_seed_notation(p);
                } else {
                  std::cout << pipeline::to_shell(p, runner) << "\n";
                }
                return 0;
              }
              pipeline::RunOptions options;
              options.runner = runner;
              options.execvm = self();
              pipeline::Result result = p.run(options);
              return result.status;
            } catch (const pipeline::PipelineError& e) {
              throw Error(e.what());
            }
          }};
}

}  // namespace execvm
