#include "tools/tools.h"

#include <unistd.h>

#include "util/paths.h"
#include "util/sys.h"

namespace execvm::tools {

std::string tool_for(const std::string& argv0, const std::vector<std::string>& args, size_t* skip) {
  *skip = 0;
  if (!args.empty() && (args[0] == "chain" || args[0] == "init")) {
    *skip = 1;
    return args[0];
  }
  // Not "init" by name: execvm's own initramfs has the agent itself as /init.
  if (base_name(argv0) == "chain") return "chain";
  return "";
}

void print_error(const std::string& message) {
  write_all(STDERR_FILENO, "execvm: " + message + "\n");
}

}  // namespace execvm::tools
