// Error: what failed, what to do about it, and the exit status execvm ends with because of it.
#pragma once

#include <stdexcept>
#include <string>

namespace execvm {

// Exit statuses of execvm's own failures (docker's conventions, see README).
inline constexpr int kExitTimeout = 124;
inline constexpr int kExitFailure = 125;
inline constexpr int kExitCannotInvoke = 126;
inline constexpr int kExitNotFound = 127;

class Error : public std::runtime_error {
 public:
  explicit Error(std::string what, std::string hint = {}, int exit_code = kExitFailure)
      : std::runtime_error(std::move(what)), hint_(std::move(hint)), exit_code_(exit_code) {}

  const std::string& hint() const { return hint_; }
  int exit_code() const { return exit_code_; }

  // "WHAT: HINT", or just WHAT when there is no hint: the one line execvm prints.
  std::string message() const {
    return hint_.empty() ? what() : std::string(what()) + ": " + hint_;
  }

 private:
  std::string hint_;
  int exit_code_;
};

// Throws Error("WHAT: strerror(errno)").
[[noreturn]] void throw_errno(const std::string& what, int err = -1);

}  // namespace execvm
