#include "util/exec_failure.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "util/testing.h"

namespace execvm {
namespace {

Shebang shebang(std::string_view head) {
  auto line = parse_shebang(head);
  EXPECT_TRUE(line) << head;
  return line.value_or(Shebang{});
}

TEST(ParseShebang, InterpreterAndOneArgument) {
  EXPECT_FALSE(parse_shebang("echo hi\n"));
  EXPECT_FALSE(
      parse_shebang(std::string("\x7f"
                                "ELF")));
  EXPECT_EQ(shebang("#!/bin/sh\necho hi\n").interpreter, "/bin/sh");
  EXPECT_EQ(shebang("#!/bin/sh").interpreter, "/bin/sh");  // the file ends: zeros end the name
  Shebang line = shebang("#! \t/bin/sh  -e -u \t\nrest");
  EXPECT_EQ(line.interpreter, "/bin/sh");
  EXPECT_EQ(line.argument, "-e -u");  // the rest of the line, as one argument
  EXPECT_EQ(shebang("#!/usr/bin/env -S bash -e\n").argument, "-S bash -e");
  // A NUL ends the name, and the argument.
  line = shebang(std::string("#!/bin/sh\0junk\n", 15));
  EXPECT_EQ(line.interpreter, "/bin/sh");
  EXPECT_EQ(line.argument, "");
  line = shebang(std::string("#!/bin/sh -x\0junk\n", 18));
  EXPECT_EQ(line.argument, "-x");
  // A DOS line end is part of the name.
  EXPECT_EQ(shebang("#!/bin/bash\r\n").interpreter, "/bin/bash\r");
}

TEST(ParseShebang, NoInterpreterOrCutOff) {
  EXPECT_EQ(shebang("#!\n").interpreter, "");
  EXPECT_EQ(shebang("#!  \t \n/bin/sh\n").interpreter, "");
  EXPECT_FALSE(shebang("#!\n").truncated);
  // No line end in the 256 bytes the kernel reads, and no blank after the name's start.
  Shebang line = shebang("#!/" + std::string(300, 'x'));
  EXPECT_TRUE(line.truncated);
  EXPECT_EQ(line.interpreter, "");
  // With a blank, the name is whole: the argument runs to the end of what was read, its last
  // byte left out as the kernel does.
  line = shebang("#!/bin/sh " + std::string(300, 'a'));
  EXPECT_FALSE(line.truncated);
  EXPECT_EQ(line.interpreter, "/bin/sh");
  EXPECT_EQ(line.argument, std::string(kShebangBytes - 1 - 10, 'a'));
}

ExecFacts facts_of(bool exists, bool directory, bool executable, std::string_view head = "") {
  ExecFacts f;
  f.exists = exists;
  f.directory = directory;
  f.executable = executable;
  f.head_size = head.size();
  std::memcpy(f.head, head.data(), head.size());
  return f;
}

void expect_failure(const Error& e, int code, const std::string& words) {
  EXPECT_EQ(e.exit_code(), code) << e.what();
  EXPECT_EQ(std::string(e.what()), words);
  EXPECT_EQ(e.hint(), "");
}

TEST(ExecFailure, NotFound) {
  ExecFacts none = facts_of(false, false, false);
  expect_failure(exec_failure("foo", "", ENOENT, none), 127, "foo: command not found");
  expect_failure(exec_failure("", "", ENOENT, none), 127, ": command not found");
  expect_failure(exec_failure("./foo", "./foo", ENOENT, none), 127,
                 "./foo: No such file or directory");
  expect_failure(exec_failure("/etc/passwd/x", "/etc/passwd/x", ENOTDIR, none), 126,
                 "/etc/passwd/x: Not a directory");
  // A directory on the way that may not be searched.
  expect_failure(exec_failure("sub/x", "sub/x", EACCES, none), 126, "sub/x: Permission denied");
}

TEST(ExecFailure, TheFileItself) {
  expect_failure(exec_failure("d", "/bin/d", EACCES, facts_of(true, true, true)), 126,
                 "/bin/d: Is a directory");
  // Not executable: its #! line does not matter.
  expect_failure(exec_failure("./s", "./s", EACCES, facts_of(true, false, false, "#!/bin/sh\n")),
                 126, "./s: Permission denied");
  expect_failure(exec_failure("./t", "./t", ETXTBSY,
                              facts_of(true, false, true,
                                       "\x7f"
                                       "ELF")),
                 126, "./t: Text file busy");
}

TEST(ExecFailure, WhatTheFileNeeds) {
  ExecFacts script = facts_of(true, false, true, "#!/no/such -x\n");
  expect_failure(exec_failure("s", "/bin/s", ENOENT, script), 127,
                 "/bin/s: /no/such: bad interpreter: No such file or directory");
  expect_failure(exec_failure("./s", "./s", EACCES, script), 126,
                 "./s: /no/such: bad interpreter: Permission denied");
  // Errors that are not about the interpreter.
  expect_failure(exec_failure("./s", "./s", E2BIG, script), 126, "./s: Argument list too long");
  // An ELF file without its loader.
  expect_failure(exec_failure("./t", "./t", ENOENT,
                              facts_of(true, false, true,
                                       "\x7f"
                                       "ELF")),
                 127, "./t: cannot execute: required file not found");
  // A #! line that names nothing: as the kernel, no script.
  expect_failure(exec_failure("./t", "./t", ENOEXEC, facts_of(true, false, true, "#!\n")), 126,
                 "./t: Exec format error");
}

TEST(ExecFailure, BadInterpreterShowsACarriageReturn) {
  expect_failure(bad_interpreter("./s", "/bin/bash\r", ENOENT), 127,
                 "./s: /bin/bash^M: bad interpreter: No such file or directory");
}

TEST(LookAtExecFile, WhatIsThere) {
  testing::TempDir dir;
  ExecFacts f;
  look_at_exec_file((dir / "missing").c_str(), f);
  EXPECT_FALSE(f.exists);
  look_at_exec_file(dir.path().c_str(), f);
  EXPECT_TRUE(f.exists);
  EXPECT_TRUE(f.directory);
  std::string script = dir.write("s", "#!/bin/sh\n" + std::string(1000, '#'), 0755);
  look_at_exec_file(script.c_str(), f);
  EXPECT_TRUE(f.exists);
  EXPECT_FALSE(f.directory);
  EXPECT_TRUE(f.executable);
  ASSERT_EQ(f.head_size, kShebangBytes);
  EXPECT_EQ(std::string_view(f.head, 10), "#!/bin/sh\n");
  // No execute bit: not executable, for root either.
  look_at_exec_file(dir.write("plain", "text", 0644).c_str(), f);
  EXPECT_TRUE(f.exists);
  EXPECT_FALSE(f.executable);
  EXPECT_EQ(f.head_size, 4u);
}

}  // namespace
}  // namespace execvm
