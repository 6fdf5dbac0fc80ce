// A pipeline as the equivalent shell line (`execvm pipeline show`).
#include "pipeline/shell.h"

#include <variant>

#include "execvm/pipeline.h"
#include "pipeline/argv.h"
#include "util/strings.h"

namespace execvm::pipeline {

std::string words(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string q = shell_quote(argv[i]);
    if (i == 0 && q == argv[i] && argv[i].find('=') != std::string::npos) q = "'" + argv[i] + "'";
    out += (i ? " " : "") + q;
  }
  return out;
}

std::string tar_line(const Tar& t) {
  std::vector<std::string> argv{"tar"};
  switch (t.compression) {
    case Compression::kGzip:
      argv.push_back("-czf");
      break;
    case Compression::kXz:
      argv.push_back("-cJf");
      break;
    case Compression::kZstd:
      argv.insert(argv.end(), {"--zstd", "-cf"});
      break;
    case Compression::kNone:
      argv.push_back("-cf");
      break;
  }
  argv.push_back("-");
  argv.insert(argv.end(), t.files.begin(), t.files.end());
  return words(argv);
}

namespace {

std::string command_line(const Command& c, const Runner& default_runner) {
  const Runner& runner = c.runner ? *c.runner : default_runner;
  if (std::holds_alternative<VoidOptions>(runner.options())) return "cat";
  std::string line = words(stage_argv(runner, c, "execvm", ""));
  if (!std::holds_alternative<LocalOptions>(runner.options())) return line;
  // Here, the environment and directory are the shell's to set.
  std::string env;
  for (const auto& [name, value] : c.env) env += name + "=" + shell_quote(value) + " ";
  if (c.cwd.empty()) return env + line;
  return "(cd " + shell_quote(c.cwd) + " && " + env + "exec " + line + ")";
}

}  // namespace

std::vector<std::string> build_argv(const Build& b) {
  if (b.tag.empty()) throw PipelineError("a Build needs a tag: the image's name");
  std::vector<std::string> argv{b.engine, "build", "-q", "-t", b.tag};
  if (!b.file.empty()) argv.insert(argv.end(), {"-f", b.file});
  argv.insert(argv.end(), b.options.begin(), b.options.end());
  argv.push_back("-");
  return argv;
}

std::string build_line(const Build& b) {
  return words(build_argv(b));
}

std::string to_shell(const Pipeline& pipeline, const Runner& default_runner) {
  std::vector<std::string> parts;
  std::string input;  // "< FILE" after the first command
  if (pipeline.source) {
    if (const Tar* t = std::get_if<Tar>(&*pipeline.source)) {
      parts.push_back(tar_line(*t));
    } else if (pipeline.stages.empty()) {
      parts.push_back("cat " + shell_quote(std::get<File>(*pipeline.source).name));
    } else {
      input = " < " + shell_quote(std::get<File>(*pipeline.source).name);
    }
  }
  for (const Stage& s : pipeline.stages) {
    std::string line = std::holds_alternative<Command>(s)
                           ? command_line(std::get<Command>(s), default_runner)
                           : build_line(std::get<Build>(s));
    parts.push_back(line + (parts.empty() ? input : ""));
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? " | " : "") + parts[i];
  if (pipeline.sink) out += " > " + shell_quote(pipeline.sink->name);
  return out;
}

}  // namespace execvm::pipeline
