#include "cli/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/options.h"
#include "cli/settings.h"
#include "config/trust.h"
#include "host/session.h"
#include "util/sys.h"

namespace execvm {

Command add_run_command(CLI::App& app, const Caller& caller) {
  CLI::App* run = app.add_subcommand("run", "run COMMAND in a fresh micro-VM (the default)");
  auto parser = std::make_shared<RunParser>(*run);
  return {run, [parser, &caller] {
            ParsedRun parsed = parser->result();
            if (parsed.output) {
              write_all(STDOUT_FILENO, *parsed.output);
              return parsed.status;
            }
            apply_project_file(parsed, TrustStore(default_trust_dir()));
            return run_session(parsed.options, caller);
          }};
}

std::vector<Command> add_commands(CLI::App& app, const Caller& caller) {
  app.set_help_flag();  // each subcommand has its own text
  app.require_subcommand(1);
  return {
      add_run_command(app, caller), add_kernel_command(app),    add_doctor_command(app, caller),
      add_image_command(app),       add_initramfs_command(app), add_trust_command(app),
      add_pipeline_command(app),
  };
}

}  // namespace execvm
