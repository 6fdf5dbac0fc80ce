// The seed's first example: echo hello | wc -c, both bound to one runner (here: local).
//   $ echo_wc
//   6
#include <execvm/execvm.h>

#include <iostream>

int main() {
  namespace ep = execvm::pipeline;
  auto computer = ep::local_runner();
  ep::Pipeline block = computer.command("/bin/echo", "hello") | computer.command("/bin/wc", "-c");
  ep::Result result = block.run({.capture_output = true});
  std::cout << result.output;
  return result.status;
}
