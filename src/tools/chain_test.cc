#include "tools/chain.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/tools.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/process.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm::tools {
namespace {

using Words = std::vector<std::string>;

int usage_status(const Words& args) {
  try {
    split_chain(args);
  } catch (const Error& e) {
    return e.exit_code();
  }
  return 0;
}

TEST(SplitChain, FirstAndRest) {
  EXPECT_EQ(split_chain({"--", "/bin/true", "--", "/bin/true"}),
            (ChainParts{{"/bin/true"}, {"/bin/true"}}));
  // Only the first delimiter after the command splits: the rest is REST's own words.
  EXPECT_EQ(split_chain({">>=", "a", "-x", ">>=", "chain", ">>=", "b", ">>=", "c"}),
            (ChainParts{{"a", "-x"}, {"chain", ">>=", "b", ">>=", "c"}}));
  // Without a second delimiter the command is all of it.
  EXPECT_EQ(split_chain({"--", "ls", "--help", "-l"}), (ChainParts{{"ls", "--help", "-l"}, {}}));
  // Any word is a delimiter, and other words equal to others are arguments.
  EXPECT_EQ(split_chain({"|", "echo", "--", "|", "cat"}), (ChainParts{{"echo", "--"}, {"cat"}}));
}

TEST(SplitChain, UsageErrors) {
  EXPECT_EQ(usage_status({}), kExitUsage);                         // no delimiter
  EXPECT_EQ(usage_status({"--"}), kExitUsage);                     // no command
  EXPECT_EQ(usage_status({"--", "--", "/bin/true"}), kExitUsage);  // an empty command
  EXPECT_EQ(usage_status({"--", "/bin/true", "--"}), kExitUsage);  // an empty REST
  EXPECT_EQ(usage_status({"/bin/true"}), kExitUsage);              // the delimiter is /bin/true
}

TEST(CommandsRunBy, NestedChainsOfTheAgent) {
  const std::string a = kToolsPath;
  EXPECT_EQ(commands_run_by({"/bin/echo", "hi"}), (std::vector<Words>{{"/bin/echo", "hi"}}));
  EXPECT_EQ(commands_run_by({a, "chain", "--", "tar", "-x", "--", a, "chain", "--", "make", "--",
                             "cat", "pkg"}),
            (std::vector<Words>{{"tar", "-x"}, {"make"}, {"cat", "pkg"}}));
  // A chain in the first part too, and another delimiter inside.
  EXPECT_EQ(commands_run_by({a, "chain", "+", a, "chain", "-", "x", "-", "y", "+", "z"}),
            (std::vector<Words>{{"x"}, {"y"}, {"z"}}));
  // What comes before a mistake.
  EXPECT_EQ(commands_run_by({a, "chain", "--", "x", "--"}), (std::vector<Words>{{"x"}}));
  EXPECT_EQ(commands_run_by({a, "chain"}), std::vector<Words>{});
  EXPECT_EQ(commands_run_by({a, "init", "x"}), (std::vector<Words>{{a, "init", "x"}}));
}

// chain_main(ARGS) in a child with stdout captured: its exit status (as a shell reports it) and
// output.
struct Ran {
  int status;
  std::string out, err;
};
Ran run_chain(const Words& args, bool ignore_sigchld = false) {
  int out[2], err[2];
  EXPECT_EQ(::pipe(out), 0);
  EXPECT_EQ(::pipe(err), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(out[0]);
    ::close(err[0]);
    if (ignore_sigchld) ::signal(SIGCHLD, SIG_IGN);
    ::_exit(chain_main(args));
  }
  ::close(out[1]);
  ::close(err[1]);
  Fd o(out[0]), e(err[0]);
  Ran ran;
  ran.out = read_all(o.get());
  ran.err = read_all(e.get());
  int status = 0;
  ::waitpid(pid, &status, 0);
  ran.status = shell_status(status);
  return ran;
}

TEST(ChainMain, RunsInOrderAndStopsAtAFailure) {
  Ran ran = run_chain({"--", "/bin/echo", "one", "--", "/bin/echo", "two"});
  EXPECT_EQ(ran.status, 0);
  EXPECT_EQ(ran.out, "one\ntwo\n");
  ran = run_chain({"--", "/bin/sh", "-c", "echo one; exit 7", "--", "/bin/echo", "two"});
  EXPECT_EQ(ran.status, 7);
  EXPECT_EQ(ran.out, "one\n");
  ran = run_chain({"--", "/bin/sh", "-c", "kill -TERM $$", "--", "/bin/echo", "two"});
  EXPECT_EQ(ran.status, 128 + SIGTERM);
  EXPECT_EQ(ran.out, "");
  // REST's status is the chain's: it is exec'd.
  ran = run_chain({"--", "/bin/true", "--", "/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(ran.status, 3);
}

TEST(ChainMain, LooksUpPathAndSaysWhatIsMissing) {
  Ran ran = run_chain({"--", "true", "--", "echo", "found", "in", "PATH"});
  EXPECT_EQ(ran.out, "found in PATH\n");
  ran = run_chain({"--", "no-such-command-xyz", "--", "/bin/echo", "no"});
  EXPECT_EQ(ran.status, kExitNotFound);
  EXPECT_EQ(ran.err, "execvm: no-such-command-xyz: command not found\n");
  EXPECT_EQ(ran.out, "");
  ran = run_chain({"--", "/bin/true", "--", "/etc/passwd"});
  EXPECT_EQ(ran.status, kExitCannotInvoke);
  EXPECT_EQ(ran.err, "execvm: /etc/passwd: Permission denied\n");
}

TEST(ChainMain, UsageErrorsAndHelp) {
  Ran ran = run_chain({"--", "/bin/true", "--"});
  EXPECT_EQ(ran.status, kExitUsage);
  EXPECT_EQ(ran.err,
            "execvm: chain has no command after the last delimiter --: usage: execvm chain DELIM "
            "COMMAND [ARG...] [DELIM REST...]\n");
  ran = run_chain({"--help"});
  EXPECT_EQ(ran.status, 0);
  EXPECT_EQ(ran.out.substr(0, 19), "usage: execvm chain");
}

TEST(ChainMain, AnIgnoredSigchldDoesNotLoseTheStatus) {
  Ran ran = run_chain({"--", "/bin/false", "--", "/bin/echo", "no"}, true);
  EXPECT_EQ(ran.status, 1);
  EXPECT_EQ(ran.out, "");
}

}  // namespace
}  // namespace execvm::tools
