// The pipeline model's small parts: runners' names and factories, building commands and
// pipelines with | and >, and a failed result as an exception.
#include <utility>

#include "execvm/pipeline.h"

namespace execvm::pipeline {

std::string Runner::kind() const {
  static constexpr const char* kNames[] = {"local", "vm", "container", "void"};
  return kNames[options_.index()];
}

Command Runner::command(std::vector<std::string> args) const {
  Command c{std::move(args)};
  c.runner = *this;
  return c;
}

Command Runner::command(Chain chain) const {
  Command c{{}, std::move(chain)};
  c.runner = *this;
  return c;
}

Runner local_runner(LocalOptions options) {
  return Runner(std::move(options));
}
Runner vm_runner(VmOptions options) {
  return Runner(std::move(options));
}
Runner container_runner(ContainerOptions options) {
  return Runner(std::move(options));
}
Runner void_runner(bool debug) {
  return Runner(VoidOptions{debug});
}

Chain chain_of(const std::vector<Command>& commands) {
  Chain out;
  for (const Command& c : commands) {
    if (c.chain) {
      out.commands.insert(out.commands.end(), c.chain->commands.begin(), c.chain->commands.end());
    } else {
      out.commands.push_back(c.args);
    }
  }
  return out;
}

Pipeline::Pipeline(Command c) {
  stages.emplace_back(std::in_place_type<Command>, std::move(c));
}
Pipeline::Pipeline(Build b) {
  stages.emplace_back(std::in_place_type<Build>, std::move(b));
}
Pipeline::Pipeline(Tar t) : source(std::in_place, std::in_place_type<Tar>, std::move(t)) {}
Pipeline::Pipeline(File f) : source(std::in_place, std::in_place_type<File>, std::move(f)) {}

Pipeline operator|(Pipeline a, Pipeline b) {
  // A lone File on the right is where the output goes.
  if (b.stages.empty() && !b.sink && b.source && std::holds_alternative<File>(*b.source) &&
      (a.source || !a.stages.empty())) {
    return std::move(a) > std::get<File>(*b.source).name;
  }
  if (a.sink)
    throw PipelineError("cannot pipe on from a pipeline that writes the file " + a.sink->name +
                        ": it has no output left");
  if (b.source)
    throw PipelineError("only the first part of a pipeline can have a source (a Tar or a File)");
  for (Stage& s : b.stages) a.stages.push_back(std::move(s));
  a.sink = std::move(b.sink);
  return a;
}

Pipeline operator>(Pipeline a, std::string file) {
  if (a.sink) throw PipelineError("the pipeline already writes the file " + a.sink->name);
  if (file.empty()) throw PipelineError("> needs a file name");
  a.sink = File{std::move(file)};
  return a;
}

const Result& Result::check() const {
  if (interrupted)
    throw StageError("the pipeline was stopped by signal " + std::to_string(interrupted),
                     stages.empty() ? 0 : stages.size() - 1, 128 + interrupted);
  for (size_t i = stages.size(); i-- > 0;) {
    const StageResult& s = stages[i];
    if (s.status == 0) continue;
    std::string message = "stage " + std::to_string(i + 1) + " (" + s.command + ") ";
    message += s.status > 128 ? "was killed by signal " + std::to_string(s.status - 128)
                              : "exited with status " + std::to_string(s.status);
    if (!s.error.empty()) message += ": " + s.error;
    std::string err = s.stderr_output;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    if (!err.empty()) message += ": " + err;
    throw StageError(message, i, s.status);
  }
  return *this;
}

}  // namespace execvm::pipeline
