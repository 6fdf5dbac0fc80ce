// The guest's walk of an output, and its sending over a socket pair standing for the port, read
// on the other end by the host's own writer.
#include "guest/outputs.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <thread>

#include "guest/channel.h"
#include "host/outputs.h"
#include "util/testing.h"

namespace execvm::guest {
namespace {

using protocol::FrameType;
using protocol::OutputEntry;
using Kind = protocol::OutputEntry::Kind;
using execvm::testing::TempDir;

// An entry as the test compares it, with a file's bytes.
struct Seen {
  Kind kind;
  std::string path, text, data;
  uint32_t mode;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Seen& s) {
  return out << protocol::output_kind_name(s.kind) << " '" << s.path << "' '" << s.text << "' "
             << s.data.size() << " bytes mode " << std::oct << s.mode << std::dec;
}

std::vector<Seen> walk(const std::string& path, uint32_t index = 0) {
  std::vector<Seen> seen;
  walk_output(index, path, [&](const OutputEntry& e, int fd) {
    EXPECT_EQ(e.output, index);
    std::string data;
    if (fd >= 0) {
      EXPECT_EQ(e.kind, Kind::kFile);
      data = read_all(fd);
      EXPECT_EQ(data.size(), e.size);
    }
    uint32_t mode = e.kind == Kind::kSymlink || e.kind == Kind::kSkipped ? 0 : e.mode;
    seen.push_back({e.kind, e.path, e.text, data, mode});
  });
  return seen;
}

void make_socket(const std::string& path) {
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un address {};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof address.sun_path);
  strcpy(address.sun_path, path.c_str());
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
}

TEST(GuestOutputs, WalksATreeParentsFirstWithoutFollowingSymlinks) {
  TempDir dir, outside;
  outside.write("secret", "do not follow");
  dir.mkdir("out");
  dir.write("out/b", "bee", 0600);
  dir.mkdir("out/a");
  dir.write("out/a/f", "eff", 0755);
  dir.symlink("out/outside", outside.path());
  dir.symlink("out/dangling", "no/such");
  ASSERT_EQ(::mkfifo((dir / "out/fifo").c_str(), 0644), 0);
  make_socket(dir / "out/sock");
  ::chmod((dir / "out").c_str(), 0750);
  std::vector<Seen> expected = {
      {Kind::kDirectory, "", "", "", 0750},
      {Kind::kDirectory, "a", "", "", 0755},
      {Kind::kFile, "a/f", "", "eff", 0755},
      {Kind::kFile, "b", "", "bee", 0600},
      {Kind::kSymlink, "dangling", "no/such", "", 0},
      {Kind::kSkipped, "fifo", "a fifo", "", 0},
      {Kind::kSymlink, "outside", outside.path(), "", 0},
      {Kind::kSkipped, "sock", "a socket", "", 0},
      {Kind::kEnd, "", "", "", 0},
  };
  EXPECT_EQ(walk(dir / "out"), expected);
}

TEST(GuestOutputs, TheOutputItself) {
  TempDir dir;
  dir.write("f", "data", 0640);
  dir.symlink("link", "/etc");
  EXPECT_EQ(walk(dir / "f", 3),
            (std::vector<Seen>{{Kind::kFile, "", "", "data", 0640}, {Kind::kEnd, "", "", "", 0}}));
  // A symlink named as the output is sent as one, not what it points to.
  EXPECT_EQ(walk(dir / "link"),
            (std::vector<Seen>{{Kind::kSymlink, "", "/etc", "", 0}, {Kind::kEnd, "", "", "", 0}}));
  std::vector<Seen> missing = {{Kind::kMissing, "", "", "", 0}};
  EXPECT_EQ(walk(dir / "missing"), missing);
  EXPECT_EQ(walk(dir / "f/under"), missing);
  // A device node is not copied.
  EXPECT_EQ(walk("/dev/null"), (std::vector<Seen>{{Kind::kSkipped, "", "a character device", "", 0},
                                                  {Kind::kEnd, "", "", "", 0}}));
}

TEST(GuestOutputs, AVisitorThatGivesUpFailsTheOutput) {
  TempDir dir;
  dir.mkdir("d");
  dir.write("d/f", "x");
  std::vector<Kind> kinds;
  walk_output(0, dir / "d", [&](const OutputEntry& e, int) {
    kinds.push_back(e.kind);
    if (e.kind == Kind::kFile) throw OutputFailed("changed while it was copied");
  });
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::kDirectory, Kind::kFile, Kind::kFailed}));
}

TEST(GuestOutputs, DoesNotEnterAnotherFilesystem) {
  TempDir dir;
  dir.mkdir("out");
  dir.mkdir("out/mnt");
  dir.write("out/z", "z");
  if (::mount("execvm-test", (dir / "out/mnt").c_str(), "tmpfs", 0, nullptr) < 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(errno);
  dir.write("out/mnt/inside", "not copied");
  std::vector<Seen> seen = walk(dir / "out");
  ::umount((dir / "out/mnt").c_str());
  EXPECT_EQ(seen,
            (std::vector<Seen>{{Kind::kDirectory, "", "", "", 0755},
                               {Kind::kSkipped, "mnt", "another filesystem, not entered", "", 0},
                               {Kind::kFile, "z", "", "z", 0644},
                               {Kind::kEnd, "", "", "", 0}}));
}

// The guest sends over a socket pair; the host's writer reads the other end.
struct Wire {
  Fd host;
  std::optional<Port> port;
  Wire() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("socketpair");
    host.reset(fds[0]);
    set_nonblocking(fds[1]);
    port.emplace(Fd(fds[1]));
  }
  // Reads frames into OUTPUTS until they are complete.
  void receive(Outputs& outputs) {
    protocol::FrameReader reader;
    char buf[65536];
    while (!outputs.complete()) {
      if (auto frame = reader.next()) {
        outputs.handle(*frame);
        continue;
      }
      ssize_t n = ::read(host.get(), buf, sizeof buf);
      if (n <= 0) return;
      reader.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
};

std::string random_bytes(size_t size) {
  std::string data(size, '\0');
  for (size_t at = 0; at < size;) {
    ssize_t n = ::getrandom(data.data() + at, size - at, 0);
    if (n > 0) at += static_cast<size_t>(n);
  }
  return data;
}

TEST(GuestOutputs, SendsTwentyMebibytesByteExactAndATreeToTheHostsWriter) {
  TempDir guest, host;
  std::string big = random_bytes(20 << 20);
  guest.write("big.bin", big, 0600);
  guest.mkdir("work");
  guest.mkdir("work/tree");
  guest.write("work/tree/a", "A");
  guest.symlink("work/tree/evil", "/etc");
  make_socket(guest / "work/tree/sock");
  RunSpec spec;
  spec.cwd = guest / "work";
  spec.outputs = {guest / "big.bin", "tree", "missing"};  // "tree" is relative to the cwd
  Outputs outputs({{"", guest / "big.bin", host / "big.bin"},
                   {"", "tree", host / "tree"},
                   {"", "missing", host / "missing"}});
  Wire w;
  std::thread receiver([&] { w.receive(outputs); });
  send_outputs(*w.port, spec);
  receiver.join();
  ASSERT_TRUE(outputs.complete());
  OutputsSummary summary = outputs.finish();
  EXPECT_EQ(read_file(host / "big.bin") == big, true);
  EXPECT_EQ(read_file(host / "tree/a"), "A");
  char target[64] = {};
  ASSERT_GT(::readlink((host / "tree/evil").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "/etc");
  EXPECT_EQ(summary.problems,
            std::vector<std::string>{"--output missing: no such file in the guest"});
  EXPECT_EQ(summary.notes, std::vector<std::string>{"--output tree: skipped tree/sock (a socket)"});
}

TEST(GuestOutputs, NoOutputsSendNothing) {
  Wire w;
  RunSpec spec;
  send_outputs(*w.port, spec);
  EXPECT_EQ(w.port->channel().pending(), 0u);
  char c;
  set_nonblocking(w.host.get());
  EXPECT_EQ(::read(w.host.get(), &c, 1), -1);
}

}  // namespace
}  // namespace execvm::guest
