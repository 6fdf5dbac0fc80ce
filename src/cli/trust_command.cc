// execvm trust: the user's consent to a project file that asks for more than its work tree.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/settings.h"
#include "config/trust.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

constexpr const char* kTrustUsage = R"(usage: execvm trust [FILE]
       execvm trust --revoke [FILE]
       execvm trust --list

A project file (.execvm.toml) that asks for more than its own work tree, `sudo = true` or a
volume from outside it, runs only once you have allowed it: `execvm trust` allows FILE as it
is now (a changed file asks again). FILE defaults to the project file a run in this directory
reads. Consent is kept in ${XDG_DATA_HOME:-~/.local/share}/execvm/trusted.

  --revoke               forget FILE (whatever it held)
  --list                 list the trusted files
  -h, --help             this text
)";

// FILE as given, else the project file of a run here.
std::string file_or_here(const std::string& file) {
  if (!file.empty()) return file;
  if (auto here = project_file_for(RunOptions{})) return *here;
  throw Error(std::string("no project file here (") + kProjectFileName +
                  " in this directory or at the top of its git work tree)",
              "name one: execvm trust FILE");
}

int list(const TrustStore& store) {
  for (const std::string& file : store.list()) {
    std::string state;
    try {
      if (!store.trusts(file, read_project_text(file))) state = " (changed since: asks again)";
    } catch (const Error&) {
      state = " (cannot be read now)";
    }
    std::cout << file << state << "\n";
  }
  return 0;
}

}  // namespace

Command add_trust_command(CLI::App& app) {
  CLI::App* trust = app.add_subcommand("trust", "allow a project file what it asks for");
  struct State {
    bool help = false, revoke = false, list = false;
    std::string file;
  };
  auto state = std::make_shared<State>();
  trust->add_flag("-h,--help", state->help);
  CLI::Option* revoke = trust->add_flag("--revoke", state->revoke);
  CLI::Option* listing = trust->add_flag("--list", state->list)->excludes(revoke);
  trust->add_option("FILE", state->file)->excludes(listing);
  return {trust, [state] {
            if (state->help) {
              std::cout << kTrustUsage;
              return 0;
            }
            TrustStore store(default_trust_dir());
            if (state->list) return list(store);
            std::string file = file_or_here(state->file);
            if (state->revoke) {
              std::string name = trust_name(file);
              std::cout << (store.revoke(name) ? "forgot " + name : name + " was not trusted")
                        << "\n";
              return 0;
            }
            // A file with errors is not trusted: what it asks for is known only once it reads.
            ProjectSettings project = read_project_settings(file);
            std::string name = trust_name(project.file.path);
            store.trust(name, project.file.content);
            std::string asks;
            for (const std::string& b : project.beyond) asks += (asks.empty() ? "" : ", ") + b;
            std::cout << "trusted " << name
                      << (asks.empty() ? " (it asks for nothing beyond its work tree)"
                                       : ": it may use " + asks)
                      << "\n";
            return 0;
          }};
}

}  // namespace execvm
