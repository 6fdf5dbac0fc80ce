// Words of the kernel's command line: as the kernel splits it (lib/cmdline.c's next_arg, and
// init/main.c, which gives init what follows `--`), and as a shell would split that part.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execvm::tools {

// The kernel's command line CMDLINE (as /proc/cmdline has it), in its parts.
struct KernelCommandLine {
  // The parameters before the first `--`, as the kernel reads them: "name" or "name=value", a
  // double-quoted word or value without its quotes.
  std::vector<std::string> params;
  // The text after the first `--` (from its next word on), when there is a `--`.
  std::optional<std::string> init_text;
};
KernelCommandLine split_kernel_command_line(std::string_view cmdline);

// The value of the parameter NAME in CMDLINE's parameters (the last one, as the kernel
// takes it), or nullopt when it is not there with a value.
std::optional<std::string> kernel_parameter(std::string_view cmdline, std::string_view name);

// The arguments the kernel gives init from TEXT, the part after `--`: its words split at blanks
// with double quotes grouping, each without a leading double quote and the one that closes it,
// up to a second `--`, where the kernel stops.
std::vector<std::string> kernel_init_args(std::string_view text);

// TEXT split into words as a POSIX shell splits a simple command, without any expansion: blanks
// (space, tab, newline) separate words; '...' is literal; in "..." a backslash escapes $, `, ",
// \ and a newline; outside quotes a backslash escapes the next character. nullopt when a quote
// is not closed or TEXT ends in a backslash.
std::optional<std::vector<std::string>> shell_words(std::string_view text);

}  // namespace execvm::tools
