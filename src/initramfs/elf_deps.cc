#include "initramfs/elf_deps.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "initramfs/elf_file.h"
#include "initramfs/ld_cache.h"
#include "util/error.h"
#include "util/exec_failure.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr int kMaxSymlinks = 40;             // the kernel's MAXSYMLINKS
constexpr int kMaxInterpreterDepth = 4;      // the kernel's BINPRM_MAX_RECURSION for #! chains
constexpr const char* kPlatform = "x86_64";  // AT_PLATFORM on x86-64
constexpr const char* kLib = "lib/x86_64-linux-gnu";  // Debian's $LIB (LD_DEBUG=libs shows it)

// The command `env ARGUMENT` runs, ARGUMENT being the one argument a #! line passes: ARGUMENT
// itself; with -S ("-S python3 -u"), the first of the words after it that is neither an option
// nor a NAME=VALUE. "" when there is none. Other options of env (-u NAME, -C DIR) are not
// understood.
std::string env_command(std::string_view argument) {
  constexpr std::string_view kBlanks = " \t";
  if (!argument.starts_with("-S"))
    return argument.starts_with('-') || argument.find('=') != std::string_view::npos
               ? ""
               : std::string(argument);
  std::string_view rest = argument.substr(2);
  size_t start = rest.find_first_not_of(kBlanks);
  while (start != std::string_view::npos) {
    size_t end = rest.find_first_of(kBlanks, start);
    std::string_view word = rest.substr(start, end - start);
    if (!word.starts_with('-') && word.find('=') == std::string_view::npos)
      return std::string(word);
    start = rest.find_first_not_of(kBlanks, end);
  }
  return "";
}

// ---- Walking a path on the host as the kernel resolves it ----

// A path resolved in the host's tree: the real path and what the guest needs to resolve it alike.
struct PathWalk {
  std::string real;                // the path with no symlink left in it
  bool is_file = false;            // REAL is a regular file (else a directory)
  std::vector<HostEntry> entries;  // each directory, symlink and the file on the way, parents first
};

std::string read_link(const std::string& host_path) {
  std::string buf(PATH_MAX, '\0');
  ssize_t n = ::readlink(host_path.c_str(), buf.data(), buf.size());
  if (n < 0) throw_errno("cannot read the symlink " + host_path);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> out;
  for (auto& part : split(path, '/'))
    if (!part.empty() && part != ".") out.push_back(std::move(part));
  return out;
}

// Resolves PATH (absolute, in the guest's terms) under SYSROOT one component at a time, following
// symlinks like the kernel. nullopt when a component does not exist or is not a directory.
// Throws Error on a symlink loop and when PATH ends at something neither a file nor a directory.
std::optional<PathWalk> walk_host_path(const std::string& path, const std::string& sysroot) {
  PathWalk walk;
  std::deque<std::string> todo = components(path);
  std::string cur;  // a real directory, "" for the root
  int links = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == "..") {  // CUR holds no symlink, so its parent is lexical
      if (!cur.empty()) cur.resize(cur.rfind('/'));
      continue;
    }
    std::string next = cur + "/" + name;
    std::string host = sysroot + next;
    struct stat st;
    if (::lstat(host.c_str(), &st) < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) return std::nullopt;
      throw_errno("cannot look at " + host);
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks)
        throw Error("cannot resolve " + path + ": too many levels of symbolic links",
                    "fix the symlink loop on the host");
      std::string target = read_link(host);
      walk.entries.push_back({HostEntry::Kind::kSymlink, next, target, ""});
      auto parts = components(target);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      if (target.starts_with('/')) cur.clear();  // an absolute target restarts from the root
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      walk.entries.push_back({HostEntry::Kind::kDirectory, next, "", ""});
      cur = next;
      continue;
    }
    if (!todo.empty()) return std::nullopt;  // ENOTDIR, as the kernel says
    if (!S_ISREG(st.st_mode))
      throw Error("cannot use " + host + ": not a regular file, a directory or a symlink");
    walk.entries.push_back({HostEntry::Kind::kFile, next, "", host});
    walk.is_file = true;
    cur = next;
  }
  walk.real = cur.empty() ? "/" : cur;
  return walk;
}

// ---- Dynamic string tokens ----

// Length of the token REF at INPUT (just after a '$'), as $REF or ${REF}; 0 when it is not there.
size_t dst_length(std::string_view input, std::string_view ref) {
  bool curly = input.starts_with('{');
  if (curly) input.remove_prefix(1);
  if (!input.starts_with(ref)) return 0;
  char after = ref.size() < input.size() ? input[ref.size()] : '\0';
  if (curly) return after == '}' ? ref.size() + 2 : 0;
  // ld.so's is_dst: the name must not run on into more identifier characters.
  return (isalnum(static_cast<unsigned char>(after)) || after == '_') ? 0 : ref.size();
}

// TEXT with $ORIGIN, $PLATFORM and $LIB replaced; an unknown $NAME is kept as written.
std::string expand_dst(const std::string& text, const std::string& origin) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    std::string_view rest = std::string_view(text).substr(i + 1);
    size_t len;
    if ((len = dst_length(rest, "ORIGIN")) != 0) {
      out += origin;
    } else if ((len = dst_length(rest, "PLATFORM")) != 0) {
      out += kPlatform;
    } else if ((len = dst_length(rest, "LIB")) != 0) {
      out += kLib;
    } else {
      out += '$';
      continue;
    }
    i += len;
  }
  return out;
}

// ---- The closure ----

// One ELF object of the program's link map.
struct Object {
  std::string path;    // where it was found, as ld.so names it
  std::string origin;  // what $ORIGIN expands to in its paths
  ElfInfo elf;
  int loader;  // index of the object that first needed it; -1 for the program
};

// A library file found by the search.
struct Found {
  std::string path;
  PathWalk walk;
  ElfInfo elf;
};

// Builds the closure of one program: the entries, and the link map the loader would build.
class Closure {
 public:
  Closure(const std::string& program, const LoaderSearch& search)
      : program_(program), search_(search) {}

  std::vector<HostEntry> run() {
    add_executable(program_, 0);
    return std::move(entries_);
  }

 private:
  void emit(const PathWalk& walk) {
    for (const auto& e : walk.entries)
      if (emitted_.insert(e.path).second) entries_.push_back(e);
  }

  std::string host(const std::string& path) const { return search_.sysroot + path; }

  // The program, a #! interpreter DEPTH levels down, or the command a #!/usr/bin/env line runs
  // (DEPTH 0: env execs it anew): a script or an ELF executable. PATH is as the exec names it.
  void add_executable(const std::string& path, int depth) {
    std::optional<PathWalk> walk;
    try {
      walk = walk_host_path(absolute(path), search_.sysroot);
    } catch (const Error& e) {
      throw Error(std::string("cannot execute ") + program_ + ": " + e.what(), e.hint(),
                  kExitCannotInvoke);
    }
    // What execve would fail with.
    int err = !walk                                           ? ENOENT
              : !walk->is_file                                ? EISDIR
              : ::access(host(walk->real).c_str(), X_OK) != 0 ? EACCES
                                                              : 0;
    if (err != 0) {
      // The kernel says EACCES for an interpreter that is a directory; a shell then blames the
      // #! line of the script it ran, as the guest does (see exec_failure.h).
      if (depth > 0)
        throw bad_interpreter(chain_.script, chain_.interpreter, err == EISDIR ? EACCES : err);
      throw Error("cannot execute " + path + ": " + strerror(err), "", kExitCannotInvoke);
    }
    emit(*walk);
    std::string head = exec_head(walk->real);
    if (head.starts_with("#!")) return add_script_interpreter(path, head, depth);
    if (has_elf_magic(head)) return add_elf_program(path, walk->real);
    throw Error("cannot execute " + path + ": not an ELF binary or #! script", "",
                kExitCannotInvoke);
  }

  // The first bytes of REAL, as the kernel reads them to exec it.
  std::string exec_head(const std::string& real) const {
    Fd fd(::open(host(real).c_str(), O_RDONLY | O_CLOEXEC));
    try {
      if (!fd) throw_errno("open");
      return read_head(fd.get(), kShebangBytes);
    } catch (const Error& e) {
      throw Error("cannot execute " + program_ + ": cannot read " + host(real) + ": " + e.what(),
                  "", kExitCannotInvoke);
    }
  }

  // The script PATH's interpreter, as the kernel's binfmt_script reads its #! line; and when that
  // is env, the command env runs.
  void add_script_interpreter(const std::string& path, const std::string& head, int depth) {
    if (depth >= kMaxInterpreterDepth)
      throw Error("cannot execute " + program_ + ": too many levels of #! interpreters", "",
                  kExitCannotInvoke);
    Shebang line = *parse_shebang(head);
    if (line.truncated)
      throw Error("cannot execute " + path + ": its #! line is too long", "", kExitCannotInvoke);
    if (line.interpreter.empty())
      throw Error("cannot execute " + path + ": its #! line names no interpreter", "",
                  kExitCannotInvoke);
    if (!line.interpreter.starts_with('/'))
      throw Error("cannot execute " + path + ": its #! interpreter " + line.interpreter +
                      " is not an absolute path",
                  "name the interpreter by its absolute path", kExitCannotInvoke);
    if (depth == 0) chain_ = {path, line.interpreter};
    add_executable(line.interpreter, depth + 1);
    if (base_name(line.interpreter) == "env") add_env_command(line.argument);
  }

  // The command `env ARGUMENT` runs, with its own closure, where env's execvp finds it; nothing
  // when it does not, so that env says so in the guest in its own words.
  void add_env_command(const std::string& argument) {
    std::string name = env_command(argument);
    if (name.empty()) return;
    std::optional<std::string> found = find_in_path(name);
    // A script that env runs again is packed once (a loop, as it would be on the host).
    if (!found || !env_commands_.insert(*found).second) return;
    add_executable(*found, 0);
  }

  // Where execvp finds NAME: NAME itself when it has a slash; else the first executable regular
  // file DIR/NAME for the directories DIR of the command's PATH ("." for an empty one).
  std::optional<std::string> find_in_path(const std::string& name) const {
    std::vector<std::string> candidates;
    if (name.find('/') != std::string::npos) {
      candidates.push_back(name);
    } else {
      for (const auto& dir : split(search_.path, ':'))
        candidates.push_back(join_path(dir.empty() ? "." : dir, name));
    }
    for (const auto& candidate : candidates) {
      std::optional<PathWalk> walk;
      try {
        walk = walk_host_path(absolute(candidate), search_.sysroot);
      } catch (const Error&) {
        return std::nullopt;  // a symlink loop ends execvp's search with ELOOP
      }
      if (walk && walk->is_file && ::access(host(walk->real).c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
  }

  void add_elf_program(const std::string& path, const std::string& real) {
    ElfInfo elf;
    try {
      elf = read_elf(host(real));
    } catch (const Error& e) {
      throw Error(std::string("cannot execute ") + path + ": " + e.what(), e.hint(),
                  kExitCannotInvoke);
    }
    if (elf.elf_class == ELFCLASS32)
      throw Error("cannot execute " + path + ": 32-bit programs are not supported", "",
                  kExitCannotInvoke);
    if (!elf.is_x86_64())
      throw Error("cannot execute " + path + ": it is built for another machine (ELF e_machine " +
                      std::to_string(elf.machine) + ")",
                  "", kExitCannotInvoke);
    if (elf.type != ET_EXEC && elf.type != ET_DYN)
      throw Error("cannot execute " + path + ": not an executable ELF file", "", kExitCannotInvoke);
    if (!elf.interpreter) return;  // static, or static-pie: it needs nothing else

    // Each program has a link map of its own (env and the command it runs, say).
    objects_.clear();
    names_.clear();
    real_paths_.clear();
    add_interpreter(path, *elf.interpreter);
    // $ORIGIN of the program is the directory of its real path (ld.so reads /proc/self/exe).
    objects_.push_back({path, parent_directory(real), std::move(elf), -1});
    register_names(0, {});
    // Breadth first, like ld.so's _dl_map_object_deps.
    for (size_t i = 0; i < objects_.size(); ++i) {
      std::vector<std::string> needed = objects_[i].elf.needed;
      for (const auto& name : needed) load_needed(i, name);
    }
  }

  // The ELF interpreter (ld.so) is loaded by the kernel from PT_INTERP as written; ld.so then
  // answers to that path and to its soname, so libc's DT_NEEDED on it is never searched.
  void add_interpreter(const std::string& program, const std::string& interp) {
    if (!interp.starts_with('/'))
      throw Error("cannot execute " + program + ": its ELF interpreter " + interp +
                      " is not an absolute path",
                  "", kExitCannotInvoke);
    std::optional<PathWalk> walk;
    ElfInfo elf;
    try {
      walk = walk_host_path(interp, search_.sysroot);
      if (walk && walk->is_file) elf = read_elf(host(walk->real));
    } catch (const Error& e) {
      throw Error("cannot execute " + program + ": its ELF interpreter " + interp + ": " + e.what(),
                  e.hint(), kExitCannotInvoke);
    }
    if (!walk || !walk->is_file)
      throw Error(
          "cannot execute " + program + ": its ELF interpreter " + interp + " does not exist",
          "install the C library it was built for", kExitCannotInvoke);
    emit(*walk);
    if (!elf.is_x86_64())
      throw Error("cannot execute " + program + ": its ELF interpreter " + interp +
                      " is not an x86-64 ELF file",
                  "", kExitCannotInvoke);
    names_[interp] = -1;
    if (elf.soname) names_[*elf.soname] = -1;
    real_paths_[walk->real] = -1;
  }

  // Records that object INDEX answers to NAME (when given), to its path and to its soname.
  void register_names(size_t index, const std::string& name) {
    const Object& o = objects_[index];
    if (!name.empty()) names_[name] = static_cast<int>(index);
    names_[o.path] = static_cast<int>(index);
    if (o.elf.soname) names_.emplace(*o.elf.soname, static_cast<int>(index));
  }

  void load_needed(size_t loader, const std::string& name) {
    if (names_.count(name)) return;  // already loaded under that name or soname
    std::optional<Found> found;
    std::vector<std::string> searched;
    try {
      found = find_library(loader, name, searched);
    } catch (const Error& e) {
      throw Error(objects_[0].path + " needs " + name + ": " + e.what(), e.hint());
    }
    if (!found) {
      std::string where;
      for (const auto& s : searched) where += (where.empty() ? "" : ", ") + s;
      throw Error(objects_[0].path + " needs " + name + needed_by(loader) +
                      ", which was not found in " + (where.empty() ? "any directory" : where),
                  "install the package that provides it, or point LD_LIBRARY_PATH at it");
    }
    emit(found->walk);
    // ld.so notices a file it already loaded under another path and reuses it.
    if (auto same = real_paths_.find(found->walk.real); same != real_paths_.end()) {
      names_[name] = same->second;
      return;
    }
    std::string origin = parent_directory(absolute(found->path));
    objects_.push_back({found->path, origin, std::move(found->elf), static_cast<int>(loader)});
    real_paths_[found->walk.real] = static_cast<int>(objects_.size() - 1);
    register_names(objects_.size() - 1, name);
  }

  std::string needed_by(size_t loader) const {
    return loader == 0 ? "" : " (for " + objects_[loader].path + ")";
  }

  // PATH, relative to the command's working directory when relative.
  std::string absolute(const std::string& path) const {
    if (path.starts_with('/')) return path;
    return join_path(search_.cwd.empty() ? current_directory() : search_.cwd, path);
  }

  // ld.so's _dl_map_object search for NAME needed by object LOADER. SEARCHED collects what was
  // tried, for the error message.
  std::optional<Found> find_library(size_t loader, const std::string& name,
                                    std::vector<std::string>& searched) {
    const Object& needer = objects_[loader];
    // A name with a slash is a path, tokens expanded.
    if (name.find('/') != std::string::npos) {
      std::string path = absolute(expand_dst(name, needer.origin));
      searched.push_back(path);
      return probe(path);
    }
    // DT_RPATH of the needing object and of its loaders up to the program, unless the needing
    // object has a DT_RUNPATH; an object with DT_RUNPATH has no DT_RPATH.
    if (!needer.elf.runpath) {
      for (int l = static_cast<int>(loader); l >= 0; l = objects_[l].loader) {
        const Object& o = objects_[l];
        if (!o.elf.rpath || o.elf.runpath) continue;
        if (auto f = search_dirs(name, path_list(*o.elf.rpath, o.origin), "RPATH of " + o.path,
                                 searched))
          return f;
      }
    }
    std::vector<std::string> llp;
    for (const auto& dir : search_.ld_library_path)
      if (!dir.empty()) llp.push_back(expand_dst(dir, objects_[0].origin));
    if (auto f = search_dirs(name, llp, "LD_LIBRARY_PATH", searched)) return f;
    // DT_RUNPATH applies to the object's own direct needs only.
    if (needer.elf.runpath) {
      auto dirs = path_list(*needer.elf.runpath, needer.origin);
      if (auto f = search_dirs(name, dirs, "RUNPATH of " + needer.path, searched)) return f;
    }
    if (needer.elf.flags_1 & DF_1_NODEFLIB) return std::nullopt;  // -z nodefaultlib
    if (auto f = search_cache(name, searched)) return f;
    return search_dirs(name, search_.system_dirs, "", searched);
  }

  // A ':'-separated DT_RPATH or DT_RUNPATH, tokens expanded with ORIGIN.
  std::vector<std::string> path_list(const std::string& list, const std::string& origin) const {
    std::vector<std::string> dirs;
    for (const auto& dir : split(list, ':'))
      if (!dir.empty()) dirs.push_back(expand_dst(dir, origin));
    return dirs;
  }

  std::optional<Found> search_dirs(const std::string& name, const std::vector<std::string>& dirs,
                                   const std::string& label, std::vector<std::string>& searched) {
    for (const auto& dir : dirs) {
      if (auto f = probe(absolute(join_path(dir, name)))) return f;
    }
    if (!dirs.empty()) {
      std::string list;
      for (const auto& d : dirs) list += (list.empty() ? "" : ":") + d;
      searched.push_back(label.empty() ? list : label + " (" + list + ")");
    }
    return std::nullopt;
  }

  std::optional<Found> search_cache(const std::string& name, std::vector<std::string>& searched) {
    if (!cache_) cache_ = LdCache::load(host(search_.ld_so_cache));
    searched.push_back(search_.ld_so_cache);
    auto path = cache_->lookup(name);
    return path ? probe(*path) : std::nullopt;
  }

  // PATH when it is a regular file of the right ELF class and machine, as ld.so's open_verify
  // accepts it; other classes and machines are skipped, a file that is not ELF is an error.
  std::optional<Found> probe(const std::string& path) {
    auto walk = walk_host_path(path, search_.sysroot);
    if (!walk || !walk->is_file) return std::nullopt;
    ElfInfo elf = read_elf(host(walk->real));
    if (!elf.is_x86_64()) return std::nullopt;
    return Found{path, std::move(*walk), std::move(elf)};
  }

  const std::string program_;
  const LoaderSearch& search_;
  std::vector<HostEntry> entries_;
  std::unordered_set<std::string> emitted_;
  std::vector<Object> objects_;                      // the link map, in load order
  std::unordered_map<std::string, int> names_;       // name or soname -> object (-1: ld.so)
  std::unordered_map<std::string, int> real_paths_;  // real path -> object
  std::optional<LdCache> cache_;
  struct {
    std::string script, interpreter;
  } chain_;  // the script that started the #! chain being added, and the interpreter it names
  std::unordered_set<std::string> env_commands_;  // the commands of env lines, as found
};

}  // namespace

std::vector<std::string> split_library_path(const std::string& value) {
  std::vector<std::string> dirs;
  std::string dir;
  for (char c : value + ":") {
    if (c != ':' && c != ';') {
      dir += c;
    } else if (!dir.empty()) {
      dirs.push_back(std::move(dir));
      dir.clear();
    }
  }
  return dirs;
}

std::vector<HostEntry> program_closure(const std::string& program, const LoaderSearch& search) {
  return Closure(program, search).run();
}

}  // namespace execvm
