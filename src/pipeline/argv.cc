#include "pipeline/argv.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace execvm::pipeline {

namespace {

// A delimiter that WORDS does not contain: "--", else "---", and so on.
std::string delimiter_for(const std::vector<std::string>& words) {
  std::string d = "--";
  while (std::find(words.begin(), words.end(), d) != words.end()) d += '-';
  return d;
}

template <class... Overloads>
struct Visitor : Overloads... {
  using Overloads::operator()...;
};

// Whether a container engine's run OPTIONS choose its network.
bool names_network(const std::vector<std::string>& options) {
  for (const std::string& o : options)
    if (o == "--network" || o == "--net" || o.starts_with("--network=") || o.starts_with("--net="))
      return true;
  return false;
}

}  // namespace

std::vector<std::string> chain_argv(const Chain& chain, const std::vector<std::string>& program) {
  if (chain.commands.empty()) throw PipelineError("chain() needs at least one command");
  for (size_t i = 0; i < chain.commands.size(); ++i)
    if (chain.commands[i].empty())
      throw PipelineError("chain(): command " + std::to_string(i + 1) + " is empty");
  // From the last command outwards: each level runs its command, then execs the rest.
  std::vector<std::string> rest = chain.commands.back();
  for (size_t i = chain.commands.size() - 1; i-- > 0;) {
    const std::vector<std::string>& first = chain.commands[i];
    std::string d = delimiter_for(first);
    std::vector<std::string> level = program;
    level.push_back("chain");
    level.push_back(d);
    level.insert(level.end(), first.begin(), first.end());
    level.push_back(d);
    level.insert(level.end(), rest.begin(), rest.end());
    rest = std::move(level);
  }
  return rest;
}

std::string resolve_execvm(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("EXECVM"); env && *env) return env;
#ifdef EXECVM_INSTALLED_BINARY
  if (::access(EXECVM_INSTALLED_BINARY, X_OK) == 0) return EXECVM_INSTALLED_BINARY;
#endif
  return "execvm";
}

std::vector<std::string> vm_flags(const VmOptions& o) {
  std::vector<std::string> flags;
  if (!o.initrd.empty()) flags.insert(flags.end(), {"--initrd", o.initrd});
  if (o.bare) flags.push_back("--bare");
  if (!o.image.empty()) flags.insert(flags.end(), {"--image", o.image});
  if (!o.kernel.empty()) flags.insert(flags.end(), {"--kernel", o.kernel});
  if (o.cpus) flags.insert(flags.end(), {"--cpus", std::to_string(o.cpus)});
  if (!o.memory.empty()) flags.insert(flags.end(), {"--memory", o.memory});
  // Guest names in order: /dev/vda is the first virtio disk, /dev/vdb the second, ...
  std::vector<std::pair<std::string, std::string>> devices;
  for (const auto& [file, guest] : o.devices) devices.emplace_back(guest, file);
  std::sort(devices.begin(), devices.end());
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& [guest, file] = devices[i];
    std::string expected = std::string("/dev/vd") + static_cast<char>('a' + i);
    if (guest != expected || i >= 26)
      throw PipelineError("the vm runner's device " + guest + " (for " + file +
                          "): the devices are the guest's virtio disks in order, named " +
                          "/dev/vda, /dev/vdb, ...; expected " + expected);
    flags.insert(flags.end(), {"--disk", file + ":serial=" + guest.substr(5)});
  }
  flags.insert(flags.end(), o.args.begin(), o.args.end());
  return flags;
}

std::vector<std::string> command_argv(const Command& command,
                                      const std::vector<std::string>& program) {
  if (command.chain) {
    if (!command.args.empty())
      throw PipelineError("a command has either args or a chain, not both");
    return chain_argv(*command.chain, program);
  }
  if (command.args.empty()) throw PipelineError("a command has no args: nothing to run");
  return command.args;
}

std::vector<std::string> stage_argv(const Runner& runner, const Command& command,
                                    const std::string& execvm, const std::string& container_name) {
  return std::visit(
      Visitor{
          [&](const LocalOptions& o) {
            return command_argv(command, o.chain_program.empty()
                                             ? std::vector<std::string>{resolve_execvm(execvm)}
                                             : o.chain_program);
          },
          [&](const VmOptions& o) {
            std::vector<std::string> argv{resolve_execvm(o.execvm.empty() ? execvm : o.execvm)};
            for (std::string& f : vm_flags(o)) argv.push_back(std::move(f));
            for (const auto& [name, value] : command.env)
              argv.insert(argv.end(), {"-e", name + "=" + value});
            if (!command.cwd.empty()) argv.insert(argv.end(), {"-w", command.cwd});
            argv.push_back("--");
            for (std::string& a : command_argv(command, {kGuestExecvm}))
              argv.push_back(std::move(a));
            return argv;
          },
          [&](const ContainerOptions& o) {
            if (o.image.empty()) throw PipelineError("the container runner needs an image");
            std::vector<std::string> argv{o.engine, "run", "-i", "--rm"};
            if (!container_name.empty()) argv.insert(argv.end(), {"--name", container_name});
            // No network unless asked, as in execvm's VMs (and podman's default network would
            // leave a bridge and firewall rules on the host).
            if (!names_network(o.options)) argv.insert(argv.end(), {"--network", "none"});
            argv.insert(argv.end(), o.options.begin(), o.options.end());
            for (const auto& [name, value] : command.env)
              argv.insert(argv.end(), {"-e", name + "=" + value});
            if (!command.cwd.empty()) argv.insert(argv.end(), {"-w", command.cwd});
            argv.push_back(o.image);
            for (std::string& a : command_argv(command, o.chain_program))
              argv.push_back(std::move(a));
            return argv;
          },
          [&](const VoidOptions&) { return command_argv(command, {"execvm"}); },
      },
      runner.options());
}

std::vector<std::string> chain_program(const Runner& runner, const std::string& execvm) {
  if (const auto* l = std::get_if<LocalOptions>(&runner.options()))
    return l->chain_program.empty() ? std::vector<std::string>{resolve_execvm(execvm)}
                                    : l->chain_program;
  if (std::holds_alternative<VmOptions>(runner.options())) return {kGuestExecvm};
  if (const auto* c = std::get_if<ContainerOptions>(&runner.options())) return c->chain_program;
  return {"execvm"};
}

std::vector<std::string> runner_argv(const Runner& runner, const Command& command,
                                     const std::string& execvm) {
  return stage_argv(runner, command, execvm, "");
}

}  // namespace execvm::pipeline
