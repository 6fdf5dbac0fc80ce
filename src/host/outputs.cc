#include "host/outputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

using protocol::OutputEntry;
using Kind = protocol::OutputEntry::Kind;

namespace {

constexpr size_t kNotesPerOutput = 10;
// Kept of a name in its temporary one, which must stay within NAME_MAX.
constexpr size_t kTempNameKept = 200;

// What the guest sent cannot be written: the output is refused. The message says why.
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string strip_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool usable_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

// PATH's components, each a name an entry may have; throws Refused for a path that would leave
// the output (or name nothing).
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out = split(path, '/');
  for (const auto& c : out)
    if (c.empty() || c == "." || c == ".." || c.find('\0') != std::string::npos)
      throw Refused("refused an entry named " + shell_quote(path) + " that the guest sent");
  return out;
}

struct timespec to_timespec(int64_t ns) {
  struct timespec ts {
    static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)
  };
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1'000'000'000;
    ts.tv_sec -= 1;
  }
  return ts;
}

// The mode an entry gets here: its permissions and sticky bit, not setuid nor setgid.
mode_t host_mode(uint32_t mode) {
  return static_cast<mode_t>(mode & 01777);
}

// Removes NAME in DIR and, for a directory, all under it, never following a symlink. Best
// effort: what cannot be removed stays.
void remove_at(int dir, const std::string& name) {
  struct stat st;
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return;
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      ::fchmod(fd, 0700);  // a directory of the output made read-only still empties
      if (DIR* d = ::fdopendir(fd)) {
        std::vector<std::string> names;
        while (struct dirent* e = ::readdir(d))
          if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names.push_back(e->d_name);
        for (const auto& n : names) remove_at(::dirfd(d), n);
        ::closedir(d);
      } else {
        ::close(fd);
      }
    }
    ::unlinkat(dir, name.c_str(), AT_REMOVEDIR);
    return;
  }
  ::unlinkat(dir, name.c_str(), 0);
}

// A name for a temporary entry beside NAME: ".NAME.execvm-XXXXXX".
std::string temp_name(const std::string& name) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char random[6];
  if (::getrandom(random, sizeof random, 0) != sizeof random) throw_errno("getrandom");
  std::string out = "." + name.substr(0, kTempNameKept) + ".execvm-";
  for (unsigned char r : random) out += kChars[r % (sizeof kChars - 1)];
  return out;
}

}  // namespace

// One output: its destination, and the entries the guest sends, written under a temporary name
// until the output's End.
class Outputs::Writer {
 public:
  enum class State { kWaiting, kWritten, kMissing, kFailed, kRefused };

  Writer(OutputOption option, Fd dir, std::string dir_path, std::string name)
      : option_(std::move(option)),
        dir_(std::move(dir)),
        dir_path_(std::move(dir_path)),
        name_(std::move(name)) {}
  ~Writer() { abandon(); }

  const OutputOption& option() const { return option_; }
  State state() const { return state_; }
  const std::string& problem() const { return problem_; }
  const std::vector<std::string>& notes() const { return notes_; }
  size_t notes_left_out() const { return notes_left_out_; }

  // Handles ENTRY; returns whether it ended the output. Throws ProtocolError only.
  bool entry(const OutputEntry& e) {
    if (left_ && e.kind != Kind::kFailed)
      throw protocol::ProtocolError("an output entry before the last file's bytes ended");
    left_ = 0;
    switch (e.kind) {
      case Kind::kEnd:
        if (state_ == State::kWaiting) commit();
        return true;
      case Kind::kMissing:
        abandon();
        if (state_ == State::kWaiting) state_ = State::kMissing;
        return true;
      case Kind::kFailed:
        abandon();
        if (state_ == State::kWaiting) {
          state_ = State::kFailed;
          problem_ = e.text.empty() ? "could not be read in the guest" : e.text;
        }
        return true;
      case Kind::kSkipped:
        note(e);
        return false;
      case Kind::kFile:
        left_ = e.size;
        [[fallthrough]];
      case Kind::kDirectory:
      case Kind::kSymlink:
        if (state_ != State::kWaiting) return false;
        try {
          create(e);
        } catch (const Refused& r) {
          refuse(r.what());
        }
        return false;
    }
    return false;
  }

  // The next bytes of the file whose entry came last. Throws ProtocolError beyond its size.
  void data(std::string_view bytes) {
    if (bytes.size() > left_) throw protocol::ProtocolError("output data beyond the file's size");
    left_ -= bytes.size();
    if (!file_) return;  // refused
    try {
      if (!write_all(file_.get(), bytes)) cannot("write", file_path_);
      if (left_ == 0) close_file();
    } catch (const Refused& r) {
      refuse(r.what());
    }
  }

  // The guest never finished the output.
  void not_received() {
    abandon();
    if (state_ != State::kWaiting) return;
    state_ = State::kFailed;
    problem_ = "not received (the run ended before the guest had sent it)";
  }

 private:
  // Fails with what the system said about doing WHAT to PATH (relative to the output).
  [[noreturn]] void cannot(const std::string& what, const std::string& path) {
    int err = errno;
    std::string where = join_path(dir_path_, name_);
    if (!path.empty()) where += "/" + path;
    throw Refused("cannot " + what + " " + where + ": " + strerror(err));
  }

  void refuse(const std::string& why) {
    abandon();
    state_ = State::kRefused;
    problem_ = why;
  }

  void note(const OutputEntry& e) {
    if (notes_.size() >= kNotesPerOutput) {
      ++notes_left_out_;
      return;
    }
    std::string what = e.path.empty() ? option_.guest : join_path(option_.guest, e.path);
    notes_.push_back("skipped " + shell_quote(what) + " (" + e.text + ")");
    if (e.path.empty()) root_skipped_ = e.text;
  }

  void create(const OutputEntry& e) {
    if (e.text.find('\0') != std::string::npos)
      throw Refused("refused a symlink with a NUL in its target that the guest sent");
    if (e.path.empty()) return create_root(e);
    if (!root_)
      throw Refused("refused the entry " + shell_quote(e.path) +
                    " that the guest sent under an output that is not a directory");
    std::vector<std::string> names = components(e.path);
    std::string leaf = names.back();
    names.pop_back();
    int parent = open_directory(names, e.path);
    switch (e.kind) {
      case Kind::kFile: {
        Fd fd(::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0600));
        if (!fd) {
          if (errno == EEXIST) duplicate(e.path);
          cannot("create", e.path);
        }
        open_file(std::move(fd), e);
        break;
      }
      case Kind::kDirectory:
        if (::mkdirat(parent, leaf.c_str(), 0700) < 0) {
          if (errno == EEXIST) duplicate(e.path);
          cannot("create", e.path);
        }
        directories_.push_back({e.path, e.mode, e.mtime_ns});
        break;
      case Kind::kSymlink:
        if (::symlinkat(e.text.c_str(), parent, leaf.c_str()) < 0) {
          if (errno == EEXIST) duplicate(e.path);
          cannot("create the symlink", e.path);
        }
        set_symlink_time(parent, leaf, e);
        break;
      default:
        break;
    }
  }

  [[noreturn]] void duplicate(const std::string& path) {
    throw Refused("refused a second entry named " + shell_quote(path) + " that the guest sent");
  }

  // The output itself, under its temporary name.
  void create_root(const OutputEntry& e) {
    if (!temp_.empty())
      throw Refused("refused a second entry for the output itself that the guest sent");
    for (int attempt = 0;; ++attempt) {
      std::string temp = temp_name(name_);
      int made = -1;
      if (e.kind == Kind::kFile) {
        made = ::openat(dir_.get(), temp.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (made >= 0) {
          temp_ = temp;
          open_file(Fd(made), e);
          return;
        }
      } else if (e.kind == Kind::kDirectory) {
        made = ::mkdirat(dir_.get(), temp.c_str(), 0700);
        if (made == 0) {
          temp_ = temp;
          root_.reset(
              ::openat(dir_.get(), temp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
          if (!root_) cannot("open", "");
          root_mode_ = e.mode;
          root_mtime_ns_ = e.mtime_ns;
          return;
        }
      } else {
        made = ::symlinkat(e.text.c_str(), dir_.get(), temp.c_str());
        if (made == 0) {
          temp_ = temp;
          set_symlink_time(dir_.get(), temp, e);
          return;
        }
      }
      if (errno != EEXIST || attempt > 100) cannot("create a temporary entry beside", "");
    }
  }

  void open_file(Fd fd, const OutputEntry& e) {
    file_ = std::move(fd);
    file_path_ = e.path;
    file_mode_ = e.mode;
    file_mtime_ns_ = e.mtime_ns;
    if (e.size == 0) close_file();
  }

  void close_file() {
    struct timespec times[2] = {to_timespec(file_mtime_ns_), to_timespec(file_mtime_ns_)};
    if (::fchmod(file_.get(), host_mode(file_mode_)) < 0) cannot("set the mode of", file_path_);
    if (::futimens(file_.get(), times) < 0) cannot("set the times of", file_path_);
    if (::close(file_.release()) < 0) cannot("write", file_path_);
  }

  void set_symlink_time(int dir, const std::string& name, const OutputEntry& e) {
    struct timespec times[2] = {to_timespec(e.mtime_ns), to_timespec(e.mtime_ns)};
    ::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW);  // not every filesystem can
  }

  // The directory NAMES (under the output's root), opened one component at a time without
  // following a symlink: only directories this output made are entered. The open ones of the
  // last call are kept, as the guest sends a directory's entries together.
  int open_directory(const std::vector<std::string>& names, const std::string& path) {
    size_t same = 0;
    while (same < open_.size() && same < names.size() && open_[same].first == names[same]) ++same;
    open_.resize(same);
    for (size_t i = same; i < names.size(); ++i) {
      int parent = i == 0 ? root_.get() : open_[i - 1].second.get();
      Fd fd(::openat(parent, names[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) {
        if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)
          throw Refused("refused the entry " + shell_quote(path) +
                        " that the guest sent: it is not in a directory of the output");
        cannot("open the directory of", path);
      }
      open_.emplace_back(names[i], std::move(fd));
    }
    return names.empty() ? root_.get() : open_.back().second.get();
  }

  // The End: the directories get their modes and times (now that nothing more is made in
  // them), and the output its name.
  void commit() {
    try {
      if (temp_.empty()) {
        state_ = State::kRefused;
        problem_ = root_skipped_.empty() ? "the guest sent nothing for it"
                                         : "not copied: it is " + root_skipped_ + " in the guest";
        return;
      }
      open_.clear();
      for (auto it = directories_.rbegin(); it != directories_.rend(); ++it) {
        std::vector<std::string> names = components(it->path);
        int fd = open_directory(names, it->path);
        set_directory(fd, *it);
        open_.clear();
      }
      if (root_) set_directory(root_.get(), {"", root_mode_, root_mtime_ns_});
      root_.reset();
      bool directory = root_mode_ != kNoMode;
      int renamed = directory ? ::renameat2(dir_.get(), temp_.c_str(), dir_.get(), name_.c_str(),
                                            RENAME_NOREPLACE)
                              : ::renameat(dir_.get(), temp_.c_str(), dir_.get(), name_.c_str());
      if (renamed < 0) {
        std::string where = join_path(dir_path_, name_);
        if (errno == EEXIST || errno == EISDIR || errno == ENOTEMPTY)
          throw Refused("not written: " + where +
                        " exists already; remove it, or give another HOST_PATH");
        cannot("rename a temporary entry to", "");
      }
      temp_.clear();
      state_ = State::kWritten;
    } catch (const Refused& r) {
      refuse(r.what());
    }
  }

  struct Directory {
    std::string path;
    uint32_t mode;
    int64_t mtime_ns;
  };

  void set_directory(int fd, const Directory& d) {
    struct timespec times[2] = {to_timespec(d.mtime_ns), to_timespec(d.mtime_ns)};
    if (::fchmod(fd, host_mode(d.mode)) < 0) cannot("set the mode of", d.path);
    if (::futimens(fd, times) < 0) cannot("set the times of", d.path);
  }

  void abandon() {
    file_.reset();
    open_.clear();
    root_.reset();
    if (!temp_.empty()) remove_at(dir_.get(), temp_);
    temp_.clear();
  }

  static constexpr uint32_t kNoMode = ~0u;

  OutputOption option_;
  Fd dir_;                // the destination's directory
  std::string dir_path_;  // its path, for messages
  std::string name_;      // the output's name in it
  State state_ = State::kWaiting;
  std::string problem_;
  std::vector<std::string> notes_;
  size_t notes_left_out_ = 0;
  std::string root_skipped_;  // what the output itself was, when it was skipped

  std::string temp_;  // the output's temporary name in DIR_, once made
  Fd root_;           // the output, when it is a directory
  uint32_t root_mode_ = kNoMode;
  int64_t root_mtime_ns_ = 0;
  std::vector<std::pair<std::string, Fd>> open_;  // the directories below ROOT_ last entered
  std::vector<Directory> directories_;            // made so far, in order

  Fd file_;  // the file being written, until its bytes are all here
  std::string file_path_;
  uint32_t file_mode_ = 0;
  int64_t file_mtime_ns_ = 0;
  uint64_t left_ = 0;  // bytes of the last file entry still to come (even when refused)
};

OutputOption parse_output_option(const std::string& text, const std::string& base,
                                 const std::string& label) {
  std::string hint = "write GUEST_PATH or GUEST_PATH:HOST_PATH";
  size_t colon = text.find(':');
  OutputOption o;
  o.text = text;
  o.guest = text.substr(0, colon);
  std::string host = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (o.guest.empty()) throw Error(label + ": no guest path", hint);
  if (colon != std::string::npos && host.empty())
    throw Error(label + ": no host path after the colon", hint);
  if (host.empty()) {
    host = base_name(strip_trailing_slashes(o.guest));
    if (!usable_name(host))
      throw Error(label + ": " + shell_quote(o.guest) + " has no name to copy it to here",
                  "give one: GUEST_PATH:HOST_PATH");
  }
  o.host = lexical_absolute(base, host);
  return o;
}

Outputs::Outputs(const std::vector<OutputOption>& options) {
  struct Place {
    dev_t dev;
    ino_t ino;
    std::string name;
  };
  std::vector<Place> places;
  for (const OutputOption& o : options) {
    std::string label = "--output " + shell_quote(o.text);
    // As cp -r: into an existing directory, under the guest path's own name.
    std::string dir = parent_directory(o.host), name = base_name(o.host);
    if (is_directory(o.host)) {
      dir = o.host;
      name = base_name(strip_trailing_slashes(o.guest));
    }
    if (!usable_name(name))
      throw Error(label + ": no name to copy it to in " + dir, "give a HOST_PATH that names one");
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
      throw Error(label + ": " + dir + ": " + strerror(errno),
                  "create the directory first, or give another HOST_PATH");
    if (::faccessat(fd.get(), ".", W_OK | X_OK, AT_EACCESS) < 0)
      throw Error(label + ": cannot write in " + dir + ": " + strerror(errno),
                  "give a HOST_PATH where you may write");
    struct stat st;
    std::string where = join_path(dir, name);
    if (::fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
      throw Error(label + ": " + where + " is a directory already",
                  "remove it, or give another HOST_PATH");
    if (::fstat(fd.get(), &st) < 0) throw_errno("stat " + dir);
    for (const Place& p : places)
      if (p.dev == st.st_dev && p.ino == st.st_ino && p.name == name)
        throw Error(label + ": another --output goes to " + where + " too",
                    "give each a HOST_PATH of its own");
    places.push_back({st.st_dev, st.st_ino, name});
    writers_.push_back(std::make_unique<Writer>(o, std::move(fd), dir, name));
  }
}

Outputs::~Outputs() = default;

std::vector<std::string> Outputs::guest_paths() const {
  std::vector<std::string> out;
  for (const auto& w : writers_) out.push_back(w->option().guest);
  return out;
}

void Outputs::handle(const protocol::Frame& frame) {
  if (complete()) throw protocol::ProtocolError("output frames after the last output");
  Writer& writer = *writers_[current_];
  if (frame.type == protocol::FrameType::kOutputData) return writer.data(frame.payload);
  OutputEntry entry = protocol::decode_output_entry(frame.payload);
  if (entry.output != current_)
    throw protocol::ProtocolError("an entry of output " + std::to_string(entry.output) +
                                  " while output " + std::to_string(current_) + " was sent");
  if (writer.entry(entry)) ++current_;
}

OutputsSummary Outputs::finish() {
  OutputsSummary summary;
  for (auto& w : writers_) {
    std::string label = "--output " + shell_quote(w->option().guest);
    if (w->state() == Writer::State::kWaiting) w->not_received();
    for (const auto& n : w->notes()) summary.notes.push_back(label + ": " + n);
    if (w->notes_left_out())
      summary.notes.push_back(label + ": skipped " + std::to_string(w->notes_left_out()) + " more");
    switch (w->state()) {
      case Writer::State::kWaiting:
      case Writer::State::kWritten:
        break;
      case Writer::State::kMissing:
        summary.problems.push_back(label + ": no such file in the guest");
        break;
      case Writer::State::kFailed:
      case Writer::State::kRefused:
        summary.problems.push_back(label + ": " + w->problem());
        break;
    }
  }
  return summary;
}

}  // namespace execvm
