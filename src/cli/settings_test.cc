#include "cli/settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <set>

#include "config/trust.h"
#include "util/strings.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using Args = std::vector<std::string>;

std::string real(const std::string& path) {
  char* r = ::realpath(path.c_str(), nullptr);
  std::string out = r ? r : "";
  free(r);
  return out;
}

// Runs the test's body in DIR, and back.
class InDirectory {
 public:
  explicit InDirectory(const std::string& dir) {
    if (!getcwd(old_, sizeof old_) || chdir(dir.c_str()) != 0) throw_errno("chdir " + dir);
  }
  ~InDirectory() {
    if (chdir(old_) != 0) ADD_FAILURE() << "cannot go back to " << old_;
  }

 private:
  char old_[4096];
};

// Where describe_settings says SETTING ("cpus 2") came from; "(not shown)" when it is not.
std::string origin(const RunOptions& o, const std::string& setting) {
  for (const auto& [s, from] : describe_settings(o))
    if (s == setting) return from;
  return "(not shown)";
}

// The settings doctor would show, without their origins.
std::vector<std::string> shown(const RunOptions& o) {
  std::vector<std::string> out;
  for (const auto& [s, from] : describe_settings(o)) out.push_back(s);
  return out;
}

// The message the command line ARGS (then a command) is refused with.
std::string refusal(Args args) {
  args.push_back("true");
  try {
    parse_run_options(args);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    return e.message();
  }
  return "(accepted)";
}

// Each setting with values it takes, and what doctor then shows for it.
const std::vector<std::pair<Args, std::string>> kGoodValues = {
    {{"-v", "/data:/in:ro"}, "volume /data:/in:ro"},
    {{"--volume", "rel"}, "volume rel"},
    {{"--share-fs", "virtiofs"}, "share-fs virtiofs"},
    {{"--share-fs", "9p"}, "share-fs 9p"},
    {{"--bare"}, "bare yes"},
    {{"--image", "oci:layout:1.2"}, "image oci:layout:1.2"},
    {{"--pull", "always"}, "pull always"},
    {{"--pull", "never"}, "pull never"},
    {{"--platform", "linux/arm64/v8"}, "platform linux/arm64/v8"},
    {{"--tls-verify=false"}, "tls-verify false"},
    {{"--tls-verify", "true"}, "tls-verify true"},
    {{"--cert-dir", "/etc/certs"}, "cert-dir /etc/certs"},
    {{"--authfile", "/a/auth.json"}, "authfile /a/auth.json"},
    {{"--rootfs", "/srv/root"}, "rootfs /srv/root"},
    {{"--initrd", "/i/initrd.gz"}, "initrd /i/initrd.gz"},
    {{"--root-disk", "/d/root.ext4:rw"}, "root-disk /d/root.ext4:rw"},
    {{"--root-disk", "/d/root.sqfs"}, "root-disk /d/root.sqfs"},
    {{"-u", "1000:1000"}, "user 1000:1000"},
    {{"--user", "app"}, "user app"},
    {{"--image", "img", "--entrypoint", "/bin/sh"}, "entrypoint /bin/sh"},
    {{"--kernel", "/boot/vmlinuz"}, "kernel /boot/vmlinuz"},
    {{"--kernel", "/k/../vmlinux"}, "kernel /vmlinux"},
    {{"--accel", "kvm"}, "accel kvm"},
    {{"--accel", "tcg"}, "accel tcg"},
    {{"--cpus", "1"}, "cpus 1"},
    {{"--cpus", "64"}, "cpus 64"},
    {{"--cpus", "08"}, "cpus 8"},
    {{"--memory", "64M"}, "memory 64M"},
    {{"--memory", "2G"}, "memory 2048M"},
    {{"--memory", "300"}, "memory 300M"},
    {{"--qemu", "/opt/qemu"}, "qemu /opt/qemu"},
    {{"--disk", "data.img:ro"}, "disk data.img:ro"},
    {{"--disk", "/s.img:serial=scratch"}, "disk /s.img:serial=scratch"},
    {{"--output", "/tmp/out.json"}, "output /tmp/out.json"},
    {{"--output", "/out:results"}, "output /out:results"},
    {{"--sudo"}, "sudo yes"},
    {{"-e", "A=1"}, "env A=1"},
    {{"--env", "HOME"}, "env HOME"},
    {{"-w", "/tmp/x/"}, "workdir /tmp/x"},
    {{"--tty", "always"}, "tty always"},
    {{"--tty", "never"}, "tty never"},
    {{"--timeout", "1ms"}, "timeout 1ms"},
    {{"--timeout", "90"}, "timeout 90s"},
    {{"--timeout", "1.5m"}, "timeout 90s"},
    {{"--boot-timeout", "5s"}, "boot-timeout 5s"},
    {{"--console"}, "console yes"},
    {{"--stats"}, "stats yes"},
    {{"--cap-add", "NET_ADMIN"}, "cap-add NET_ADMIN"},
    {{"--cap-add", "all"}, "cap-add all"},
    {{"--cap-drop", "cap_net_raw"}, "cap-drop cap_net_raw"},
    {{"--privileged"}, "privileged yes"},
    {{"--network", "user"}, "network user"},
    {{"--network", "none"}, "network none"},
    {{"--network", "user", "-p", "8080:80"}, "publish 8080:80"},
    {{"--network", "user", "--publish", "0.0.0.0:53:53/udp"}, "publish 0.0.0.0:53:53/udp"},
};

TEST(Settings, EverySettingParsesItsValues) {
  std::set<std::string> covered;
  for (const auto& [args, setting] : kGoodValues) {
    Args line = args;
    line.push_back("true");
    RunOptions o = parse_run_options(line).options;
    EXPECT_EQ(origin(o, setting), "command line") << args[0] << " " << args.back();
    covered.insert(setting.substr(0, setting.find(' ')));
  }
  for (const Setting& s : run_settings()) EXPECT_TRUE(covered.count(s.name)) << s.name;
}

TEST(Settings, DefaultsAreShownAsDefaults) {
  RunOptions o = parse_run_options({"true"}).options;
  for (const char* setting : {"share-fs auto",
                              "bare no",
                              "kernel execvm's own",
                              "accel auto",
                              "cpus 1",
                              "memory 512M",
                              "qemu qemu-system-x86_64 from PATH",
                              "sudo no",
                              "workdir the current directory",
                              "tty auto",
                              "timeout none",
                              "boot-timeout 30s under TCG, 10s under KVM",
                              "console no",
                              "stats no",
                              "privileged no",
                              "network none",
                              "image none",
                              "rootfs none",
                              "root-disk none",
                              "initrd none",
                              "pull missing",
                              "platform linux/amd64",
                              "tls-verify registries.conf's",
                              "cert-dir certs.d",
                              "authfile the default",
                              "user yours",
                              "entrypoint the image's"})
    EXPECT_EQ(origin(o, setting), "default") << setting;
  EXPECT_EQ(describe_settings(o).size(), 27u);  // no volumes, variables, capabilities, ports
}

TEST(Settings, BadValuesAreRefusedWithWhatWasWritten) {
  const std::string kNumber = "write a whole number from 1 to 64";
  const std::string kSize = "write it like 256M or 2G (at least 64M)";
  const std::string kDuration = "write it like 90, 90s, 1.5m, 500ms or 2h";
  const std::string kForm = "the form is -v HOST[:GUEST][:ro|:rw]";
  for (const auto& [args, message] : std::vector<std::pair<Args, std::string>>{
           {{"--cpus", ""}, "--cpus '': not a whole number: " + kNumber},
           {{"--cpus", "0"}, "--cpus 0: out of range: " + kNumber},
           {{"--cpus", "65"}, "--cpus 65: out of range: " + kNumber},
           {{"--cpus", "99999999999999999999"},
            "--cpus 99999999999999999999: out of range: " + kNumber},
           {{"--cpus", "two"}, "--cpus two: not a whole number: " + kNumber},
           {{"--cpus", "2.5"}, "--cpus 2.5: not a whole number: " + kNumber},
           {{"--cpus", " 2"}, "--cpus ' 2': not a whole number: " + kNumber},
           {{"--memory", ""}, "--memory '': not a size: " + kSize},
           {{"--memory", "lots"}, "--memory lots: not a size: " + kSize},
           {{"--memory", "12K"}, "--memory 12K: not a size: " + kSize},
           {{"--memory", "63M"}, "--memory 63M: too small: " + kSize},
           {{"--timeout", "0.4ms"},
            "--timeout 0.4ms: no time for a run: give 1ms or more; " + kDuration},
           {{"--timeout", "0"}, "--timeout 0: no time for a run: give 1ms or more; " + kDuration},
           {{"--timeout", "soon"}, "--timeout soon: not a duration: " + kDuration},
           {{"--timeout", ""}, "--timeout '': not a duration: " + kDuration},
           {{"--boot-timeout", "-1s"}, "--boot-timeout -1s: not a duration: " + kDuration},
           {{"--accel", "hvf"}, "--accel hvf: not a known value: use auto, kvm or tcg"},
           {{"--share-fs", "nfs"}, "--share-fs nfs: not a known value: use auto, virtiofs or 9p"},
           {{"--pull", "sometimes"},
            "--pull sometimes: not a known value: use missing, always or never"},
           {{"--tls-verify", "no"}, "--tls-verify no: not a known value: use true or false"},
           {{"--platform", "amd64"},
            "--platform amd64: the platform \"amd64\" is not OS/ARCH[/VARIANT]: write it as "
            "docker does, such as linux/amd64 or linux/arm64/v8"},
           {{"--tty", "maybe so"},
            "--tty 'maybe so': not a known value: use auto, always or never"},
           {{"-e", "=x"},
            "-e =x: no variable name: write NAME=VALUE, or NAME to copy it from here"},
           {{"--env", ""},
            "-e '': no variable name: write NAME=VALUE, or NAME to copy it from here"},
           {{"-v", "/a:/proc"},
            "-v /a:/proc: /proc is the guest's own: share it elsewhere, e.g. at /mnt"},
           {{"--volume", ":/x"}, "-v :/x: no host directory: " + kForm},
           {{"--kernel", ""}, "--kernel '': no path: give a path"},
           {{"--qemu", ""}, "--qemu '': no path: give a path"},
           {{"-w", ""}, "-w '': no path: give a path"},
           {{"--disk", ":ro"},
            "--disk :ro: no file: write FILE, FILE:ro, FILE:serial=NAME or FILE:ro:serial=NAME"},
           {{"--output", "/tmp/x:"},
            "--output /tmp/x:: no host path after the colon: write GUEST_PATH or "
            "GUEST_PATH:HOST_PATH"},
           {{"--cap-add", "WIZARDRY"},
            "--cap-add WIZARDRY: not a capability: use names like NET_ADMIN or CAP_NET_ADMIN "
            "(see capabilities(7)), or ALL"},
           {{"--cap-drop", "CAP_ALL"},
            "--cap-drop CAP_ALL: not a capability: use names like NET_ADMIN or CAP_NET_ADMIN "
            "(see capabilities(7)), or ALL"},
           {{"--network", "host"}, "--network host: not a known value: use none or user"},
           {{"-p", "80"},
            "-p 80: no host and guest ports: the form is -p "
            "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]"},
           {{"--network", "user", "--publish", "99999:80"},
            "-p 99999:80: port 99999 is out of range: ports are 1 to 65535"},
           {{"-p", "8080:80"},
            "-p needs a network, and the guest has none by default: add --network user"},
           {{"--privileged", "--cap-drop", "ALL"},
            "--privileged and --cap-add or --cap-drop do not go together: --privileged keeps "
            "every capability: drop one or the other"},
       })
    EXPECT_EQ(refusal(args), message);
}

TEST(Settings, ALaterOneWins) {
  RunOptions o = parse_run_options({"--cpus", "2", "--cpus", "3", "true"}).options;
  EXPECT_EQ(o.cpus, 3u);
  // Each value is checked, the replaced one too.
  EXPECT_THAT(refusal({"--cpus", "0", "--cpus", "3"}), HasSubstr("--cpus 0: out of range"));
}

// A setting given on the command line and the same in a project file.
struct Both {
  Args cli;
  std::string toml;
};

const std::vector<Both> kSameBothWays = {
    {{"--cpus", "2"}, "cpus = 2"},
    {{"--memory", "1G"}, "memory = \"1G\""},
    {{"--memory", "256"}, "memory = 256"},
    {{"--timeout", "90"}, "timeout = 90"},
    {{"--timeout", "1.5m"}, "timeout = \"1.5m\""},
    {{"--sudo"}, "sudo = true"},
    {{"--accel", "tcg"}, "accel = \"tcg\""},
    {{"--share-fs", "9p"}, "share-fs = \"9p\""},
    {{"--image", "oci:img:1"}, "image = \"oci:img:1\""},
    {{"--pull", "never"}, "pull = \"never\""},
    {{"--kernel", "k/vmlinux"}, "kernel = \"k/vmlinux\""},
    {{"-v", "data:/in:ro", "-v", "/x"}, "volumes = [\"data:/in:ro\", \"/x\"]"},
    {{"-e", "A=1", "-e", "B=two words"}, "[env]\nA = \"1\"\nB = \"two words\""},
};

TEST(Settings, TheCommandLineAndTheProjectFileAgree) {
  TempDir t;
  std::string dir = real(t.path());
  InDirectory here(dir);  // relative paths: the command line's and the file's are both DIR
  std::set<std::string> covered;
  for (const auto& [cli, toml] : kSameBothWays) {
    Args line = cli;
    line.push_back("true");
    RunOptions from_cli = parse_run_options(line).options;
    RunOptions from_file = read_project_settings(t.write("same.toml", toml + "\n")).options;
    EXPECT_EQ(shown(from_cli), shown(from_file)) << toml;
    EXPECT_EQ(from_cli.volumes.size(), from_file.volumes.size());
    for (size_t i = 0; i < std::min(from_cli.volumes.size(), from_file.volumes.size()); ++i)
      EXPECT_EQ(from_cli.volumes[i], from_file.volumes[i]) << toml;
    covered.insert(toml.substr(0, toml.find_first_of(" ]")).substr(toml[0] == '[' ? 1 : 0));
  }
  for (const Setting& s : run_settings())
    if (s.file.key) {
      EXPECT_TRUE(covered.count(s.file.key)) << s.file.key;
    }
}

TEST(Settings, TheCommandLineAndTheProjectFileHaveTheSameBounds) {
  TempDir t;
  for (const auto& [cli, toml] : std::vector<Both>{
           {{"--cpus", "0"}, "cpus = 0"},
           {{"--cpus", "65"}, "cpus = 65"},
           {{"--memory", "63"}, "memory = 63"},
           {{"--memory", "1T"}, "memory = \"1T\""},
           {{"--timeout", "0"}, "timeout = 0"},
           {{"--accel", "xen"}, "accel = \"xen\""},
           {{"--share-fs", "nfs"}, "share-fs = \"nfs\""},
           {{"-v", "/a:/dev"}, "volumes = [\"/a:/dev\"]"},
           {{"--kernel", ""}, "kernel = \"\""},
       }) {
    std::string on_cli = refusal(cli);
    std::string in_file;
    try {
      read_project_settings(t.write(".execvm.toml", toml + "\n"));
    } catch (const Error& e) {
      in_file = e.message();
    }
    // The same words after each one's "--cpus 0" or "FILE:1:8: cpus 0".
    std::string what = on_cli.substr(on_cli.find(": "));
    EXPECT_THAT(in_file, ::testing::EndsWith(what)) << toml;
    EXPECT_THAT(in_file, ::testing::StartsWith(t / ".execvm.toml:1:")) << toml;
  }
}

TEST(Settings, CommandLineOverProjectFileOverDefaults) {
  TempDir t;
  TrustStore store(t / "trusted");
  t.mkdir("repo");
  t.mkdir("repo/.git");
  t.mkdir("repo/sub");
  std::string file = t.write("repo/.execvm.toml",
                             "cpus = 2\nmemory = \"1G\"\nsudo = true\nshare-fs = \"9p\"\n"
                             "volumes = [\"data:/data:ro\"]\n[env]\nA = \"file\"\n");
  store.trust(trust_name(file), read_file(file));  // it asks for sudo
  ParsedRun parsed = parse_run_options(
      {"--cpus", "3", "-w", t / "repo/sub", "-e", "A=cli", "-v", "/tmp:/mnt", "--", "true"});
  apply_project_file(parsed, store);
  RunOptions& o = parsed.options;
  EXPECT_EQ(o.project_file, t / "repo/.execvm.toml");
  EXPECT_EQ(o.command, Args{"true"});
  EXPECT_EQ(o.workdir, t / "repo/sub");
  EXPECT_EQ(o.cpus, 3u);
  EXPECT_EQ(o.memory_mib, 1024u);
  EXPECT_TRUE(o.sudo);
  EXPECT_EQ(o.share_fs, ShareFs::k9p);
  // The file's come first: a later -e or -v of the command line wins.
  EXPECT_EQ(o.env, (Args{"A=file", "A=cli"}));
  ASSERT_EQ(o.volumes.size(), 2u);
  EXPECT_EQ(o.volumes[0], (Volume{t / "repo/data", "/data", true, "data:/data:ro"}));
  EXPECT_EQ(o.volumes[1].text, "/tmp:/mnt");

  EXPECT_EQ(origin(o, "cpus 3"), "command line");
  EXPECT_EQ(origin(o, "memory 1024M"), t / "repo/.execvm.toml:2");
  EXPECT_EQ(origin(o, "timeout none"), "default");
  EXPECT_EQ(origin(o, "env A=cli"), "command line");
  EXPECT_EQ(origin(o, "env A=file"), t / "repo/.execvm.toml:7");
  EXPECT_EQ(origin(o, "volume data:/data:ro"), t / "repo/.execvm.toml:5");
  EXPECT_EQ(origin(o, "volume /tmp:/mnt"), "command line");
}

TEST(Settings, NoProjectFileChangesNothing) {
  TempDir t;
  ParsedRun parsed = parse_run_options({"-w", t.path(), "true"});
  RunOptions before = parsed.options;
  apply_project_file(parsed, TrustStore(t / "trusted"));
  EXPECT_EQ(parsed.options.project_file, "");
  EXPECT_EQ(parsed.options.cpus, before.cpus);
  EXPECT_TRUE(parsed.options.env.empty());
}

// What a project file in T's git repository, holding TEXT, asks for beyond the repository.
std::vector<std::string> beyond(const TempDir& t, const std::string& text) {
  return read_project_settings(t.write("repo/.execvm.toml", text)).beyond;
}

TEST(Settings, WhatAProjectFileAsksForBeyondItsWorkTree) {
  TempDir t;
  t.mkdir("repo");
  t.mkdir("repo/.git");
  t.mkdir("repo/data");
  t.mkdir("outside");
  t.symlink("repo/escape", t / "outside");
  EXPECT_THAT(beyond(t, "cpus = 2\nsudo = false\nkernel = \"/boot/vmlinuz\"\n[env]\nA = \"1\""),
              ::testing::IsEmpty());
  EXPECT_THAT(beyond(t, "volumes = [\"data\", \".:/src\", \"missing/x:/x\", \"data/../data\"]"),
              ::testing::IsEmpty());
  EXPECT_EQ(beyond(t, "sudo = true"), Args{"sudo = true"});
  EXPECT_EQ(beyond(t, "volumes = [\"/:/host\", \"../outside:/o:ro\", \"escape\", \"data\"]"),
            (Args{"volume /:/host", "volume ../outside:/o:ro", "volume escape"}));
  // A file below the top of the work tree may name what is above it in the tree.
  t.mkdir("repo/sub");
  EXPECT_THAT(
      read_project_settings(t.write("repo/sub/.execvm.toml", "volumes = [\"../data\"]")).beyond,
      ::testing::IsEmpty());
  // Outside a git repository, the work tree is the file's directory.
  EXPECT_EQ(read_project_settings(t.write("outside/.execvm.toml", "volumes = [\"..\"]")).beyond,
            Args{"volume .."});
}

TEST(Settings, WideningNeedsConsentForThisContent) {
  TempDir t;
  TrustStore store(t / "trusted");
  t.mkdir("repo");
  t.mkdir("repo/.git");
  std::string file = t.write("repo/.execvm.toml", "sudo = true\n");
  auto run = [&] {
    ParsedRun parsed = parse_run_options({"-w", t / "repo", "true"});
    apply_project_file(parsed, store);
    return parsed.options;
  };
  try {
    run();
    FAIL() << "ran without consent";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_THAT(e.message(), HasSubstr(file + " asks for sudo = true, beyond its work tree " +
                                       real(t / "repo")));
    EXPECT_THAT(e.hint(), HasSubstr("execvm trust " + file));
  }
  store.trust(trust_name(file), read_file(file));
  EXPECT_TRUE(run().sudo);
  t.write("repo/.execvm.toml", "sudo = true\nvolumes = [\"/:/host\"]\n");
  EXPECT_THROW(run(), Error);  // changed: asks again
  store.trust(trust_name(file), read_file(file));
  EXPECT_EQ(run().volumes.size(), 1u);
  EXPECT_TRUE(store.revoke(trust_name(file)));
  EXPECT_THROW(run(), Error);
  // What stays in the work tree needs no consent.
  t.write("repo/.execvm.toml", "cpus = 2\nvolumes = [\"cache:/cache\"]\n");
  EXPECT_EQ(run().cpus, 2u);
}

TEST(Settings, HelpListsEverySettingWithItsDefault) {
  std::string help = run_help();
  for (const Setting& s : run_settings()) {
    EXPECT_THAT(help, HasSubstr("--" + s.name + (s.metavar.empty() ? "" : " " + s.metavar)));
    if (!s.short_flag.empty()) {
      EXPECT_THAT(help, HasSubstr(s.short_flag + ", --" + s.name));
    }
  }
  EXPECT_THAT(help, HasSubstr("--cpus N               virtual CPUs, 1 to 64 (default 1)"));
  EXPECT_THAT(help, HasSubstr("(default 512M)"));
  for (const std::string& line : split(help, '\n')) EXPECT_LE(line.size(), 95u) << line;
}

}  // namespace
}  // namespace execvm
