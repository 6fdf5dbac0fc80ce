#include "guest/exec_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/sys.h"
#include "util/testing.h"

namespace execvm::guest {
namespace {

using Candidates = std::vector<std::string>;

TEST(ExecCandidates, AsExecvpTriesThem) {
  EXPECT_EQ(exec_candidates("ls", "/a:/b/"), (Candidates{"/a/ls", "/b//ls"}));
  // PATH unset: glibc's default.
  EXPECT_EQ(exec_candidates("ls", std::nullopt), (Candidates{"/bin/ls", "/usr/bin/ls"}));
  // An empty entry, wherever it is, is the current directory; an empty PATH is one.
  EXPECT_EQ(exec_candidates("ls", ":/a::/b:"),
            (Candidates{"./ls", "/a/ls", "./ls", "/b/ls", "./ls"}));
  EXPECT_EQ(exec_candidates("ls", ""), (Candidates{"./ls"}));
  // A name with a slash is used as it is.
  EXPECT_EQ(exec_candidates("./ls", "/a"), (Candidates{"./ls"}));
  EXPECT_EQ(exec_candidates("sub/ls", "/a"), (Candidates{"sub/ls"}));
  EXPECT_EQ(exec_candidates("/bin/ls", "/a"), (Candidates{"/bin/ls"}));
  // The empty name is not searched for ("PATH-entry/" would be a directory).
  EXPECT_EQ(exec_candidates("", "/a:/b"), Candidates{});
}

void expect_choice(const std::vector<int>& errors, int index, int err) {
  ExecChoice c = choose_exec_failure(errors);
  EXPECT_EQ(c.index, index);
  EXPECT_EQ(c.err, err) << strerror(c.err);
}

TEST(ChooseExecFailure, AsExecvpReports) {
  expect_choice({}, -1, ENOENT);
  expect_choice({ENOENT, ENOTDIR, ESTALE, ENODEV, ETIMEDOUT}, -1, ENOENT);
  // EACCES is kept, the first one, while the search goes on.
  expect_choice({ENOENT, EACCES, ENOENT, EACCES}, 1, EACCES);
  // Any other error stops the search, EACCES before it forgotten.
  expect_choice({EACCES, ENOEXEC, EACCES}, 1, ENOEXEC);
  expect_choice({ENOENT, ETXTBSY, ENOENT}, 1, ETXTBSY);
}

// What exec_command does in a child of this process in DIR: the failure reported, or the exit
// status of the program when it ran.
struct Outcome {
  bool ran = false;
  int status = -1;  // when ran
  int exit_code = 0;
  std::string message;
};

Outcome run(const testing::TempDir& dir, const std::vector<std::string>& argv,
            const std::vector<std::string>& env) {
  ExecPlan plan = plan_exec(argv, env);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(dir.path().c_str()) == 0) exec_command(plan);
    Error e = describe_exec_failure(plan);
    write_all(fds[1], std::to_string(e.exit_code()) + " " + e.what());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report = read_all(fds[0]);
  ::close(fds[0]);
  int status;
  ::waitpid(pid, &status, 0);
  Outcome out;
  if (report.empty()) {
    out.ran = true;
    out.status = WEXITSTATUS(status);
  } else {
    out.exit_code = std::stoi(report);
    out.message = report.substr(report.find(' ') + 1);
  }
  return out;
}

void expect_failure(const Outcome& o, int code, const std::string& message) {
  EXPECT_FALSE(o.ran);
  EXPECT_EQ(o.exit_code, code);
  EXPECT_EQ(o.message, message);
}

TEST(ExecCommand, RunsWhatExecvpRuns) {
  testing::TempDir dir;
  dir.mkdir("a");
  dir.mkdir("b");
  dir.mkdir("a/tool");                               // a directory: EACCES, searched on
  dir.write("b/tool", "#!/bin/sh\nexit 7\n", 0755);  // found
  Outcome o = run(dir, {"tool"}, {"PATH=" + (dir / "a") + ":" + (dir / "b")});
  EXPECT_TRUE(o.ran);
  EXPECT_EQ(o.status, 7);
  // Without #!, /bin/sh runs it, with the arguments.
  dir.write("plain", "exit $1\n", 0755);
  o = run(dir, {"./plain", "5"}, {});
  EXPECT_TRUE(o.ran);
  EXPECT_EQ(o.status, 5);
  // An empty PATH entry is the current directory.
  o = run(dir, {"plain", "3"}, {"PATH=/nonexistent:"});
  EXPECT_TRUE(o.ran);
  EXPECT_EQ(o.status, 3);
}

TEST(ExecCommand, ReportsAsAShell) {
  testing::TempDir dir;
  std::vector<std::string> path{"PATH=" + dir.path()};
  expect_failure(run(dir, {""}, path), 127, ": command not found");
  expect_failure(run(dir, {"nothing-here"}, path), 127, "nothing-here: command not found");
  expect_failure(run(dir, {"./nothing-here"}, path), 127,
                 "./nothing-here: No such file or directory");
  dir.mkdir("sub");
  expect_failure(run(dir, {"sub"}, path), 126, dir / "sub" + ": Is a directory");
  dir.write("text", "#!/bin/sh\n", 0644);
  expect_failure(run(dir, {"text"}, path), 126, dir / "text" + ": Permission denied");
}

TEST(ExecCommand, ReportsABadInterpreter) {
  testing::TempDir dir;
  std::vector<std::string> path{"PATH=" + dir.path()};
  dir.write("missing", "#!/no/such/interpreter -x\n", 0755);
  expect_failure(run(dir, {"./missing"}, path), 127,
                 "./missing: /no/such/interpreter: bad interpreter: No such file or directory");
  // Found through PATH: the path searched is the one named, as bash names it.
  expect_failure(
      run(dir, {"missing"}, path), 127,
      dir / "missing" + ": /no/such/interpreter: bad interpreter: No such file or directory");
  dir.write("plain", "echo\n", 0644);
  dir.write("locked", "#!" + (dir / "plain") + "\n", 0755);
  expect_failure(run(dir, {"./locked"}, path), 126,
                 "./locked: " + (dir / "plain") + ": bad interpreter: Permission denied");
  dir.mkdir("sub");
  dir.write("dir", "#!" + (dir / "sub") + "\n", 0755);
  expect_failure(run(dir, {"./dir"}, path), 126,
                 "./dir: " + (dir / "sub") + ": bad interpreter: Permission denied");
  // A chain: the script run and the interpreter its own line names, as a shell says it.
  dir.write("chain", "#!" + (dir / "missing") + "\n", 0755);
  expect_failure(run(dir, {"./chain"}, path), 127,
                 "./chain: " + (dir / "missing") + ": bad interpreter: No such file or directory");
}

}  // namespace
}  // namespace execvm::guest
