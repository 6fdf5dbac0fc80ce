// Running pipelines with the local and void runners (and the container runner where podman
// is installed); the vm runner's runs are in tests/e2e/pipeline.sh.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <thread>

#include "execvm/pipeline.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/process.h"
#include "util/testing.h"

namespace execvm::pipeline {
namespace {

struct Cwd {
  explicit Cwd(const std::string& dir) : old(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    EXPECT_EQ(::chdir(dir.c_str()), 0);
  }
  ~Cwd() { EXPECT_EQ(::fchdir(old.get()), 0); }
  Fd old;
};

RunOptions capturing() {
  RunOptions o;
  o.capture_output = true;
  o.capture_stderr = true;
  o.stdin_fd = -1;
  return o;
}

std::vector<int> statuses(const Result& r) {
  std::vector<int> out;
  for (const StageResult& s : r.stages) out.push_back(s.status);
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// The seed's first example: block.run() == "6".
TEST(PipelineRun, EchoHelloIntoWc) {
  auto computer = local_runner();
  Pipeline block = computer.command("/bin/echo", "hello") | computer.command("/bin/wc", "-c");
  Result r = block.run(capturing());
  EXPECT_EQ(r.output, "6\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(statuses(r), (std::vector<int>{0, 0}));
  EXPECT_EQ(r.stages[0].command, "/bin/echo hello");
  EXPECT_EQ(r.stages[0].runner, "local");
  // Unbound commands, as in the seed's worked examples, run with the run's runner.
  EXPECT_EQ((command("/bin/echo", "hello") | command("/bin/wc", "-c")).run(capturing()).output,
            "6\n");
}

// The seed's tar-in-process example: the file "output" holds "2".
TEST(PipelineRun, TarIntoTarListIntoWcIntoAFile) {
  testing::TempDir dir;
  dir.write("file1", "one");
  dir.write("file2", "two");
  Cwd cwd(dir.path());
  auto computer = local_runner();
  Pipeline block =
      (Tar{{"file1", "file2"}, Compression::kGzip} | computer.command("/bin/tar", "-tzf", "-") |
       computer.command("wc", "-l")) > "output";
  Result r = block.run(capturing());
  EXPECT_EQ(statuses(r), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(r.stages[0].runner, "tar");
  EXPECT_EQ(read_file(dir / "output"), "2\n");
  // The same pipeline from the seed's JSON.
  EXPECT_EQ(from_json(to_json(block)).run(capturing()).status, 0);
  EXPECT_EQ(read_file(dir / "output"), "2\n");
}

TEST(PipelineRun, FilesInAndOut) {
  testing::TempDir dir;
  dir.write("in", "abc");
  EXPECT_EQ((File{dir / "in"} | command("wc", "-c")).run(capturing()).output, "3\n");
  // Without a stage, the source is copied to the sink.
  EXPECT_EQ((Pipeline(File{dir / "in"}) > dir / "out").run(capturing()).status, 0);
  EXPECT_EQ(read_file(dir / "out"), "abc");
  EXPECT_EQ(Pipeline(File{dir / "in"}).run(capturing()).output, "abc");
  Cwd cwd(dir.path());
  EXPECT_EQ((Tar{{"in"}} > "in.tar").run(capturing()).status, 0);
  EXPECT_EQ((File{"in.tar"} | command("tar", "-tf", "-")).run(capturing()).output, "in\n");
  try {
    (File{dir / "missing"} | command("cat")).run(capturing());
    ADD_FAILURE() << "a missing source file ran";
  } catch (const PipelineError& e) {
    EXPECT_NE(std::string(e.what()).find("missing: No such file"), std::string::npos) << e.what();
  }
}

TEST(PipelineRun, InputEnvironmentAndDirectory) {
  RunOptions o = capturing();
  o.input = "hello world";
  EXPECT_EQ(Pipeline(command("wc", "-w")).run(o).output, "2\n");
  Command c = command("sh", "-c", "echo \"$EXECVM_TEST_A\"; pwd");
  c.env = {{"EXECVM_TEST_A", "b c"}};
  c.cwd = "/";
  EXPECT_EQ(Pipeline(c).run(capturing()).output, "b c\n/\n");
}

TEST(PipelineRun, StderrIsCapturedPerStage) {
  Result r =
      (command("sh", "-c", "echo one >&2; echo x") | command("sh", "-c", "cat; echo two >&2"))
          .run(capturing());
  EXPECT_EQ(r.output, "x\n");
  EXPECT_EQ(r.stages[0].stderr_output, "one\n");
  EXPECT_EQ(r.stages[1].stderr_output, "two\n");
}

// The void runner prints each command and runs none; what comes in goes out unchanged.
TEST(PipelineRun, TheVoidRunnerRunsNothing) {
  testing::TempDir dir;
  auto nothing = void_runner(true);
  RunOptions o = capturing();
  o.input = "data\n";
  Result r =
      (nothing.command("touch", dir / "made") | nothing.command("rm", "-rf", dir.path())).run(o);
  EXPECT_EQ(r.output, "data\n");
  EXPECT_EQ(r.stages[0].stderr_output, "+ touch " + (dir / "made") + "\n");
  EXPECT_EQ(r.stages[1].stderr_output, "+ rm -rf " + dir.path() + "\n");
  EXPECT_EQ(r.stages[0].runner, "void");
  EXPECT_FALSE(exists(dir / "made"));
  EXPECT_TRUE(exists(dir.path()));
  // Without debug it says nothing; between real stages it is a plain connection.
  o.input = "abc";
  r = (command("cat") | void_runner().command("touch", dir / "made") | command("wc", "-c")).run(o);
  EXPECT_EQ(r.output, "3\n");
  EXPECT_EQ(r.stages[1].stderr_output, "");
  EXPECT_FALSE(exists(dir / "made"));
  // A pipeline of void commands only, with nothing to read: silent.
  EXPECT_EQ(Pipeline(void_runner().command("touch", dir / "made")).run(capturing()).output, "");
  EXPECT_FALSE(exists(dir / "made"));
  // As the run's runner, for unbound commands.
  o.runner = void_runner();
  o.input = "x";
  EXPECT_EQ((command("touch", dir / "made") | command("wc", "-c")).run(o).output, "x");
  EXPECT_FALSE(exists(dir / "made"));
}

TEST(PipelineRun, AFailingMiddleStagesStatusIsTheLastFailing) {
  // (Not echo first: it could meet false's closed stdin, and die of SIGPIPE.)
  Result r = (command("true") | command("false") | command("cat")).run(capturing());
  EXPECT_EQ(statuses(r), (std::vector<int>{0, 1, 0}));
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(r.ok());
  try {
    r.check();
    ADD_FAILURE() << "check() passed";
  } catch (const StageError& e) {
    EXPECT_EQ(e.stage(), 1u);
    EXPECT_EQ(e.status(), 1);
    EXPECT_NE(std::string(e.what()).find("stage 2 (false) exited with status 1"), std::string::npos)
        << e.what();
  }
  r = (command("sh", "-c", "exit 3") | command("sh", "-c", "exit 5") | command("true"))
          .run(capturing());
  EXPECT_EQ(statuses(r), (std::vector<int>{3, 5, 0}));
  EXPECT_EQ(r.status, 5);
}

TEST(PipelineRun, ACommandThatIsNotThereIs127AndTheOthersRun) {
  Result r = (command("echo", "x") | command("execvm-test-no-such-program") | command("wc", "-c"))
                 .run(capturing());
  EXPECT_EQ(statuses(r), (std::vector<int>{r.stages[0].status, 127, 0}));
  EXPECT_EQ(r.output, "0\n");
  EXPECT_NE(r.stages[1].stderr_output.find("execvm-test-no-such-program"), std::string::npos);
  EXPECT_NE(r.stages[1].error, "");
}

// As in a shell: head ends, yes gets SIGPIPE; the pipeline does not wait for more.
TEST(PipelineRun, YesIntoHeadEndsAtOnce) {
  Result r = (command("yes") | command("head", "-1")).run(capturing());
  EXPECT_EQ(r.output, "y\n");
  EXPECT_EQ(statuses(r), (std::vector<int>{128 + SIGPIPE, 0}));
  // And from the Tar source, whose reader goes away.
  testing::TempDir dir;
  dir.write("big", std::string(4 << 20, 'z'));
  r = (Tar{{dir / "big"}} | command("head", "-c", "10")).run(capturing());
  EXPECT_EQ(r.output.size(), 10u);
  EXPECT_EQ(r.stages[1].status, 0);
}

TEST(PipelineRun, KillingAStageEndsTheOthers) {
  pid_t middle = 0;
  RunOptions o = capturing();
  o.on_start = [&](size_t stage, pid_t pid) {
    if (stage == 1) middle = pid;
    if (stage == 2) ::kill(middle, SIGKILL);  // all three are running now
  };
  Result r = (command("yes") | command("cat") | command("cat")).run(o);
  EXPECT_EQ(statuses(r), (std::vector<int>{128 + SIGPIPE, 128 + SIGKILL, 0}));
  EXPECT_EQ(r.status, 128 + SIGKILL);  // the last failing one
}

// Whether a process of GROUP is left, after giving init a moment to reap the orphans that
// were killed with it.
bool group_left(pid_t group) {
  for (int i = 0; i < 100; ++i) {
    if (::kill(-group, 0) < 0 && errno == ESRCH) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// SIGINT to the caller stops every stage and leaves nothing running, not even a stage's own
// children; one that ignores it is killed after the grace time.
TEST(PipelineRun, SigintStopsEveryStage) {
  pid_t group = 0;
  RunOptions o = capturing();
  o.on_start = [&](size_t stage, pid_t pid) {
    if (stage == 0) group = pid;
    if (stage == 2) ::kill(::getpid(), SIGINT);  // once every stage runs
  };
  Result r =
      (command("sleep", "1000") | command("sh", "-c", "sleep 1000; echo after") | command("cat"))
          .run(o);
  EXPECT_EQ(r.interrupted, SIGINT);
  EXPECT_EQ(r.status, 128 + SIGINT);
  EXPECT_EQ(r.output, "");
  ASSERT_GT(group, 0);
  EXPECT_FALSE(group_left(group));

  // A stage that ignores SIGINT (once it says so in a file): killed after the grace time.
  testing::TempDir dir;
  std::string ready = dir / "ready";
  std::thread interrupter;
  o.grace = std::chrono::milliseconds(200);
  o.on_start = [&](size_t stage, pid_t pid) {
    if (stage == 0) group = pid;
    if (stage != 1) return;
    interrupter = std::thread([&] {
      while (!exists(ready)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ::kill(::getpid(), SIGINT);
    });
  };
  r = (command("sh", "-c", "trap '' INT; touch \"$0\"; exec sleep 1000", ready) | command("cat"))
          .run(o);
  interrupter.join();
  EXPECT_EQ(r.interrupted, SIGINT);
  EXPECT_EQ(r.stages[0].status, 128 + SIGKILL);
  EXPECT_FALSE(group_left(group));
}

// chain() on the local runner, with execvm's static agent as the chain program (the agent is
// a multi-call binary: `AGENT chain ...`).
TEST(PipelineRun, ChainOnTheLocalRunner) {
  testing::TempDir dir;
  auto computer = local_runner({{EXECVM_TEST_AGENT}});
  Result r =
      Pipeline(computer.command(chain({"/bin/true"}, {"/bin/echo", "--", "x"}))).run(capturing());
  EXPECT_EQ(r.output, "-- x\n");
  EXPECT_EQ(r.stages[0].command,
            std::string(EXECVM_TEST_AGENT) + " chain -- /bin/true -- /bin/echo -- x");
  // The first failure stops the chain with its status.
  r = Pipeline(computer.command(chain({"/bin/false"}, {"touch", dir / "made"}))).run(capturing());
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(exists(dir / "made"));
  // Three deep, nested.
  r = Pipeline(
          computer.command(chain({{"touch", dir / "a"}, {"touch", dir / "b"}, {"ls", dir.path()}})))
          .run(capturing());
  EXPECT_EQ(r.output, "a\nb\n");
}

TEST(PipelineRun, ChainWithExecvmsOwnChain) {
  std::string execvm = EXECVM_TEST_BINARY;
  RunOptions o = capturing();
  o.execvm = execvm;
  Result r = Pipeline(command(chain({"/bin/true"}, {"/bin/echo", "x"}))).run(o);
  EXPECT_EQ(r.output, "x\n");
  r = Pipeline(command(chain({"/bin/false"}, {"/bin/echo", "x"}))).run(o);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "");
}

// podman, as this project's machines need it (see the notes on containers).
const std::vector<std::string> kPodmanOptions = {
    "--runtime", "runc", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"};

// The seed's docker-build and its tar | container chain | container pipeline, with an image
// built here from busybox and execvm's static agent as /bin/execvm (execvm chain, static, as
// an image needs it).
TEST(PipelineRun, BuildAndContainers) {
  if (!find_program("podman") || !find_program("busybox"))
    GTEST_SKIP() << "podman or busybox is not installed";
  testing::TempDir dir;
  std::string tag = "localhost/execvm-pipeline-test-" + std::to_string(::getpid());
  dir.mkdir("ctx");
  dir.write("ctx/Containerfile",
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY execvm /bin/execvm\n"
            "ENV PATH=/bin\n");
  write_file(dir / "ctx/busybox", read_file(*find_program("busybox")), 0755);
  write_file(dir / "ctx/execvm", read_file(EXECVM_TEST_AGENT), 0755);
  Cwd cwd(dir / "ctx");
  Result built = (Tar{{"Containerfile", "busybox", "execvm"}, Compression::kGzip} |
                  Build{tag, "podman", "", kPodmanOptions})
                     .run(capturing());
  ASSERT_EQ(built.status, 0) << built.stages[1].stderr_output;
  EXPECT_EQ(built.stages[1].runner, "build");
  EXPECT_EQ(built.output.size(), 65u) << built.output;  // the image ID

  ContainerOptions options{tag, "podman", kPodmanOptions};
  auto computer = container_runner(options);
  Pipeline block = computer.command("/bin/busybox", "echo", "hello") |
                   computer.command("/bin/busybox", "wc", "-c");
  Result r = block.run(capturing());
  EXPECT_EQ(r.output, "6\n") << r.stages[0].stderr_output << r.stages[1].stderr_output;

  // tar | container: chain(untar, tar again) | container: list it > file. (busybox's tar
  // compresses only with a gzip program, which this image does not have.)
  dir.write("file1", "one");
  dir.write("file2", "two");
  Cwd in_dir(dir.path());
  Pipeline seed = (Tar{{"file1", "file2"}, Compression::kGzip} |
                   computer.command(chain({"/bin/busybox", "tar", "-xzf", "-"},
                                          {"/bin/busybox", "tar", "-cf", "-", "file2", "file1"})) |
                   computer.command("/bin/busybox", "tar", "-tf", "-")) > "listing";
  r = seed.run(capturing());
  EXPECT_EQ(statuses(r), (std::vector<int>{0, 0, 0})) << r.stages[1].stderr_output;
  EXPECT_EQ(read_file(dir / "listing"), "file2\nfile1\n");

  // A container whose engine is killed once it runs is removed, not left running.
  std::string ours = "name=execvm-" + std::to_string(::getpid()) + "-";
  std::thread killer;
  RunOptions k = capturing();
  k.on_start = [&](size_t, pid_t engine) {
    killer = std::thread([&, engine] {
      while (run_capture({"podman", "ps", "-q", "--filter", ours}).output.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ::kill(engine, SIGKILL);
    });
  };
  r = Pipeline(computer.command("/bin/busybox", "sleep", "1000")).run(k);
  killer.join();
  EXPECT_EQ(r.status, 128 + SIGKILL);
  EXPECT_EQ(run_capture({"podman", "ps", "-aq", "--filter", ours}).output, "");

  // Ctrl-C with a container stage between two local ones: every stage stops (the container's
  // PID 1 ignores SIGINT, so its engine is killed after the grace time), nothing is left
  // running and the container is removed.
  pid_t group = 0;
  std::thread interrupter;
  RunOptions c = capturing();
  c.grace = std::chrono::milliseconds(1000);
  c.on_start = [&](size_t stage, pid_t pid) {
    if (stage == 0) group = pid;
    if (stage != 2) return;
    interrupter = std::thread([&] {
      while (run_capture({"podman", "ps", "-q", "--filter", ours}).output.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ::kill(::getpid(), SIGINT);
    });
  };
  r = (command("sleep", "1000") | computer.command("/bin/busybox", "sleep", "1000") |
       command("cat"))
          .run(c);
  interrupter.join();
  EXPECT_EQ(r.interrupted, SIGINT);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.stages[0].status, 128 + SIGINT);
  ASSERT_GT(group, 0);
  EXPECT_FALSE(group_left(group));
  EXPECT_EQ(run_capture({"podman", "ps", "-aq", "--filter", ours}).output, "");

  run_capture({"podman", "rmi", "-f", tag}, true);
}

}  // namespace
}  // namespace execvm::pipeline
