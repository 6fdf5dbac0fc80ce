#include "guest/outputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "guest/channel.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"

namespace execvm::guest {

using protocol::FrameType;
using protocol::OutputEntry;
using Kind = protocol::OutputEntry::Kind;

namespace {

// The most one OutputData frame splices from a file: what the agent's pipe holds.
constexpr size_t kMaxSplice = 1 << 20;
constexpr size_t kReadChunk = 64 * 1024;
// Entries and copied data are written out once this much is queued.
constexpr size_t kFlushAbove = 1 << 20;

std::string what_it_is(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISFIFO(mode)) return "a fifo";
  return "a file of an unknown type";
}

OutputEntry entry_of(uint32_t index, Kind kind, const std::string& path, const struct stat& st) {
  OutputEntry e;
  e.output = index;
  e.kind = kind;
  e.path = path;
  e.mode = static_cast<uint32_t>(st.st_mode & 07777);
  e.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return e;
}

OutputEntry skipped(uint32_t index, const std::string& path, std::string why) {
  OutputEntry e;
  e.output = index;
  e.kind = Kind::kSkipped;
  e.path = path;
  e.text = std::move(why);
  return e;
}

// The target of the symlink NAME in DIR; false (errno set) when it cannot be read.
bool read_link_at(int dir, const char* name, size_t size_hint, std::string& target) {
  target.assign(std::max<size_t>(size_hint, 255) + 1, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dir, name, target.data(), target.size());
    if (n < 0) return false;
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return true;
    }
    target.resize(target.size() * 2);
  }
}

// The names in the directory DIR, sorted; false (errno set) when it cannot be read.
bool names_in(int dir, std::vector<std::string>& names) {
  int fd = ::dup(dir);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!d) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    errno = err;
    return false;
  }
  errno = 0;
  while (struct dirent* e = ::readdir(d))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
  int err = errno;
  ::closedir(d);
  std::sort(names.begin(), names.end());
  errno = err;
  return err == 0;
}

class Walk {
 public:
  Walk(uint32_t index, const OutputVisitor& visit) : index_(index), visit_(visit) {}

  // NAME in DIR (an absolute path with AT_FDCWD for the output itself), which lstat gave ST,
  // at PATH in the output.
  void node(int dir, const char* name, const std::string& path, const struct stat& st) {
    bool top = path.empty();
    if (S_ISLNK(st.st_mode)) {
      OutputEntry e = entry_of(index_, Kind::kSymlink, path, st);
      if (!read_link_at(dir, name, static_cast<size_t>(st.st_size), e.text))
        return cannot_read(path, top);
      return visit_(e, -1);
    }
    if (S_ISREG(st.st_mode)) {
      Fd fd(::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
      struct stat now;
      if (!fd || ::fstat(fd.get(), &now) < 0) return cannot_read(path, top);
      if (!S_ISREG(now.st_mode)) return visit_(skipped(index_, path, "changed while read"), -1);
      OutputEntry e = entry_of(index_, Kind::kFile, path, now);
      e.size = static_cast<uint64_t>(now.st_size);
      return visit_(e, fd.get());
    }
    if (S_ISDIR(st.st_mode)) {
      if (top) device_ = st.st_dev;
      if (st.st_dev != device_)
        return visit_(skipped(index_, path, "another filesystem, not entered"), -1);
      Fd fd(::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return cannot_read(path, top);
      std::vector<std::string> names;
      if (!names_in(fd.get(), names)) return cannot_read(path, top);
      visit_(entry_of(index_, Kind::kDirectory, path, st), -1);
      for (const auto& child : names) {
        struct stat cst;
        std::string child_path = top ? child : path + "/" + child;
        if (::fstatat(fd.get(), child.c_str(), &cst, AT_SYMLINK_NOFOLLOW) < 0) {
          if (errno != ENOENT) cannot_read(child_path, false);  // gone meanwhile: not there
          continue;
        }
        node(fd.get(), child.c_str(), child_path, cst);
      }
      return;
    }
    visit_(skipped(index_, path, what_it_is(st.st_mode)), -1);
  }

 private:
  // The output itself cannot be read: it fails; something below it is left out.
  void cannot_read(const std::string& path, bool top) {
    std::string why = strerror(errno);
    if (top) throw OutputFailed("cannot be read in the guest: " + why);
    visit_(skipped(index_, path, "cannot be read: " + why), -1);
  }

  uint32_t index_;
  const OutputVisitor& visit_;
  dev_t device_ = 0;
};

// Puts the entries and the files' bytes on the channel.
class Sender {
 public:
  explicit Sender(Port& port) : port_(port), channel_(port.channel()) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) throw_errno("pipe");
    pipe_read_.reset(fds[0]);
    pipe_write_.reset(fds[1]);
    ::fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(kMaxSplice));
  }

  void entry(const OutputEntry& e) {
    channel_.queue(FrameType::kOutput, protocol::encode_output_entry(e));
    if (channel_.pending() > kFlushAbove) port_.flush_all();
  }

  // SIZE bytes of FD, as OutputData frames. Throws OutputFailed when the file has fewer.
  void file(int fd, uint64_t size) {
    char buf[kReadChunk];
    uint64_t left = size;
    while (left) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, kMaxSplice));
      if (splice_) {
        // The file's pages go to the port by way of the agent's own pipe, which then holds just
        // what the frame says (see the guest's relay): no copy through the agent.
        ssize_t n = ::splice(fd, nullptr, pipe_write_.get(), nullptr, want,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          channel_.queue_splice(FrameType::kOutputData, 0, pipe_read_.get(),
                                static_cast<size_t>(n));
          port_.flush_all();
          left -= static_cast<uint64_t>(n);
          continue;
        }
        if (n == 0) throw OutputFailed("changed while it was copied (it became shorter)");
        if (errno == EINTR) continue;
        if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
          throw OutputFailed(std::string("cannot be read in the guest: ") + strerror(errno));
        splice_ = false;  // a filesystem that cannot splice: copy
      }
      ssize_t n = ::read(fd, buf, std::min(sizeof buf, want));
      if (n > 0) {
        channel_.queue(FrameType::kOutputData, std::string_view(buf, static_cast<size_t>(n)));
        if (channel_.pending() > kFlushAbove) port_.flush_all();
        left -= static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) throw OutputFailed("changed while it was copied (it became shorter)");
      if (errno == EINTR) continue;
      throw OutputFailed(std::string("cannot be read in the guest: ") + strerror(errno));
    }
  }

 private:
  Port& port_;
  FrameChannel& channel_;
  Fd pipe_read_, pipe_write_;
  bool splice_ = true;
};

}  // namespace

void walk_output(uint32_t index, const std::string& path, const OutputVisitor& visit) {
  OutputEntry last;
  last.output = index;
  last.kind = Kind::kEnd;
  try {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) {
      if (errno != ENOENT && errno != ENOTDIR)
        throw OutputFailed(std::string("cannot be read in the guest: ") + strerror(errno));
      last.kind = Kind::kMissing;
    } else {
      Walk(index, visit).node(AT_FDCWD, path.c_str(), "", st);
    }
  } catch (const OutputFailed& e) {
    last.kind = Kind::kFailed;
    last.text = e.what();
  }
  visit(last, -1);
}

void send_outputs(Port& port, const RunSpec& spec) {
  if (spec.outputs.empty()) return;
  Sender sender(port);
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    const std::string& given = spec.outputs[i];
    std::string path = given[0] == '/' ? given : join_path(spec.cwd, given);
    walk_output(static_cast<uint32_t>(i), path, [&](const OutputEntry& e, int fd) {
      sender.entry(e);
      if (fd >= 0) sender.file(fd, e.size);
    });
  }
  port.flush_all();
}

}  // namespace execvm::guest
