#include "host/caller.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/paths.h"
#include "util/testing.h"

namespace execvm {
namespace {

Caller a_caller() {
  Caller c;
  c.env = {"PATH=/usr/bin:/bin", "HOME=/home/me", "EMPTY=", "USER=me"};
  c.cwd = "/home/me/src";
  c.uid = 1000;
  c.gid = 1000;
  c.groups = {1000, 27};
  c.user = "me";
  c.umask = 027;
  c.ignored_signals = {SIGHUP};
  c.stack_limit = 8 << 20;
  return c;
}

RunOptions run(std::vector<std::string> command) {
  RunOptions o;
  o.command = std::move(command);
  return o;
}

TEST(RunSpecFromOptions, TheCallersWorld) {
  RunSpec spec = make_run_spec(run({"make", "test"}), a_caller());
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"make", "test"}));
  EXPECT_EQ(spec.env, a_caller().env);
  EXPECT_EQ(spec.cwd, "/home/me/src");
  EXPECT_EQ(spec.uid, 1000u);
  EXPECT_EQ(spec.gid, 1000u);
  EXPECT_EQ(spec.groups, (std::vector<uint32_t>{1000, 27}));
  EXPECT_EQ(spec.umask, 027u);
  EXPECT_EQ(spec.ignored_signals, std::vector<int>{SIGHUP});
  EXPECT_EQ(spec.stack_limit, uint64_t{8 << 20});
  EXPECT_FALSE(spec.tty);
  EXPECT_FALSE(spec.stderr_to_stdout);
  EXPECT_TRUE(spec.closed_fds.empty());
}

TEST(RunSpecFromOptions, EnvironmentOverrides) {
  RunOptions o = run({"env"});
  // -e NAME=VALUE sets (the last one wins and comes last); -e NAME copies NAME when it is set,
  // empty values included, and adds nothing when it is not.
  o.env = {"HOME=/elsewhere", "NEW=1", "EMPTY", "UNSET", "NEW=2"};
  RunSpec spec = make_run_spec(o, a_caller());
  EXPECT_EQ(spec.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "USER=me", "HOME=/elsewhere",
                                                "EMPTY=", "NEW=2"}));
}

TEST(RunSpecFromOptions, SudoIsRootWithTheCallersEnvironment) {
  RunOptions o = run({"id"});
  o.sudo = true;
  RunSpec spec = make_run_spec(o, a_caller());
  EXPECT_EQ(spec.uid, 0u);
  EXPECT_EQ(spec.gid, 0u);
  EXPECT_EQ(spec.groups, std::vector<uint32_t>{0});
  EXPECT_EQ(env_value(spec.env, "SUDO_UID"), "1000");
  EXPECT_EQ(env_value(spec.env, "SUDO_GID"), "1000");
  EXPECT_EQ(env_value(spec.env, "SUDO_USER"), "me");
  EXPECT_EQ(env_value(spec.env, "USER"), "root");
  EXPECT_EQ(env_value(spec.env, "LOGNAME"), "root");
  EXPECT_EQ(env_value(spec.env, "HOME"), "/home/me");  // kept, as sudo --preserve-env does
}

TEST(RunSpecFromOptions, WorkdirIsAbsoluteAndFollowsTheHostsSymlinks) {
  testing::TempDir t;
  std::string real = canonical_path(t.mkdir("real"));
  t.symlink("link", real);
  Caller c = a_caller();
  c.cwd = canonical_path(t.path());
  RunOptions o = run({"pwd"});
  o.workdir = "link";  // relative to the caller's directory, through a symlink
  EXPECT_EQ(make_run_spec(o, c).cwd, real);
  o.workdir = t / "link";
  EXPECT_EQ(make_run_spec(o, c).cwd, real);
  // A directory the host lacks is kept as given: the guest makes it.
  o.workdir = "/no/such/dir";
  EXPECT_EQ(make_run_spec(o, c).cwd, "/no/such/dir");
}

TEST(RunSpecFromOptions, TerminalAndStreams) {
  Caller c = a_caller();
  c.stdin_tty = c.stdout_tty = c.stderr_tty = true;
  c.rows = 40;
  c.cols = 100;
  RunSpec spec = make_run_spec(run({"vi"}), c);
  EXPECT_TRUE(spec.tty);
  EXPECT_TRUE(spec.stderr_tty);
  EXPECT_EQ(spec.rows, 40);
  EXPECT_EQ(spec.cols, 100);
  RunOptions never = run({"vi"});
  never.tty = TtyMode::kNever;
  EXPECT_FALSE(make_run_spec(never, c).tty);
  // Only stdin a terminal: pipes, as `auto` promises.
  c.stdout_tty = false;
  EXPECT_FALSE(make_run_spec(run({"cat"}), c).tty);
  RunOptions always = run({"cat"});
  always.tty = TtyMode::kAlways;
  EXPECT_TRUE(make_run_spec(always, c).tty);
  EXPECT_FALSE(make_run_spec(always, c).stderr_to_stdout);

  Caller piped = a_caller();
  piped.stderr_is_stdout = true;  // 2>&1
  piped.closed_fds = {2};
  RunSpec merged = make_run_spec(run({"make"}), piped);
  EXPECT_TRUE(merged.stderr_to_stdout);
  EXPECT_EQ(merged.closed_fds, std::vector<int>{2});
}

TEST(RunSpecFromOptions, RefusesWhatExecRefuses) {
  auto refused = [](const RunOptions& o, const Caller& c) {
    try {
      make_run_spec(o, c);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kExitCannotInvoke);
      EXPECT_STREQ(e.what(), (o.command[0] + ": Argument list too long").c_str());
      return true;
    }
    return false;
  };
  Caller c = a_caller();
  // One string beyond 32 pages.
  EXPECT_TRUE(refused(run({"echo", std::string(32 * 4096, 'a')}), c));
  EXPECT_FALSE(refused(run({"echo", std::string(32 * 4096 - 1, 'a')}), c));
  // Within a quarter of the stack limit (2 MiB of 8), with a pointer each.
  std::vector<std::string> many = {"echo"};
  for (int i = 0; i < 20; ++i) many.push_back(std::string(100'000, 'b'));
  EXPECT_FALSE(refused(run(many), c));
  for (int i = 0; i < 2; ++i) many.push_back(std::string(100'000, 'b'));
  EXPECT_TRUE(refused(run(many), c));
  // A caller with a larger stack may pass more, as locally (up to 6 MiB).
  c.stack_limit = 64 << 20;
  EXPECT_FALSE(refused(run(many), c));
  // The environment counts too, -e included.
  c.stack_limit = 8 << 20;
  RunOptions with_env = run({"true"});
  for (int i = 0; i < 22; ++i) with_env.env.push_back("V" + std::to_string(i) + "=" + many[1]);
  EXPECT_TRUE(refused(with_env, c));
}

TEST(CommandCapabilities, ConfinedOnAnImageRootLikeDocker) {
  const CapabilitySet raw = CapabilitySet{1} << 13;    // CAP_NET_RAW
  const CapabilitySet admin = CapabilitySet{1} << 21;  // CAP_SYS_ADMIN
  for (auto root : {&RunOptions::image, &RunOptions::rootfs, &RunOptions::root_disk}) {
    RunOptions o = run({"id"});
    o.*root = "/some/where";
    EXPECT_EQ(command_capabilities(o), default_capabilities());
    o.cap_drop = {"net_raw"};
    o.cap_add = {"CAP_SYS_ADMIN"};
    EXPECT_EQ(command_capabilities(o), (default_capabilities() & ~raw) | admin);
    o.cap_drop = {"ALL"};
    o.cap_add = {};
    EXPECT_EQ(command_capabilities(o), CapabilitySet{0});
    o.privileged = true;
    EXPECT_EQ(command_capabilities(o), std::nullopt);
  }
}

TEST(CommandCapabilities, TheHostRootAndBareOnlyWhenAsked) {
  for (bool bare : {false, true}) {
    RunOptions o = run({"id"});
    o.bare = bare;
    o.sudo = true;
    EXPECT_EQ(command_capabilities(o), std::nullopt);  // --sudo: root with every power
    o.cap_drop = {"ALL"};
    EXPECT_EQ(command_capabilities(o), CapabilitySet{0});
    o.cap_drop = {};
    o.cap_add = {"SYS_ADMIN"};
    EXPECT_EQ(command_capabilities(o), default_capabilities() | (CapabilitySet{1} << 21));
    o.privileged = true;
    EXPECT_EQ(command_capabilities(o), std::nullopt);
  }
}

TEST(CommandCapabilities, AnUnknownNameIsOneError) {
  RunOptions o = run({"id"});
  o.cap_add = {"NET_ADMIN", "WIZARDRY"};
  EXPECT_THROW(command_capabilities(o), Error);
}

TEST(RunSpecFromOptions, IsolationFields) {
  RunOptions o = run({"ping", "10.0.2.2"});
  RunSpec plain = make_run_spec(o, a_caller());
  EXPECT_FALSE(plain.capabilities);
  EXPECT_TRUE(plain.network.address.empty());
  o.image = "/images/busybox";
  o.network = NetworkMode::kUser;
  RunSpec spec = make_run_spec(o, a_caller());
  EXPECT_EQ(spec.capabilities, default_capabilities());
  EXPECT_EQ(spec.network, guest_network(NetworkMode::kUser));
}

TEST(RunSpecFromOptions, CommandPath) {
  EXPECT_EQ(command_path({"HOME=/", "PATH=/opt/bin"}), "/opt/bin");
  EXPECT_EQ(command_path({"PATH="}), "");  // empty: the current directory, as for execvp
  EXPECT_EQ(command_path({"HOME=/"}), "/bin:/usr/bin");
}

ImageConfig an_image() {
  ImageConfig image;
  image.env = {"PATH=/opt/bin:/bin", "MY_VAR=test_value"};
  image.entrypoint = std::vector<std::string>{"/entry", "--flag"};
  image.cmd = std::vector<std::string>{"serve", "--port=80"};
  image.working_dir = "/app";
  image.user = "app:staff";
  return image;
}

TEST(RunSpecFromImage, EntrypointAndCmdAsDockerRunsThem) {
  ImageConfig image = an_image();
  EXPECT_EQ(make_run_spec(run({}), a_caller(), &image).argv,
            (std::vector<std::string>{"/entry", "--flag", "serve", "--port=80"}));
  // COMMAND replaces Cmd.
  EXPECT_EQ(make_run_spec(run({"sh", "-c", "id"}), a_caller(), &image).argv,
            (std::vector<std::string>{"/entry", "--flag", "sh", "-c", "id"}));
  // --entrypoint replaces the Entrypoint and drops the Cmd; "" clears it.
  RunOptions o = run({});
  o.entrypoint = "/bin/sh";
  EXPECT_EQ(make_run_spec(o, a_caller(), &image).argv, (std::vector<std::string>{"/bin/sh"}));
  o = run({"ls", "/"});
  o.entrypoint = "";
  EXPECT_EQ(make_run_spec(o, a_caller(), &image).argv, (std::vector<std::string>{"ls", "/"}));
}

TEST(RunSpecFromImage, NoCommandAtAllIsAnError) {
  ImageConfig image;
  EXPECT_THROW(make_run_spec(run({}), a_caller(), &image), Error);
  image.cmd = std::vector<std::string>{};
  EXPECT_THROW(make_run_spec(run({}), a_caller(), &image), Error);
  EXPECT_NO_THROW(make_run_spec(run({"true"}), a_caller(), &image));
}

TEST(RunSpecFromImage, TheImagesEnvironmentNotTheCallers) {
  ImageConfig image = an_image();
  RunOptions o = run({});
  o.env = {"MY_VAR=override", "HOME", "UNSET_HERE", "NEW=1"};
  RunSpec spec = make_run_spec(o, a_caller(), &image);
  EXPECT_EQ(spec.env, (std::vector<std::string>{"PATH=/opt/bin:/bin", "HOSTNAME=execvm",
                                                "MY_VAR=override", "HOME=/home/me", "NEW=1"}));
  EXPECT_EQ(env_value(spec.env, "USER"), "");
}

TEST(RunSpecFromImage, ADefaultPathWhenTheImageHasNone) {
  ImageConfig image;
  image.cmd = std::vector<std::string>{"true"};
  RunSpec spec = make_run_spec(run({}), a_caller(), &image);
  EXPECT_EQ(env_value(spec.env, "PATH"), kImageDefaultPath);
  image.env = {"PATH="};  // set, if empty: the image's choice
  EXPECT_EQ(make_run_spec(run({}), a_caller(), &image).env[0], "PATH=");
}

TEST(RunSpecFromImage, WorkingDirAndUser) {
  ImageConfig image = an_image();
  RunSpec spec = make_run_spec(run({}), a_caller(), &image);
  EXPECT_EQ(spec.cwd, "/app");
  EXPECT_EQ(spec.user, "app:staff");
  EXPECT_EQ(spec.uid, 0u);
  EXPECT_EQ(spec.umask, 022u);
  RunOptions o = run({});
  o.workdir = "/src";
  o.user = "1000:1000";
  spec = make_run_spec(o, a_caller(), &image);
  EXPECT_EQ(spec.cwd, "/src");
  EXPECT_EQ(spec.user, "1000:1000");
  o = run({});
  o.sudo = true;
  EXPECT_EQ(make_run_spec(o, a_caller(), &image).user, "0");
  image.working_dir = "rel";
  image.user = "";
  spec = make_run_spec(run({}), a_caller(), &image);
  EXPECT_EQ(spec.cwd, "/rel");
  EXPECT_EQ(spec.user, "0");
  image.working_dir = "";
  EXPECT_EQ(make_run_spec(run({}), a_caller(), &image).cwd, "/");
}

TEST(RunSpecFromImage, HostnameAndTerm) {
  ImageConfig image = an_image();
  image.hostname = "box";
  RunOptions o = run({});
  o.tty = TtyMode::kAlways;
  RunSpec spec = make_run_spec(o, a_caller(), &image);
  EXPECT_EQ(spec.hostname, "box");
  EXPECT_EQ(env_value(spec.env, "HOSTNAME"), "box");
  EXPECT_EQ(env_value(spec.env, "TERM"), "xterm");
}

}  // namespace
}  // namespace execvm
