// The seed's tar-in-process example: an archive of FILEs made here, listed by tar, counted by
// wc -l into OUTPUT; the pipeline is printed as JSON and as a shell line first.
//   $ tar_count output file1 file2 && cat output
//   2
#include <execvm/execvm.h>

#include <iostream>

int main(int argc, char** argv) {
  namespace ep = execvm::pipeline;
  if (argc < 3) {
    std::cerr << "usage: tar_count OUTPUT FILE...\n";
    return 2;
  }
  auto computer = ep::local_runner();
  ep::Tar archive{{argv + 2, argv + argc}, ep::Compression::kGzip};
  ep::Pipeline block = (archive | computer.command("/bin/tar", "-tzf", "-") |
                        computer.command("wc", "-l")) > argv[1];
  std::cerr << ep::to_json(block) << ep::to_shell(block) << "\n";
  try {
    block.run().check();
  } catch (const ep::PipelineError& e) {
    std::cerr << "tar_count: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
