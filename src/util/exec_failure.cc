#include "util/exec_failure.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace execvm {

namespace {

constexpr std::string_view kBlanks = " \t";
constexpr std::string_view kTerminators(" \t\0", 3);  // what ends the interpreter's name

}  // namespace

std::optional<Shebang> parse_shebang(std::string_view head) {
  if (!head.starts_with("#!")) return std::nullopt;
  // The kernel's buffer: the file's first bytes, zeros after its end.
  std::string buf(head.substr(0, kShebangBytes));
  buf.resize(kShebangBytes, '\0');
  Shebang out;
  size_t end = buf.find('\n');
  if (end == std::string::npos) {
    // No line end: the last byte is not looked at, and without a terminator after the
    // interpreter's first character its name is taken to be cut off.
    end = kShebangBytes - 1;
    size_t name = buf.find_first_not_of(kBlanks, 2);
    if (name >= end) return out;
    if (buf.find_first_of(kTerminators, name) >= end) {
      out.truncated = true;
      return out;
    }
  }
  while (end > 2 && kBlanks.find(buf[end - 1]) != std::string_view::npos) --end;
  std::string_view line = std::string_view(buf).substr(2, end - 2);
  size_t name = line.find_first_not_of(kBlanks);
  if (name == std::string_view::npos) return out;
  size_t sep = line.find_first_of(kTerminators, name);
  out.interpreter = line.substr(name, sep - name);
  if (sep != std::string_view::npos && line[sep] != '\0') {
    size_t arg = line.find_first_not_of(kBlanks, sep);
    if (arg != std::string_view::npos) {
      std::string_view rest = line.substr(arg);
      out.argument = rest.substr(0, rest.find('\0'));  // the kernel passes it as a C string
    }
  }
  return out;
}

void look_at_exec_file(const char* path, ExecFacts& facts) {
  facts = {};
  struct stat st;
  if (::stat(path, &st) < 0) return;
  facts.exists = true;
  facts.directory = S_ISDIR(st.st_mode);
  facts.executable = ::access(path, X_OK) == 0;
  if (facts.directory) return;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return;
  ssize_t n;
  do n = ::pread(fd, facts.head, sizeof facts.head, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0) facts.head_size = static_cast<size_t>(n);
  ::close(fd);
}

Error command_not_found(const std::string& name) {
  return Error(name + ": command not found", "", kExitNotFound);
}

Error bad_interpreter(const std::string& script, const std::string& interpreter, int err) {
  std::string shown;
  for (char c : interpreter) shown += c == '\r' ? std::string("^M") : std::string(1, c);
  return Error(script + ": " + shown + ": bad interpreter: " + strerror(err), "",
               err == ENOENT ? kExitNotFound : kExitCannotInvoke);
}

Error exec_failure(const std::string& name, const std::string& path, int err,
                   const ExecFacts& facts) {
  if (!facts.exists) {
    if (err == ENOENT && name.find('/') == std::string::npos) return command_not_found(name);
    return Error((path.empty() ? name : path) + ": " + strerror(err), "",
                 err == ENOENT ? kExitNotFound : kExitCannotInvoke);
  }
  if (facts.directory) return Error(path + ": " + strerror(EISDIR), "", kExitCannotInvoke);
  // What failed is then not PATH itself but what the kernel loads for it.
  if (facts.executable && err != E2BIG && err != ENOMEM) {
    auto shebang = parse_shebang(std::string_view(facts.head, facts.head_size));
    // A missing interpreter fails the exec with ENOENT, which a local exec reports with 127
    // (bash 5.2 and execvp's callers; bash up to 5.1 said 126). The words are those of bash up
    // to 5.1, which name the interpreter (bash 5.2 says "cannot execute: required file not
    // found").
    if (shebang && !shebang->interpreter.empty())
      return bad_interpreter(path, shebang->interpreter, err);
    // An ELF file whose program interpreter (ld.so) is missing: bash 5.2's words, and 127.
    if (err == ENOENT)
      return Error(path + ": cannot execute: required file not found", "", kExitNotFound);
  }
  return Error(path + ": " + strerror(err), "", kExitCannotInvoke);
}

}  // namespace execvm
