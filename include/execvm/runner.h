// Runners: where a command runs. A runner is plain data (its options); a Command is bound to one
// when it is made (runner.command(...)), and each stage of a pipeline runs with its own.
//
//   local      fork/exec here, no shell
//   vm         each command in its own execvm VM: the execvm binary itself, with these options
//              as its flags (exactly `execvm [OPTIONS] -- COMMAND`)
//   container  each command in its own container: `podman run -i --rm [OPTIONS] IMAGE COMMAND`
//              (or docker), every container the same; `--network none` comes first unless
//              OPTIONS choose a network
//   void       runs nothing: a command passes its input through unchanged (with debug, it
//              prints each command it would run on stderr)
#pragma once

#include <concepts>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace execvm::pipeline {

struct Command;
struct Chain;

struct LocalOptions {
  // The program that realizes chain() here, before its "chain" argument; empty: the execvm
  // binary (see RunOptions::execvm).
  std::vector<std::string> chain_program;
  bool operator==(const LocalOptions&) const = default;
};

// execvm's run options for every VM of the runner. Each field set is one flag of `execvm run`
// (see execvm --help); ARGS are more flags, verbatim ("--sudo", "-v", "/data:/data:ro").
struct VmOptions {
  bool bare = false;   // --bare
  std::string image;   // --image REF
  std::string kernel;  // --kernel PATH
  std::string initrd;  // the seed's initrd form: the guest's root is this initramfs (--initrd)
  unsigned cpus = 0;   // --cpus N (0: execvm's default)
  std::string memory;  // --memory SIZE ("" : execvm's default)
  // The seed's devices={"/local/file": "/dev/vda"}: each file attached as a virtio disk
  // (--disk FILE:serial=vdX), in the order of their guest names /dev/vda, /dev/vdb, ...
  std::map<std::string, std::string> devices;
  std::vector<std::string> args;  // more execvm options, verbatim
  std::string execvm;             // the execvm binary; empty: see RunOptions::execvm
  bool operator==(const VmOptions&) const = default;
};

struct ContainerOptions {
  std::string image;
  std::string engine = "podman";     // or "docker"
  std::vector<std::string> options;  // more `run` options, before IMAGE
  // The program that realizes chain() inside the image, before its "chain" argument.
  std::vector<std::string> chain_program = {"execvm"};
  bool operator==(const ContainerOptions&) const = default;
};

struct VoidOptions {
  bool debug = false;
  bool operator==(const VoidOptions&) const = default;
};

class Runner {
 public:
  using Options = std::variant<LocalOptions, VmOptions, ContainerOptions, VoidOptions>;

  Runner() = default;  // local
  explicit Runner(Options options) : options_(std::move(options)) {}

  const Options& options() const { return options_; }
  // "local", "vm", "container" or "void".
  std::string kind() const;

  // A command bound to this runner: runner.command("/bin/echo", "hello").
  template <class... Args>
  requires(sizeof...(Args) > 0 && (std::constructible_from<std::string, Args> && ...)) Command
      command(Args&&... args)
  const;
  Command command(std::vector<std::string> args) const;
  Command command(Chain chain) const;

  bool operator==(const Runner&) const = default;

 private:
  Options options_;
};

Runner local_runner(LocalOptions options = {});
Runner vm_runner(VmOptions options = {});
Runner container_runner(ContainerOptions options);
Runner void_runner(bool debug = false);

}  // namespace execvm::pipeline
