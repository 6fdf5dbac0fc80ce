#include <gtest/gtest.h>

#include "execvm/pipeline.h"

namespace execvm::pipeline {
namespace {

// The seed's two worked examples, as the seed writes them.
constexpr const char* kSeedEchoWc = R"(Command{
  "args": ["/bin/echo", "hello"],
  "env": {},
  "output": Command{
    "args": ["/bin/wc", "-c"],
    "env": {}
  }
}
)";

constexpr const char* kSeedTar = R"(Tar{
  "files": ["file1", "file2"],
  "compression": "gzip",
  "output": Command{
    "args": ["/bin/tar", "-tzf", "-"],
    "env": {},
    "output": Command{
      "args": ["wc", "-l"],
      "env": {},
      "output": File{
        "name": "output"
      }
    }
  }
}
)";

TEST(PipelineJson, TheSeedsExamplesAreThePipelinesItBuilds) {
  EXPECT_EQ(from_json(kSeedEchoWc), command("/bin/echo", "hello") | command("/bin/wc", "-c"));
  Pipeline tar = (Tar{{"file1", "file2"}, Compression::kGzip} | command("/bin/tar", "-tzf", "-") |
                  command("wc", "-l")) > "output";
  EXPECT_EQ(from_json(kSeedTar), tar);
}

TEST(PipelineJson, TheSeedsNotationRoundTripsExactly) {
  EXPECT_EQ(to_seed_notation(from_json(kSeedEchoWc)), kSeedEchoWc);
  EXPECT_EQ(to_seed_notation(from_json(kSeedTar)), kSeedTar);
}

TEST(PipelineJson, TheJsonFormRoundTripsExactly) {
  const std::string json = R"({
  "Tar": {
    "files": [
      "file1",
      "file2"
    ],
    "compression": "gzip",
    "output": {
      "Command": {
        "args": [
          "/bin/tar",
          "-tzf",
          "-"
        ],
        "env": {},
        "output": {
          "Command": {
            "args": [
              "wc",
              "-l"
            ],
            "env": {},
            "output": {
              "File": {
                "name": "output"
              }
            }
          }
        }
      }
    }
  }
}
)";
  EXPECT_EQ(to_json(from_json(kSeedTar)), json);
  EXPECT_EQ(to_json(from_json(json)), json);
  EXPECT_EQ(from_json(json), from_json(kSeedTar));
}

TEST(PipelineJson, EveryPartRoundTrips) {
  VmOptions vm;
  vm.bare = true;
  vm.image = "oci:img";
  vm.kernel = "/k";
  vm.cpus = 2;
  vm.memory = "1G";
  vm.devices = {{"/data.img", "/dev/vda"}};
  vm.args = {"--sudo", "-v", "/a:/b"};
  vm.execvm = "/opt/execvm";
  ContainerOptions container;
  container.image = "busybox";
  container.engine = "docker";
  container.options = {"--network", "none"};
  container.chain_program = {"/bin/execvm"};
  Command env_cwd = command("sh", "-c", "echo $A");
  env_cwd.env = {{"A", "b c"}, {"B", "é"}};
  env_cwd.cwd = "/tmp";
  std::vector<Pipeline> pipelines = {
      command("/bin/echo", "hello"),
      File{"in"},
      (File{"in"} | command("cat")) > "out",
      Tar{{"/etc/hostname"}, Compression::kZstd} |
          Build{"img", "podman", "Dockerfile", {"--pull=never"}},
      Tar{{"a"}, Compression::kXz} | Build{"img"} | local_runner().command("cat"),
      Tar{{"a"}} > "a.tar",
      env_cwd | vm_runner(vm).command("cat") | container_runner(container).command("wc", "-c") |
          void_runner(true).command("touch", "x") | local_runner({{"/chain"}}).command("cat"),
      command(chain({"/bin/true"}, {"/bin/echo", "--", "x"})) | void_runner().command("x"),
  };
  for (const Pipeline& p : pipelines) {
    std::string json = to_json(p);
    EXPECT_EQ(from_json(json), p) << json;
    EXPECT_EQ(to_json(from_json(json)), json);
    EXPECT_EQ(from_json(to_seed_notation(p)), p) << to_seed_notation(p);
  }
}

// Each malformed pipeline is one line naming the bad field.
TEST(PipelineJson, AMalformedPipelineNamesTheBadField) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"Command": {"args": ["a", 3], "env": {}}})",
       "at .Command.args[1]: expected a string, not a number"},
      {R"({"Command": {"argz": ["a"]}})", "at .Command.argz: unknown field"},
      {R"({"Command": {"env": {}}})", "at .Command: a Command has \"args\""},
      {R"({"Command": {"args": []}})", "at .Command.args: expected at least the program"},
      {R"({"Command": {"args": ["a"], "env": {"A": 1}}})", "at .Command.env.A: expected a string"},
      {R"({"Command": {"args": ["a"], "env": []}})", "at .Command.env: expected an object"},
      {R"({"Command": {"chain": [["a"], []]}})", "at .Command.chain[1]: expected at least"},
      {R"({"Tar": {"files": ["a"], "compression": "lz4"}})",
       "at .Tar.compression: unknown compression \"lz4\""},
      {R"({"Tar": {"compression": "gzip"}})", "at .Tar.files: missing"},
      {R"({"Command": {"args": ["a"], "output": {"Tar": {"files": ["a"]}}}})",
       "at .Command.output: a Tar is a source"},
      {R"({"Command": {"args": ["a"], "output": {"File": {"name": "o", "output": {"Command": {"args": ["b"]}}}}}})",
       "at .Command.output.File.output: a File written to is the end"},
      {R"({"Command": {"args": ["a"], "output": {"Pipe": {}}}})",
       "at .Command.output.Pipe: unknown node"},
      {R"({"Command": {"args": ["a"], "runner": {"vm": {"cpus": 0}}}})",
       "at .Command.runner.vm.cpus: expected a number of CPUs"},
      {R"({"Command": {"args": ["a"], "runner": {"vm": {"bare": "yes"}}}})",
       "at .Command.runner.vm.bare: expected true or false, not a string"},
      {R"({"Command": {"args": ["a"], "runner": {"ssh": {}}}})",
       "at .Command.runner.ssh: unknown runner"},
      {R"({"Command": {"args": ["a"], "runner": {"container": {}}}})",
       "at .Command.runner.container.image: missing"},
      {R"({"Build": {}})", "at .Build.tag: missing"},
      {R"([1, 2])", "at .: expected node: an object with one key"},
      {R"({"Command": {"args": ["a"]}, "Tar": {}})", "at .: expected node"},
      {"{\"Command\": {\"args\": [\"a\"],\n", "not a pipeline: at line 2"},
      {"Command{\n  \"args\": [\"a\"] \"env\": {}\n}", "not a pipeline: at line 2"},
  };
  for (const Case& c : cases) {
    try {
      from_json(c.json);
      ADD_FAILURE() << "accepted " << c.json;
    } catch (const PipelineError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(c.message), std::string::npos) << what << "\nexpected: " << c.message;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

TEST(PipelineJson, ANameThatIsNotUtf8HasNoJsonForm) {
  EXPECT_THROW(to_json(command("/bin/echo", "\xff")), PipelineError);
}

TEST(PipelineOperators, PipesAndFiles) {
  Command a = command("a"), b = command("b"), c = command("c");
  Pipeline expected;
  expected.stages = {a, b, c};
  EXPECT_EQ(a | b | c, expected);
  expected.sink = File{"out"};
  // > binds tighter than | in C++: a | b | (c > "out") is the same pipeline.
  EXPECT_EQ(a | b | (c > "out"), expected);
  EXPECT_EQ((a | b | c) > "out", expected);
  EXPECT_EQ(a | b | c | File{"out"}, expected);
  expected.source = File{"in"};
  EXPECT_EQ((File{"in"} | a | b | c) > "out", expected);
  EXPECT_THROW((a > "out") | b, PipelineError);
  EXPECT_THROW(a | (Tar{{"x"}} | b), PipelineError);
  EXPECT_THROW((a > "x") > "y", PipelineError);
}

TEST(PipelineChain, ChainOfCommandsTakesTheirArgv) {
  Chain c = chain(command("/bin/true"), command(chain({"a"}, {"b"})), command("c", "d"));
  EXPECT_EQ(c.commands,
            (std::vector<std::vector<std::string>>{{"/bin/true"}, {"a"}, {"b"}, {"c", "d"}}));
}

}  // namespace
}  // namespace execvm::pipeline
