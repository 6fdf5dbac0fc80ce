#include "tools/init.h"

#include <gtest/gtest.h>

#include "tools/tools.h"
#include "util/error.h"
#include "util/strings.h"

namespace execvm::tools {
namespace {

using Words = std::vector<std::string>;

int usage_status(const Words& args, std::string_view cmdline, std::string* message = nullptr) {
  try {
    init_command(args, cmdline, true);
  } catch (const Error& e) {
    if (message) *message = e.message();
    return e.exit_code();
  }
  return 0;
}

TEST(InitCommand, FromItsArguments) {
  EXPECT_EQ(init_command({"/bin/echo", "hi"}, "", false), (Words{"/bin/echo", "hi"}));
  EXPECT_EQ(init_command({"--", "-weird", "x"}, "", false), (Words{"-weird", "x"}));
}

TEST(InitCommand, TheKernelsWordsAreSplitAgainAsAShellWould) {
  std::string cmdline = "console=ttyS0 rdinit=/execvm -- init /bin/sh -c 'echo hi'";
  Words from_kernel = {"/bin/sh", "-c", "'echo", "hi'"};
  EXPECT_EQ(init_command(from_kernel, cmdline, true), (Words{"/bin/sh", "-c", "echo hi"}));
  // Not PID 1: the arguments are someone's, as they are.
  EXPECT_EQ(init_command(from_kernel, cmdline, false), from_kernel);
  // Arguments that are not what the kernel made of the command line are taken as they are.
  EXPECT_EQ(init_command({"/bin/true"}, cmdline, true), Words{"/bin/true"});
}

TEST(InitCommand, WithoutTheDevicesQemuAppends) {
  std::string cmdline =
      "rdinit=/execvm -- init /bin/echo 'a b' virtio_mmio.device=512@0xfeb00e00:12 "
      "virtio_mmio.device=512@0xfeb00c00:11";
  Words from_kernel = {"/bin/echo", "'a", "b'", "virtio_mmio.device=512@0xfeb00e00:12",
                       "virtio_mmio.device=512@0xfeb00c00:11"};
  EXPECT_EQ(init_command(from_kernel, cmdline, true), (Words{"/bin/echo", "a b"}));
}

TEST(InitCommand, ASecondDashDashOnTheKernelCommandLine) {
  // The kernel gives init only "init" (it stops at `--`): the rest is read from the line.
  EXPECT_EQ(init_command({}, "rdinit=/execvm -- init -- /bin/echo 'a b'", true),
            (Words{"/bin/echo", "a b"}));
}

TEST(InitCommand, FromTheBase64JsonParameter) {
  Words argv = {"/bin/sh", "-c", "echo \"$1\" 'x'", "sh", "é"};
  std::string json = R"(["/bin/sh","-c","echo \"$1\" 'x'","sh","é"])";
  std::string cmdline = "console=ttyS0 rdinit=/execvm execvm.argv=" + base64_encode(json);
  EXPECT_EQ(init_command({}, cmdline, true), argv);
  // Arguments come first.
  EXPECT_EQ(init_command({"/bin/true"}, cmdline, true), Words{"/bin/true"});
  EXPECT_EQ(init_command({"--"}, cmdline, true), argv);
}

TEST(InitCommand, UsageErrors) {
  std::string message;
  EXPECT_EQ(usage_status({}, "console=ttyS0", &message), kExitUsage);
  EXPECT_NE(message.find("no command"), std::string::npos) << message;
  EXPECT_EQ(usage_status({"-x"}, "", &message), kExitUsage);
  EXPECT_EQ(message, "unknown option -x: put -- before a command that starts with a dash");
  EXPECT_EQ(usage_status({}, "execvm.argv=not-base64", &message), kExitUsage);
  EXPECT_EQ(message, "execvm.argv= is not base64 (RFC 4648, with its padding)");
  for (std::string json : {"[]", "{}", "[1]", "\"x\"", "[\"a\", 2]", "[\"a\""}) {
    EXPECT_EQ(usage_status({}, "execvm.argv=" + base64_encode(json), &message), kExitUsage) << json;
    EXPECT_NE(message.find("JSON array of strings"), std::string::npos) << json << ": " << message;
  }
}

TEST(Tools, ChosenByTheFirstArgumentOrTheName) {
  size_t skip = 9;
  EXPECT_EQ(tool_for("/run/execvm/execvm", {"chain", "--", "x"}, &skip), "chain");
  EXPECT_EQ(skip, 1u);
  EXPECT_EQ(tool_for("/execvm", {"init", "x"}, &skip), "init");
  EXPECT_EQ(tool_for("/usr/local/bin/chain", {"--", "x"}, &skip), "chain");
  EXPECT_EQ(skip, 0u);
  EXPECT_EQ(tool_for("/init", {}, &skip), "");  // execvm's own initramfs: the agent
  EXPECT_EQ(tool_for("/sbin/init", {"x"}, &skip), "");
}

}  // namespace
}  // namespace execvm::tools
