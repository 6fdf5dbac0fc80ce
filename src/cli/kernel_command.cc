#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/settings.h"
#include "kernel/kernel.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

constexpr const char* kKernelUsage = R"(usage: execvm kernel ls
       execvm kernel path
       execvm kernel build [--force] [--jobs N] [--source TARBALL]

Manage execvm's guest kernels, kept in the cache (~/.cache/execvm/kernels, or
$XDG_CACHE_HOME/execvm/kernels).

  ls       list the cached kernels; "*" marks the ones this execvm boots by default
  path     print the path of the kernel execvm boots by default
  build    build execvm's kernel from Debian's linux-source-6.12 (apt-get install
           linux-source-6.12) with execvm's config, unless it is cached already; about
           10 minutes on 2 cores and 2 GB of temporary disk, once per machine
    --force        build again even when the cache has it
    --jobs N       parallel compile jobs (default: one per CPU)
    --source PATH  the kernel source tarball (default /usr/src/linux-source-6.12.tar.xz)
)";

int list_kernels() {
  auto kernels = list_cached_kernels(cache_root());
  if (kernels.empty()) {
    std::cout << "no kernels in " << cache_root() << "/kernels; run `execvm kernel build`\n";
    return 0;
  }
  printf("  %-36s %-22s %-12s %10s  %s\n", "ID", "SOURCE", "CONFIG", "SIZE", "BUILT");
  for (const auto& k : kernels)
    printf("%c %-36s %-22s %-12s %10s  %s\n", k.current ? '*' : ' ', k.id.c_str(),
           k.source_version.c_str(), k.config_hash.c_str(), format_mib(k.bytes).c_str(),
           k.built_at.c_str());
  return 0;
}

}  // namespace

Command add_kernel_command(CLI::App& app) {
  CLI::App* kernel = app.add_subcommand("kernel", "manage execvm's guest kernels");
  CLI::App* ls = kernel->add_subcommand("ls", "list the cached kernels");
  CLI::App* path = kernel->add_subcommand("path", "the kernel execvm boots by default");
  CLI::App* build = kernel->add_subcommand("build", "build execvm's kernel");
  struct State {
    bool help = false;
    KernelBuildOptions build;
  };
  auto state = std::make_shared<State>();
  for (CLI::App* sub : {kernel, build}) sub->add_flag("-h,--help", state->help);
  build->add_flag("--force", state->build.force);
  build->add_option("--jobs", state->build.jobs)
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& text) {
            whole_number({text, "--jobs " + shell_quote(text)}, 1, 1024);
            return std::string();
          },
          ""));
  build->add_option("--source", state->build.source_tarball);
  return {kernel, [=] {
            if (state->help) {
              std::cout << kKernelUsage;
              return 0;
            }
            if (*ls) return list_kernels();
            if (*path) {
              auto found = find_cached_kernel(cache_root());
              if (!found)
                throw Error("execvm's kernel is not built on this machine",
                            "run `execvm kernel build`");
              std::cout << found->path << "\n";
              return 0;
            }
            if (*build) {
              state->build.cache_root = cache_root();
              std::cout << build_kernel(state->build).path << "\n";
              return 0;
            }
            throw Error("execvm kernel needs a command: ls, path or build",
                        "see execvm kernel --help");
          }};
}

}  // namespace execvm
