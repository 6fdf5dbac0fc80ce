#include "host/embedded.h"

extern "C" {
extern const char execvm_embedded_agent_start[], execvm_embedded_agent_end[];
extern const char execvm_embedded_kernel_config_start[], execvm_embedded_kernel_config_end[];
}

namespace execvm {

std::string_view embedded_agent() {
  return {execvm_embedded_agent_start,
          static_cast<size_t>(execvm_embedded_agent_end - execvm_embedded_agent_start)};
}

std::string_view embedded_kernel_config() {
  return {
      execvm_embedded_kernel_config_start,
      static_cast<size_t>(execvm_embedded_kernel_config_end - execvm_embedded_kernel_config_start)};
}

}  // namespace execvm
