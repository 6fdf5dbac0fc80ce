// Files execvm carries inside its own binary (see CMakeLists.txt): the guest agent, and the
// kernel config fragment from kernel/config/.
#pragma once

#include <string_view>

namespace execvm {

std::string_view embedded_agent();
std::string_view embedded_kernel_config();

}  // namespace execvm
