// Stages on different runners: stdin through a local cat, a sha256sum in an execvm VM (a bare
// one, with 256 MiB) and a local cut, to stdout. The VM is the execvm binary's run: $EXECVM,
// else the execvm installed with the library, else execvm from PATH.
//   $ head -c 1000000 /dev/urandom | mixed_runners
#include <execvm/execvm.h>

#include <iostream>

int main() {
  namespace ep = execvm::pipeline;
  auto here = ep::local_runner();
  ep::VmOptions options;
  options.bare = true;
  options.memory = "256M";
  auto vm = ep::vm_runner(options);
  ep::Pipeline block =
      here.command("cat") | vm.command("sha256sum") | here.command("cut", "-d", " ", "-f", "1");
  std::cerr << ep::to_shell(block) << "\n";
  ep::Result result = block.run();
  for (const ep::StageResult& stage : result.stages)
    std::cerr << stage.runner << ": " << stage.command << ": " << stage.status << "\n";
  return result.status;
}
