#include <gtest/gtest.h>

#include "execvm/pipeline.h"
#include "pipeline/argv.h"

namespace execvm::pipeline {
namespace {

TEST(PipelineShell, TheSeedsExamples) {
  EXPECT_EQ(to_shell(command("/bin/echo", "hello") | command("/bin/wc", "-c")),
            "/bin/echo hello | /bin/wc -c");
  EXPECT_EQ(to_shell((Tar{{"file1", "file2"}, Compression::kGzip} |
                      command("/bin/tar", "-tzf", "-") | command("wc", "-l")) > "output"),
            "tar -czf - file1 file2 | /bin/tar -tzf - | wc -l > output");
}

TEST(PipelineShell, EachRunnersCommandLine) {
  Command cat = command("cat");
  cat.env = {{"A", "b c"}};
  cat.cwd = "/w d";
  EXPECT_EQ(to_shell(cat), "(cd '/w d' && A='b c' exec cat)");
  VmOptions vm;
  vm.bare = true;
  vm.memory = "1G";
  vm.args = {"--cpus", "2"};
  EXPECT_EQ(to_shell(cat, vm_runner(vm)),
            "execvm --bare --memory 1G --cpus 2 -e 'A=b c' -w '/w d' -- cat");
  ContainerOptions c;
  c.image = "busybox:latest";
  c.options = {"--network", "none"};
  EXPECT_EQ(to_shell(cat, container_runner(c)),
            "podman run -i --rm --network none -e 'A=b c' -w '/w d' busybox:latest cat");
  // No network unless the options ask for one.
  c.options = {};
  EXPECT_EQ(to_shell(command("x"), container_runner(c)),
            "podman run -i --rm --network none busybox:latest x");
  c.options = {"--network=host"};
  EXPECT_EQ(to_shell(command("x"), container_runner(c)),
            "podman run -i --rm --network=host busybox:latest x");
  c.options = {"--net", "bridge"};
  EXPECT_EQ(to_shell(command("x"), container_runner(c)),
            "podman run -i --rm --net bridge busybox:latest x");
  EXPECT_EQ(to_shell(command("touch", "x"), void_runner(true)), "cat");
  // Bound runners win over the default one.
  EXPECT_EQ(to_shell(vm_runner().command("a") | command("b"), void_runner()), "execvm -- a | cat");
}

TEST(PipelineShell, QuotingFilesAndBuild) {
  EXPECT_EQ(to_shell(Pipeline(command("printf", "%s\\n", "it's", "")) > "my out"),
            "printf '%s\\n' 'it'\\''s' '' > 'my out'");
  EXPECT_EQ(to_shell(command("a=b", "x")), "'a=b' x");
  EXPECT_EQ(to_shell(File{"in"} | command("wc", "-c")), "wc -c < in");
  EXPECT_EQ(to_shell(Pipeline(File{"in"}) > "out"), "cat in > out");
  EXPECT_EQ(to_shell(Tar{{"ctx"}} | Build{"img", "docker", "Containerfile"}),
            "tar -cf - ctx | docker build -q -t img -f Containerfile -");
  EXPECT_EQ(to_shell(Tar{{"a"}, Compression::kXz} | command("x")), "tar -cJf - a | x");
  EXPECT_EQ(to_shell(Tar{{"a"}, Compression::kZstd} | command("x")), "tar --zstd -cf - a | x");
}

TEST(PipelineShell, ChainWithEachRunnersProgram) {
  Command c = command(chain({"/bin/true"}, {"/bin/true"}));
  EXPECT_EQ(to_shell(c, local_runner({{"/x/chain"}})), "/x/chain chain -- /bin/true -- /bin/true");
  EXPECT_EQ(to_shell(c), "execvm chain -- /bin/true -- /bin/true");
  EXPECT_EQ(to_shell(c, vm_runner()),
            "execvm -- /run/execvm/execvm chain -- /bin/true -- /bin/true");
  EXPECT_EQ(to_shell(c, container_runner({"img"})),
            "podman run -i --rm --network none img execvm chain -- /bin/true -- /bin/true");
}

TEST(PipelineArgv, ChainsNestWithDelimitersTheirCommandsDoNotHave) {
  Chain c{{{"tar", "-xf", "-", "--", "x"}, {"make", "--", "---"}, {"cat", "pkg"}}};
  EXPECT_EQ(
      chain_argv(c, {"/e"}),
      (std::vector<std::string>{"/e", "chain", "---", "tar", "-xf", "-", "--", "x", "---", "/e",
                                "chain", "----", "make", "--", "---", "----", "cat", "pkg"}));
  EXPECT_EQ(chain_argv(Chain{{{"a", "b"}}}, {"/e"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(chain_argv(Chain{}, {"/e"}), PipelineError);
  EXPECT_THROW(chain_argv(Chain{{{"a"}, {}}}, {"/e"}), PipelineError);
}

TEST(PipelineArgv, VmOptionsAreExecvmsFlags) {
  VmOptions o;
  o.image = "oci:./img";
  o.kernel = "/boot/k";
  o.cpus = 2;
  o.devices = {{"/b.img", "/dev/vdb"}, {"/a.img", "/dev/vda"}};
  EXPECT_EQ(vm_flags(o), (std::vector<std::string>{"--image", "oci:./img", "--kernel", "/boot/k",
                                                   "--cpus", "2", "--disk", "/a.img:serial=vda",
                                                   "--disk", "/b.img:serial=vdb"}));
  o.devices = {{"/a.img", "/dev/vdb"}};
  EXPECT_THROW(vm_flags(o), PipelineError);
  o.devices = {{"/a.img", "/dev/sda"}};
  EXPECT_THROW(vm_flags(o), PipelineError);
  // The seed's kernel and initrd form: the initramfs is the guest's root.
  VmOptions initrd;
  initrd.kernel = "/k/vmlinux";
  initrd.initrd = "/i/initrd.gz";
  EXPECT_EQ(vm_flags(initrd),
            (std::vector<std::string>{"--initrd", "/i/initrd.gz", "--kernel", "/k/vmlinux"}));
}

TEST(PipelineArgv, TheVmRunnersExecvm) {
  VmOptions o;
  o.execvm = "/opt/execvm";
  EXPECT_EQ(runner_argv(vm_runner(o), command("true"), "/other"),
            (std::vector<std::string>{"/opt/execvm", "--", "true"}));
  EXPECT_EQ(runner_argv(vm_runner(), command("true"), "/other"),
            (std::vector<std::string>{"/other", "--", "true"}));
  EXPECT_EQ(resolve_execvm("/x"), "/x");
}

}  // namespace
}  // namespace execvm::pipeline
