#include "initramfs/initrd.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <set>

#include "root/bare.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

// One thing to put in the archive besides the tarball: what a program needs, or an --add.
struct Extra {
  CpioEntry entry;
  std::string source;  // the host file of a regular file
};

Extra directory_extra(const std::string& path, mode_t mode = 0755) {
  return {{path, S_IFDIR | (mode & 07777)}, ""};
}

Extra symlink_extra(const std::string& path, const std::string& target) {
  Extra e{{path, S_IFLNK | 0777}, ""};
  e.entry.symlink = target;
  return e;
}

// The host file SOURCE at PATH, with its permission bits (SOURCE followed when a symlink).
Extra file_extra(const std::string& path, const std::string& source) {
  struct stat st;
  if (::stat(source.c_str(), &st) < 0) throw_errno("cannot read " + source);
  if (!S_ISREG(st.st_mode)) throw Error(source + " is not a regular file");
  Extra e{{path, S_IFREG | (st.st_mode & 07777)}, source};
  e.entry.size = st.st_size;
  return e;
}

void add_program(const std::string& name, const LoaderSearch& search, std::vector<Extra>& out) {
  for (const HostEntry& h :
       program_closure(locate_program(name, search.path, search.cwd), search)) {
    switch (h.kind) {
      case HostEntry::Kind::kDirectory:
        out.push_back(directory_extra(h.path));
        break;
      case HostEntry::Kind::kSymlink:
        out.push_back(symlink_extra(h.path, h.target));
        break;
      case HostEntry::Kind::kFile:
        out.push_back(file_extra(h.path, h.source));
        break;
    }
  }
}

// HOST at GUEST: a directory with what is in it (symlinks as they are), or any other file.
void add_tree(const std::string& host, const std::string& guest, bool top,
              std::vector<Extra>& out) {
  struct stat st;
  if ((top ? ::stat(host.c_str(), &st) : ::lstat(host.c_str(), &st)) < 0)
    throw_errno("--add: cannot read " + host);
  if (S_ISDIR(st.st_mode)) {
    if (guest != "/") out.push_back(directory_extra(guest, st.st_mode));
    for (const std::string& name : directory_names(host))
      add_tree(join_path(host, name), join_path(guest, name), false, out);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(host.c_str(), target, sizeof target);
    if (n <= 0 || static_cast<size_t>(n) == sizeof target) throw_errno("--add: readlink " + host);
    out.push_back(symlink_extra(guest, std::string(target, static_cast<size_t>(n))));
  } else if (S_ISREG(st.st_mode)) {
    out.push_back(file_extra(guest, host));
  } else {
    Extra e{{guest, st.st_mode}, ""};
    e.entry.rdev_major = major(st.st_rdev);
    e.entry.rdev_minor = minor(st.st_rdev);
    out.push_back(e);
  }
}

void add_extra(CpioWriter& cpio, const Extra& e) {
  if (e.source.empty()) return cpio.add_entry(e.entry);
  Fd fd(::open(e.source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("cannot read " + e.source);
  cpio.add_entry(e.entry, [&](char* buffer, size_t size) {
    ssize_t n;
    do n = ::read(fd.get(), buffer, size);
    while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("cannot read " + e.source);
    return static_cast<size_t>(n);
  });
}

// The tarball, read with libarchive.
class Tarball {
 public:
  explicit Tarball(const std::string& path) : path_(path), archive_(archive_read_new()) {
    if (!archive_) throw Error("cannot allocate a libarchive reader");
    archive_read_support_filter_all(archive_);
    archive_read_support_format_tar(archive_);
    if (archive_read_open_filename(archive_, path.c_str(), 1 << 16) != ARCHIVE_OK)
      fail("cannot open it");
  }
  ~Tarball() { archive_read_free(archive_); }
  Tarball(const Tarball&) = delete;
  Tarball& operator=(const Tarball&) = delete;

  // The next entry, or nullptr at the end.
  archive_entry* next() {
    archive_entry* entry;
    int r = archive_read_next_header(archive_, &entry);
    if (r == ARCHIVE_EOF) return nullptr;
    if (r < ARCHIVE_WARN) fail("cannot read it");
    return entry;
  }
  size_t read(char* buffer, size_t size) {
    la_ssize_t n = archive_read_data(archive_, buffer, size);
    if (n < 0) fail("cannot read it");
    return static_cast<size_t>(n);
  }
  [[noreturn]] void fail(const std::string& what) {
    const char* why = archive_error_string(archive_);
    throw Error("--from-tar " + path_ + ": " + what + (why ? std::string(": ") + why : ""));
  }
  // An entry's path (or hard link target) as the guest has it: absolute, without "." parts;
  // "/" for the top. Throws Error for one that would climb out with "..".
  std::string guest_path(const char* name) {
    std::string out;
    for (const std::string& part : split(name ? name : "", '/')) {
      if (part.empty() || part == ".") continue;
      if (part == "..") fail(std::string("the entry ") + name + " climbs out of the root");
      out += "/" + part;
    }
    return out.empty() ? "/" : out;
  }

 private:
  std::string path_;
  archive* archive_;
};

// The tarball's entries, but those in REPLACED (which the programs and --add replace): its hard
// links as hard links, so that the kernel links them again.
void add_tarball(CpioWriter& cpio, const std::string& path, const std::set<std::string>& replaced) {
  // A first reading counts the names of each file that has hard links to it: the kernel links
  // an entry to an earlier one only when both say they have more than one.
  std::map<std::string, unsigned> names;
  {
    Tarball tar(path);
    while (archive_entry* e = tar.next()) {
      if (const char* target = archive_entry_hardlink(e)) {
        std::string t = tar.guest_path(target);
        names.emplace(t, 1).first->second++;
      }
    }
  }
  Tarball tar(path);
  std::map<std::string, mode_t> linked_modes;  // the files added with hard links to them
  while (archive_entry* e = tar.next()) {
    std::string p = tar.guest_path(archive_entry_pathname(e));
    if (p == "/") continue;
    const char* hardlink = archive_entry_hardlink(e);
    std::string target = hardlink ? tar.guest_path(hardlink) : p;
    if (replaced.count(p) || p == kInitrdAgentPath) {
      if (names.count(p)) tar.fail("cannot replace " + p + ": it has hard links in the tarball");
      continue;
    }
    CpioEntry c;
    c.path = p;
    c.mode = archive_entry_mode(e);
    c.uid = static_cast<uid_t>(archive_entry_uid(e));
    c.gid = static_cast<gid_t>(archive_entry_gid(e));
    c.mtime = archive_entry_mtime(e);
    if (hardlink) {
      auto first = linked_modes.find(target);
      if (first == linked_modes.end())
        tar.fail("the hard link " + p + " names " + target + ", which is not a file before it");
      c.mode = first->second;
      c.link = target;
      c.nlink = names[target];
      cpio.add_entry(c);
      continue;
    }
    if (S_ISLNK(c.mode)) c.symlink = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
    if (S_ISCHR(c.mode) || S_ISBLK(c.mode)) {
      c.rdev_major = archive_entry_rdevmajor(e);
      c.rdev_minor = archive_entry_rdevminor(e);
    }
    if (S_ISREG(c.mode)) {
      c.size = archive_entry_size(e);
      if (auto n = names.find(p); n != names.end()) {
        c.link = p;
        c.nlink = n->second;
        linked_modes[p] = c.mode;
      }
    }
    cpio.add_entry(c, [&](char* buffer, size_t size) { return tar.read(buffer, size); });
  }
}

// Writes the archive to FD.
void write_archive(int fd, const InitrdRequest& request, std::string_view agent,
                   const std::vector<Extra>& extras) {
  CpioWriter cpio(fd, request.compression);
  cpio.add_file(kInitrdAgentPath, agent, 0755);
  if (!request.from_tar.empty()) {
    std::set<std::string> replaced;
    for (const Extra& e : extras)
      if (!S_ISDIR(e.entry.mode)) replaced.insert(e.entry.path);
    add_tarball(cpio, request.from_tar, replaced);
  }
  for (const Extra& e : extras) add_extra(cpio, e);
  // What a PID 1 needs: its mount points, and the console, which the kernel opens for it.
  for (const char* dir : {"/dev", "/proc", "/sys", "/run", "/root"})
    if (!cpio.contains(dir)) cpio.add_directory(dir, 0755);
  if (!cpio.contains("/tmp")) cpio.add_directory("/tmp", 01777);
  if (!cpio.contains("/dev/console")) cpio.add_char_device("/dev/console", 5, 1, 0600);
  cpio.finish();
}

}  // namespace

InitrdAdd parse_initrd_add(const std::string& text, const std::string& cwd) {
  size_t colon = text.find(':');
  InitrdAdd add;
  std::string host = text.substr(0, colon);
  if (host.empty())
    throw Error("--add " + shell_quote(text) + ": no host path", "the form is --add HOST[:GUEST]");
  add.host = lexical_absolute(cwd, host);
  add.guest = colon == std::string::npos ? add.host : text.substr(colon + 1);
  if (add.guest.empty() || add.guest[0] != '/')
    throw Error("--add " + shell_quote(text) + ": the guest path must be absolute",
                "the form is --add HOST[:GUEST], e.g. --add ./etc:/etc");
  return add;
}

void write_initrd(const InitrdRequest& request, std::string_view agent) {
  // Everything is found before the output is touched.
  std::vector<Extra> extras;
  for (const std::string& program : request.programs) add_program(program, request.search, extras);
  for (const InitrdAdd& add : request.adds) add_tree(add.host, add.guest, true, extras);
  // The loader's cache, so that each library is found where the host's loader found it.
  if (!request.programs.empty() && ::access(request.search.ld_so_cache.c_str(), R_OK) == 0)
    extras.push_back(file_extra("/etc/ld.so.cache", request.search.ld_so_cache));

  if (request.output == "-") return write_archive(STDOUT_FILENO, request, agent, extras);
  std::string temp = request.output + ".XXXXXX";
  Fd fd(::mkstemp(temp.data()));
  if (!fd) throw_errno("cannot create " + temp, errno);
  try {
    write_archive(fd.get(), request, agent, extras);
    if (::fchmod(fd.get(), 0644) < 0 || ::fsync(fd.get()) < 0) throw_errno("write " + temp);
    if (::rename(temp.c_str(), request.output.c_str()) < 0)
      throw_errno("cannot rename " + temp + " to " + request.output);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
}

}  // namespace execvm
