#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "kernel/kernel.h"
#include "util/error.h"
#include "util/paths.h"

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

std::string human_size(uint64_t bytes) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

int list_kernels() {
  auto kernels = list_cached_kernels(cache_root());
  if (kernels.empty()) {
    std::cout << "no kernels in " << cache_root() << "/kernels; run `execvm kernel build`\n";
    return 0;
  }
  printf("  %-36s %-22s %-12s %10s  %s\n", "ID", "SOURCE", "CONFIG", "SIZE", "BUILT");
  for (const auto& k : kernels)
    printf("%c %-36s %-22s %-12s %10s  %s\n", k.current ? '*' : ' ', k.id.c_str(),
           k.source_version.c_str(), k.config_hash.c_str(), human_size(k.bytes).c_str(),
           k.built_at.c_str());
  return 0;
}

}  // namespace

int kernel_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kKernelUsage;
    return args.empty() ? kExitFailure : 0;
  }
  if (args[0] == "ls") {
    if (args.size() > 1) throw Error("execvm kernel ls takes no arguments");
    return list_kernels();
  }
  if (args[0] == "path") {
    if (args.size() > 1) throw Error("execvm kernel path takes no arguments");
    auto kernel = find_cached_kernel(cache_root());
    if (!kernel)
      throw Error("execvm's kernel is not built on this machine", "run `execvm kernel build`");
    std::cout << kernel->path << "\n";
    return 0;
  }
  if (args[0] == "build") {
    CLI::App app{"execvm kernel build"};
    app.set_help_flag();
    KernelBuildOptions options;
    options.cache_root = cache_root();
    bool help = false;
    app.add_flag("-h,--help", help);
    app.add_flag("--force", options.force);
    app.add_option("--jobs", options.jobs)->check(CLI::Range(1u, 1024u));
    app.add_option("--source", options.source_tarball);
    parse_command_line(app, std::vector<std::string>(args.begin() + 1, args.end()),
                       "execvm kernel");
    if (help) {
      std::cout << kKernelUsage;
      return 0;
    }
    Kernel kernel = build_kernel(options);
    std::cout << kernel.path << "\n";
    return 0;
  }
  throw Error("unknown kernel command " + args[0], "see execvm kernel --help");
}

}  // namespace execvm
