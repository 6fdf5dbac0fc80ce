#include "tools/words.h"

#include <gtest/gtest.h>

namespace execvm::tools {
namespace {

using Words = std::vector<std::string>;

TEST(KernelCommandLine, ParametersAndTheTextAfterTheDashes) {
  auto line = split_kernel_command_line(
      "console=ttyS0  rdinit=/execvm quiet a=\"b c\" -- init /bin/sh -c 'echo hi'");
  EXPECT_EQ(line.params, (Words{"console=ttyS0", "rdinit=/execvm", "quiet", "a=b c"}));
  ASSERT_TRUE(line.init_text);
  EXPECT_EQ(*line.init_text, "init /bin/sh -c 'echo hi'");
  EXPECT_FALSE(split_kernel_command_line("console=ttyS0 quiet").init_text);
  // A `--` inside double quotes is a word like any other, not the separator.
  EXPECT_FALSE(split_kernel_command_line("a \"-- b\"").init_text);
}

TEST(KernelCommandLine, AParameterByName) {
  EXPECT_EQ(kernel_parameter("a=1 execvm.argv=WyJ4Il0= b", "execvm.argv"), "WyJ4Il0=");
  EXPECT_EQ(kernel_parameter("x=1 x=2", "x"), "2");  // the last one, as the kernel takes it
  EXPECT_EQ(kernel_parameter("reboot=t", "reboot"), "t");
  EXPECT_FALSE(kernel_parameter("reboot", "reboot"));
  EXPECT_FALSE(kernel_parameter("-- execvm.argv=WyJ4Il0=", "execvm.argv"));  // init's, not ours
  EXPECT_FALSE(kernel_parameter("myexecvm.argv=1", "execvm.argv"));
}

TEST(KernelCommandLine, InitArgsAreSplitAtBlanksWithDoubleQuotesOnly) {
  // What the kernel of the example gives init.
  EXPECT_EQ(kernel_init_args("init /bin/sh -c 'echo hi'"),
            (Words{"init", "/bin/sh", "-c", "'echo", "hi'"}));
  EXPECT_EQ(kernel_init_args("init /bin/sh -c \"echo hi\""),
            (Words{"init", "/bin/sh", "-c", "echo hi"}));
  // A quote inside a word stays, and groups blanks.
  EXPECT_EQ(kernel_init_args("a\"b c\"d e"), (Words{"a\"b c\"d", "e"}));
  // NAME=VALUE with a quoted value loses the quotes; a quoted NAME=VALUE too.
  EXPECT_EQ(kernel_init_args("A=\"x y\" \"B=z\""), (Words{"A=x y", "B=z"}));
  EXPECT_EQ(kernel_init_args("a= =b"), (Words{"a=", "=b"}));
  // The kernel stops at a second `--`.
  EXPECT_EQ(kernel_init_args("init -- /bin/true"), (Words{"init"}));
  EXPECT_EQ(kernel_init_args("  "), Words{});
}

TEST(ShellWords, QuotesAndBackslashes) {
  EXPECT_EQ(shell_words("init /bin/sh -c 'echo hi'"), (Words{"init", "/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(shell_words(" a\t b\n"), (Words{"a", "b"}));
  EXPECT_EQ(shell_words("'it'\\''s' \"a \\\"b\\\" \\$c \\x\""), (Words{"it's", "a \"b\" $c \\x"}));
  EXPECT_EQ(shell_words("a\\ b '' \"\" c"), (Words{"a b", "", "", "c"}));
  EXPECT_EQ(shell_words("$HOME * ~ `x`"), (Words{"$HOME", "*", "~", "`x`"}));  // no expansion
  EXPECT_EQ(shell_words("a\\\nb"), (Words{"ab"}));
  EXPECT_EQ(shell_words(""), Words{});
  EXPECT_FALSE(shell_words("'open"));
  EXPECT_FALSE(shell_words("\"open"));
  EXPECT_FALSE(shell_words("end\\"));
}

}  // namespace
}  // namespace execvm::tools
