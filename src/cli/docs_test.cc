// The documentation stays true to the parsers: every flag any of them accepts (the run options
// and each subcommand's) is in --help, in the README and in the man page, and every subcommand
// is in the README.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <regex>

#include "cli/commands.h"
#include "cli/options.h"
#include "host/caller.h"
#include "util/sys.h"

namespace execvm {
namespace {

// This repository's top directory: this file is src/cli/docs_test.cc in it.
std::filesystem::path repository() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

struct Flag {
  std::string flag;     // "--cpus", "-v"
  std::string command;  // the subcommand that takes it: "run", "kernel build"
};

// Every subcommand of APP (as "kernel build") and the flags of each.
void collect(const CLI::App& app, const std::string& prefix, std::vector<std::string>& commands,
             std::vector<Flag>& flags) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    std::string name = prefix + sub->get_name();
    commands.push_back(name);
    for (const CLI::Option* option : sub->get_options()) {
      for (const std::string& l : option->get_lnames()) flags.push_back({"--" + l, name});
      for (const std::string& s : option->get_snames()) flags.push_back({"-" + s, name});
    }
    collect(*sub, name + " ", commands, flags);
  }
}

// Whether TEXT has FLAG as a word of its own (so that "-v" is not found in "--version"), with
// each dash written as DASH_PATTERN: "-", or "\\\\-" for the man page's "\\-".
bool mentions(const std::string& text, const std::string& flag, const std::string& dash_pattern) {
  std::string pattern;
  for (char c : flag) pattern += c == '-' ? dash_pattern : std::string(1, c);
  return std::regex_search(text, std::regex("(^|[^-])" + pattern + "($|[^-a-zA-Z])"));
}

TEST(Docs, EveryFlagAndSubcommandIsDocumented) {
  CLI::App app{"execvm"};
  Caller caller;
  std::vector<Command> commands = add_commands(app, caller);
  std::vector<std::string> names;
  std::vector<Flag> flags;
  collect(app, "", names, flags);
  ASSERT_GT(flags.size(), 20u);

  std::string help = run_help();
  std::string readme = read_file(repository() / "README.md");
  std::string man = read_file(repository() / "doc/execvm.1");
  for (const Flag& f : flags) {
    EXPECT_TRUE(mentions(help, f.flag, "-")) << f.flag << " of " << f.command << ": not in --help";
    EXPECT_TRUE(mentions(readme, f.flag, "-"))
        << f.flag << " of " << f.command << ": not in README.md";
    EXPECT_TRUE(mentions(man, f.flag, "\\\\-"))
        << f.flag << " of " << f.command << ": not in doc/execvm.1";
  }
  for (const std::string& name : names) {
    if (name == "run") continue;  // `execvm COMMAND`, which the README shows throughout
    EXPECT_THAT(readme, ::testing::HasSubstr("execvm " + name)) << name;
  }
}

}  // namespace
}  // namespace execvm
