// Why a command could not be executed, in the words and with the exit status a shell gives, so
// that execvm reports a failed exec as running the command locally would. Shared by the guest
// agent (after execve failed) and the host (packing a --bare root); libc only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace execvm {

// What the kernel reads of a file to exec it (BINPRM_BUF_SIZE), a #! line included.
inline constexpr size_t kShebangBytes = 256;

// A #! line as the kernel's binfmt_script reads it from the first kShebangBytes of a file.
struct Shebang {
  std::string interpreter;  // up to the first blank; "" when the line names none
  std::string argument;     // the rest of the line, trimmed: one argument, "" when none
  bool truncated = false;   // no line end, blank or NUL within the bytes read: the kernel refuses
};

// HEAD's #! line; nullopt when HEAD does not start with "#!".
std::optional<Shebang> parse_shebang(std::string_view head);

// The file an exec failed on, as a shell looks at it to say why.
struct ExecFacts {
  bool exists = false;      // stat() finds it
  bool directory = false;   // it is a directory
  bool executable = false;  // access(X_OK) allows it
  size_t head_size = 0;     // how much of head the file filled
  char head[kShebangBytes];
};

// Fills FACTS about PATH with system calls only: no allocation, so that the guest can call it
// between clone() and exec, as the command's user in its directory.
void look_at_exec_file(const char* path, ExecFacts& facts);

// The failure of the exec of NAME (as the caller gave it) after the search settled on PATH ("" if
// it found nothing) and failed there with ERR, in bash's words (its shell_execve): 127 and
// "NAME: command not found" when nothing was found for a NAME without a slash; "PATH: Is a
// directory"; "PATH: INTERPRETER: bad interpreter: ERR" when PATH is an executable #! script;
// otherwise "PATH: ERR", 127 for ENOENT on a missing file and 126 for the rest.
Error exec_failure(const std::string& name, const std::string& path, int err,
                   const ExecFacts& facts);

// "NAME: command not found", 127.
Error command_not_found(const std::string& name);

// The #! script SCRIPT cannot be run because exec'ing its INTERPRETER failed with ERR: bash's
// "SCRIPT: INTERPRETER: bad interpreter: ERR" (a carriage return shown as ^M, as bash does); 127
// when it is missing (ENOENT, as a local exec), else 126.
Error bad_interpreter(const std::string& script, const std::string& interpreter, int err);

}  // namespace execvm
