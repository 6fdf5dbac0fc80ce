#include "host/outputs.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "util/testing.h"

namespace execvm {
namespace {

using protocol::FrameType;
using protocol::OutputEntry;
using Kind = protocol::OutputEntry::Kind;
using testing::TempDir;

constexpr int64_t kMtime = 1'600'000'000'123'456'789;

// What the guest would send, fed to OUTPUTS as the relay does.
struct Guest {
  Outputs& outputs;
  uint32_t output = 0;

  void entry(Kind kind, std::string path, uint32_t mode = 0644, uint64_t size = 0,
             std::string text = "") {
    OutputEntry e{output, kind, std::move(path), mode, kMtime, size, std::move(text)};
    outputs.handle({FrameType::kOutput, 0, protocol::encode_output_entry(e)});
  }
  void file(std::string path, std::string_view data, uint32_t mode = 0644) {
    entry(Kind::kFile, std::move(path), mode, data.size());
    if (!data.empty()) outputs.handle({FrameType::kOutputData, 0, std::string(data)});
  }
  void dir(std::string path, uint32_t mode = 0755) {
    entry(Kind::kDirectory, std::move(path), mode);
  }
  void symlink(std::string path, std::string target) {
    entry(Kind::kSymlink, std::move(path), 0777, 0, std::move(target));
  }
  void end() {
    entry(Kind::kEnd, "");
    ++output;
  }
};

std::vector<std::string> list(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        names.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

OutputOption option(const std::string& guest, const std::string& host) {
  return {guest + ":" + host, guest, host};
}

TEST(OutputOption, ParsesGuestAndHostPaths) {
  EXPECT_EQ(parse_output_option("/tmp/out.json", "/home/u", "--output x"),
            (OutputOption{"/tmp/out.json", "/tmp/out.json", "/home/u/out.json"}));
  EXPECT_EQ(parse_output_option("/out/:res", "/home/u", "--output x").host, "/home/u/res");
  EXPECT_EQ(parse_output_option("/out/", "/home/u", "--output x").host, "/home/u/out");
  EXPECT_EQ(parse_output_option("rel/f:/abs/g:h", "/home/u", "--output x"),
            (OutputOption{"rel/f:/abs/g:h", "rel/f", "/abs/g:h"}));
  for (auto bad : {"", ":host", "/tmp/x:", "/", ".", "/a/.."}) {
    try {
      parse_output_option(bad, "/home/u", "--output x");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--output x: ", 0), 0u) << e.what();
    }
  }
}

TEST(Outputs, WritesAFileByteExactWithItsModeAndTime) {
  TempDir dir;
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + i / 7);
  Outputs outputs({option("/tmp/o", dir / "o")});
  EXPECT_EQ(outputs.guest_paths(), std::vector<std::string>{"/tmp/o"});
  Guest g{outputs};
  g.entry(Kind::kFile, "", 0640, data.size());
  outputs.handle({FrameType::kOutputData, 0, data.substr(0, 4096)});
  // Not there until the output is complete.
  EXPECT_EQ(::access((dir / "o").c_str(), F_OK), -1);
  outputs.handle({FrameType::kOutputData, 0, data.substr(4096)});
  EXPECT_FALSE(outputs.complete());
  g.end();
  EXPECT_TRUE(outputs.complete());
  EXPECT_EQ(read_file(dir / "o"), data);
  struct stat st = lstat_of(dir / "o");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, kMtime / 1'000'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, kMtime % 1'000'000'000);
  EXPECT_EQ(list(dir.path()), std::vector<std::string>{"o"});  // no temporary left
  OutputsSummary summary = outputs.finish();
  EXPECT_TRUE(summary.problems.empty());
  EXPECT_TRUE(summary.notes.empty());
}

TEST(Outputs, WritesATreeWithSymlinksAsSymlinks) {
  TempDir dir;
  Outputs outputs({option("/out", dir / "res")});
  Guest g{outputs};
  g.dir("", 0750);
  g.file("a", "A", 0755);
  g.dir("ro", 0555);
  g.file("ro/inside", "in");
  g.dir("ro/deeper");
  g.file("ro/deeper/x", "");
  g.symlink("etc", "/etc");
  g.symlink("up", "../..");
  g.file("setuid", "s", 06755);
  g.entry(Kind::kSkipped, "sock", 0, 0, "a socket");
  g.end();
  std::string res = dir / "res";
  EXPECT_EQ(list(res), (std::vector<std::string>{"a", "etc", "ro", "setuid", "up"}));
  EXPECT_EQ(read_file(res + "/a"), "A");
  EXPECT_EQ(lstat_of(res + "/a").st_mode & 07777, 0755u);
  EXPECT_EQ(read_file(res + "/ro/inside"), "in");
  EXPECT_EQ(read_file(res + "/ro/deeper/x"), "");
  EXPECT_EQ(lstat_of(res + "/ro").st_mode & 07777, 0555u);
  EXPECT_EQ(lstat_of(res).st_mode & 07777, 0750u);
  // Directories keep their times although entries were made in them.
  EXPECT_EQ(lstat_of(res + "/ro").st_mtim.tv_sec, kMtime / 1'000'000'000);
  EXPECT_EQ(lstat_of(res).st_mtim.tv_sec, kMtime / 1'000'000'000);
  EXPECT_TRUE(S_ISLNK(lstat_of(res + "/etc").st_mode));
  EXPECT_EQ(read_link(res + "/etc"), "/etc");
  EXPECT_EQ(read_link(res + "/up"), "../..");
  EXPECT_EQ(lstat_of(res + "/setuid").st_mode & 07777, 0755u);  // no setuid nor setgid here
  OutputsSummary summary = outputs.finish();
  EXPECT_TRUE(summary.problems.empty());
  EXPECT_EQ(summary.notes, std::vector<std::string>{"--output /out: skipped /out/sock (a socket)"});
  ::chmod((res + "/ro").c_str(), 0755);  // so that the test's directory goes
}

TEST(Outputs, ASymlinkAsTheOutputItselfStaysOne) {
  TempDir dir;
  Outputs outputs({option("/tmp/l", dir / "l")});
  Guest g{outputs};
  g.symlink("", "/etc/passwd");
  g.end();
  EXPECT_EQ(read_link(dir / "l"), "/etc/passwd");
  EXPECT_TRUE(outputs.finish().problems.empty());
}

// The guest makes a symlink to a directory outside the destination, then sends a file through
// it: nothing is written there, and the output is refused whole.
TEST(Outputs, NeverWritesThroughASymlinkTheGuestMade) {
  TempDir dir, outside;
  Outputs outputs({option("/out", dir / "res")});
  Guest g{outputs};
  g.dir("");
  g.file("before", "b");
  g.symlink("evil", outside.path());
  g.file("evil/passwd", "root::0:0::/:/bin/sh\n");
  g.file("after", "a");  // the rest of a refused output is read and dropped
  g.end();
  EXPECT_TRUE(outputs.complete());
  EXPECT_TRUE(list(outside.path()).empty());
  EXPECT_TRUE(list(dir.path()).empty());  // neither the output nor its temporary
  OutputsSummary summary = outputs.finish();
  ASSERT_EQ(summary.problems.size(), 1u);
  EXPECT_EQ(summary.problems[0],
            "--output /out: refused the entry evil/passwd that the guest sent: it is not in a "
            "directory of the output");
}

TEST(Outputs, RefusesNamesThatWouldLeaveTheOutput) {
  for (std::string bad : std::vector<std::string>{"../x", "/abs", "a/../../x", "a//b", ".", "a/.",
                                                  "a/", "..", std::string("a\0b", 3)}) {
    TempDir dir;
    Outputs outputs({option("/out", dir / "res")});
    Guest g{outputs};
    g.dir("");
    g.dir("a");
    g.file(bad, "x");
    g.end();
    EXPECT_TRUE(list(dir.path()).empty()) << bad;
    OutputsSummary summary = outputs.finish();
    ASSERT_EQ(summary.problems.size(), 1u) << bad;
    EXPECT_NE(summary.problems[0].find("refused an entry named"), std::string::npos)
        << summary.problems[0];
  }
}

TEST(Outputs, RefusesDuplicatesAndAFileWhereADirectoryWas) {
  auto refused = [](const std::function<void(Guest&)>& send) {
    TempDir dir;
    Outputs outputs({option("/out", dir / "res")});
    Guest g{outputs};
    g.dir("");
    send(g);
    g.end();
    EXPECT_TRUE(list(dir.path()).empty());
    OutputsSummary summary = outputs.finish();
    return summary.problems.size() == 1 ? summary.problems[0] : "";
  };
  EXPECT_NE(refused([](Guest& g) {
              g.file("a", "1");
              g.file("a", "2");
            }).find("a second entry named a"),
            std::string::npos);
  EXPECT_NE(refused([](Guest& g) {
              g.dir("d");
              g.file("d/x", "1");
              g.file("d", "2");
            }).find("a second entry named d"),
            std::string::npos);
  EXPECT_NE(refused([](Guest& g) {
              g.file("f", "1");
              g.file("f/x", "2");
            }).find("not in a directory of the output"),
            std::string::npos);
  EXPECT_NE(refused([](Guest& g) {
              g.file("no/such/parent", "1");
            }).find("not in a directory of the output"),
            std::string::npos);
  EXPECT_NE(refused([](Guest& g) { g.dir(""); }).find("a second entry for the output itself"),
            std::string::npos);
}

TEST(Outputs, EntriesUnderAFileOutputAreRefused) {
  TempDir dir;
  Outputs outputs({option("/f", dir / "f")});
  Guest g{outputs};
  g.file("", "x");
  g.file("below", "y");
  g.end();
  EXPECT_TRUE(list(dir.path()).empty());
  EXPECT_EQ(outputs.finish().problems.size(), 1u);
}

TEST(Outputs, ATruncatedStreamLeavesNothing) {
  TempDir dir;
  Outputs outputs({option("/out", dir / "res"), option("/f", dir / "f")});
  Guest g{outputs};
  g.dir("");
  g.file("done", "complete");
  g.entry(Kind::kFile, "half", 0644, 10);
  outputs.handle({FrameType::kOutputData, 0, "12345"});
  // The VM ends here.
  EXPECT_FALSE(outputs.complete());
  EXPECT_FALSE(list(dir.path()).empty());  // the temporary, for now
  OutputsSummary summary = outputs.finish();
  EXPECT_TRUE(list(dir.path()).empty());
  EXPECT_EQ(summary.problems,
            (std::vector<std::string>{
                "--output /out: not received (the run ended before the guest had sent it)",
                "--output /f: not received (the run ended before the guest had sent it)"}));
}

TEST(Outputs, MissingAndFailedOutputs) {
  TempDir dir;
  Outputs outputs(
      {option("/tmp/x", dir / "x"), option("/big", dir / "big"), option("/tmp/y", dir / "y")});
  Guest g{outputs};
  g.entry(Kind::kMissing, "");
  ++g.output;
  // A file that shrank while it was sent: the guest gives up on it midway.
  g.entry(Kind::kFile, "", 0644, 100);
  outputs.handle({FrameType::kOutputData, 0, "abc"});
  g.entry(Kind::kFailed, "", 0, 0, "changed while it was copied");
  ++g.output;
  g.file("", "fine");
  g.end();
  EXPECT_TRUE(outputs.complete());
  EXPECT_EQ(list(dir.path()), std::vector<std::string>{"y"});
  EXPECT_EQ(outputs.finish().problems,
            (std::vector<std::string>{"--output /tmp/x: no such file in the guest",
                                      "--output /big: changed while it was copied"}));
}

TEST(Outputs, FramesOutOfOrderBreakTheProtocol) {
  TempDir dir;
  {
    Outputs outputs({option("/a", dir / "a")});
    Guest g{outputs};
    g.entry(Kind::kFile, "", 0644, 2);
    EXPECT_THROW(outputs.handle({FrameType::kOutputData, 0, "abc"}), protocol::ProtocolError);
  }
  {
    Outputs outputs({option("/a", dir / "a")});
    Guest g{outputs};
    g.entry(Kind::kFile, "", 0644, 2);
    EXPECT_THROW(g.end(), protocol::ProtocolError);  // before the file's bytes
  }
  {
    Outputs outputs({option("/a", dir / "a"), option("/b", dir / "b")});
    Guest g{outputs};
    g.output = 1;
    EXPECT_THROW(g.file("", "x"), protocol::ProtocolError);  // output 0 comes first
  }
  {
    Outputs outputs({option("/a", dir / "a")});
    Guest g{outputs};
    g.file("", "x");
    g.end();
    EXPECT_THROW(outputs.handle({FrameType::kOutputData, 0, "x"}), protocol::ProtocolError);
    g.output = 0;
    EXPECT_THROW(g.end(), protocol::ProtocolError);
  }
  EXPECT_EQ(list(dir.path()), std::vector<std::string>{"a"});  // the one complete output
}

TEST(Outputs, DestinationsAsCpHasThem) {
  TempDir dir;
  // A file replaces a file, and a symlink there is replaced, not written through.
  dir.write("old", "old");
  dir.write("target", "keep");
  dir.symlink("link", dir / "target");
  dir.mkdir("into");
  Outputs outputs({option("/g/old", dir / "old"), option("/g/link", dir / "link"),
                   option("/g/name", dir / "into")});
  Guest g{outputs};
  g.file("", "new");
  g.end();
  g.file("", "via");
  g.end();
  g.file("", "inside");
  g.end();
  EXPECT_TRUE(outputs.finish().problems.empty());
  EXPECT_EQ(read_file(dir / "old"), "new");
  EXPECT_EQ(read_file(dir / "target"), "keep");
  EXPECT_FALSE(S_ISLNK(lstat_of(dir / "link").st_mode));
  EXPECT_EQ(read_file(dir / "link"), "via");
  // An existing directory takes the output inside, under the guest path's name.
  EXPECT_EQ(read_file(dir / "into/name"), "inside");
}

TEST(Outputs, ADirectoryDoesNotReplaceAFile) {
  TempDir dir;
  dir.write("res", "mine");
  Outputs outputs({option("/out", dir / "res")});
  Guest g{outputs};
  g.dir("");
  g.file("a", "1");
  g.end();
  EXPECT_EQ(read_file(dir / "res"), "mine");
  EXPECT_EQ(list(dir.path()), std::vector<std::string>{"res"});
  auto problems = outputs.finish().problems;
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find(dir / "res" + " exists already"), std::string::npos) << problems[0];
}

TEST(Outputs, RefusesBadDestinationsBeforeTheRun) {
  TempDir dir;
  dir.mkdir("into");
  dir.mkdir("into/name");
  auto message = [](const std::vector<OutputOption>& options) {
    try {
      Outputs outputs(options);
    } catch (const Error& e) {
      return e.message();
    }
    return std::string();
  };
  EXPECT_NE(message({option("/g/x", dir / "no/such/x")}).find("No such file or directory"),
            std::string::npos);
  EXPECT_NE(message({option("/g/name", dir / "into")}).find("is a directory already"),
            std::string::npos);
  EXPECT_NE(message({option("/a/x", dir / "x"), option("/b/y", dir / "x")})
                .find("another --output goes to"),
            std::string::npos);
  EXPECT_NE(message({option("/", dir / "into")}).find("no name to copy it to"), std::string::npos);
  EXPECT_EQ(message({option("/g/x", dir / "x")}), "");
}

}  // namespace
}  // namespace execvm
