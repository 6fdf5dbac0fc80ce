#include "config/project_file.h"

#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "util/error.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr const char* kKnownKeys[] = {"kernel",   "cpus",    "memory",  "sudo", "accel",
                                      "share-fs", "timeout", "volumes", "env"};

// The same bounds as --cpus and --memory, so that a file cannot ask for what the flags refuse.
constexpr int64_t kMaxCpus = 64;
constexpr uint64_t kMinMemoryMib = 64;

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// DIR + "/" + NAME without doubling the slash of "/".
std::string join(const std::string& dir, std::string_view name) {
  if (!dir.empty() && dir.back() == '/') return dir + std::string(name);
  return dir + "/" + std::string(name);
}

// PATH when absolute, else PATH under DIR; "." and ".." resolved lexically (not through
// symlinks: the file's author wrote the path relative to where the file sits).
std::string absolute_in(const std::string& dir, const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  std::string normal = (std::filesystem::path(dir) / path).lexically_normal().string();
  if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

// The number of single-character edits between A and B, for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_hint(std::string_view key) {
  std::string known, closest;
  size_t best = 3;  // further than two edits away is not a typo
  for (const char* k : kKnownKeys) {
    known += (known.empty() ? "" : ", ") + std::string(k);
    if (size_t d = edit_distance(key, k); d < best) {
      best = d;
      closest = k;
    }
  }
  std::string hint = "the known keys are " + known;
  return closest.empty() ? hint : "did you mean " + in_quotes(closest) + "? " + hint;
}

// The entries of TABLE in the order the file has them (a toml::table is sorted by key), so that
// env keeps its order and the first error reported is the first in the file.
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(
    const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& x = a.first->source().begin;
    const auto& y = b.first->source().begin;
    return std::tie(x.line, x.column) < std::tie(y.line, y.column);
  });
  return entries;
}

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {
    size_t slash = path_.find_last_of('/');
    dir_ = slash == 0 ? "/" : path_.substr(0, slash);
  }

  ProjectFile read() {
    std::string text = read_file(path_);
    toml::table root;
    try {
      root = toml::parse(text, path_);
    } catch (const toml::parse_error& e) {
      throw Error(where(e.source()) + ": " + std::string(e.description()));
    }
    ProjectFile file;
    file.path = path_;
    for (const auto& [key, node] : in_file_order(root)) set(file, *key, *node);
    return file;
  }

 private:
  std::string where(const toml::source_region& source) const {
    return path_ + ":" + std::to_string(source.begin.line) + ":" +
           std::to_string(source.begin.column);
  }
  std::string origin(const toml::node& node) const {
    return path_ + ":" + std::to_string(node.source().begin.line);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& what,
                         std::string hint = {}) const {
    throw Error(where(node.source()) + ": " + what, std::move(hint));
  }

  // NODE's string; fails with WHAT ("KEY must be ...") when NODE is something else.
  std::string string_value(const toml::node& node, const std::string& what) const {
    const auto* s = node.as_string();
    if (!s) fail(node, what);
    const std::string& value = s->get();
    // TOML allows "\u0000"; no path, argument or environment variable can hold it.
    if (value.find('\0') != std::string::npos) fail(node, what + " without NUL characters");
    return value;
  }

  std::string choice(std::string_view key, const toml::node& node,
                     const std::vector<std::string>& choices) const {
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i)
      list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + in_quotes(choices[i]);
    std::string value = string_value(node, std::string(key) + " must be " + list);
    if (std::find(choices.begin(), choices.end(), value) == choices.end())
      fail(node, std::string(key) + " " + in_quotes(value) + ": not a known value", "use " + list);
    return value;
  }

  unsigned cpus(const toml::node& node) const {
    const auto* n = node.as_integer();
    if (!n || n->get() < 1) fail(node, "cpus must be an integer >= 1");
    if (n->get() > kMaxCpus)
      fail(node, "cpus " + std::to_string(n->get()) + ": out of range",
           "use 1 to " + std::to_string(kMaxCpus));
    return static_cast<unsigned>(n->get());
  }

  uint64_t memory(const toml::node& node) const {
    constexpr const char* kHow = "write it like \"256M\" or \"2G\", or an integer of MiB";
    std::optional<uint64_t> mib;
    std::string shown;
    if (const auto* n = node.as_integer()) {
      shown = std::to_string(n->get());
      if (n->get() > 0) mib = static_cast<uint64_t>(n->get());
    } else if (const auto* s = node.as_string()) {
      shown = in_quotes(s->get());
      mib = parse_mebibytes(s->get());
    } else {
      fail(node, "memory must be a size", kHow);
    }
    if (!mib || *mib < kMinMemoryMib)
      fail(node, "memory " + shown + ": not a usable size",
           std::string(kHow) + " (at least " + std::to_string(kMinMemoryMib) + "M)");
    return *mib;
  }

  std::chrono::milliseconds timeout(const toml::node& node) const {
    constexpr const char* kHow = "write it like \"90s\", \"1.5m\", \"500ms\" or \"2h\"";
    std::optional<std::chrono::milliseconds> d;
    std::string shown;
    if (const auto* n = node.as_integer()) {  // seconds, as a bare number on --timeout
      shown = std::to_string(n->get());
      if (n->get() >= 0 && n->get() <= 1'000'000'000'000) d = std::chrono::seconds(n->get());
    } else if (const auto* s = node.as_string()) {
      shown = in_quotes(s->get());
      d = parse_duration(s->get());
    } else {
      fail(node, "timeout must be a duration", kHow);
    }
    if (!d) fail(node, "timeout " + shown + ": not a duration", kHow);
    if (d->count() == 0) fail(node, "timeout " + shown + ": a run needs some time", kHow);
    return *d;
  }

  // HOST[:GUEST][:ro|:rw] with HOST made absolute.
  std::string volume(const toml::node& node) const {
    constexpr const char* kHow = "write it as HOST[:GUEST][:ro|:rw], e.g. \"data:/data:ro\"";
    std::string spec = string_value(node, "each volume must be a string");
    std::vector<std::string> parts = split(spec, ':');
    auto is_mode = [](const std::string& s) { return s == "ro" || s == "rw"; };
    auto bad = [&](const std::string& why) {
      fail(node, "volume " + in_quotes(spec) + ": " + why, kHow);
    };
    if (parts[0].empty()) bad("no host path");
    if (parts.size() > 3) bad("too many colons");
    if (parts.size() == 3 && !is_mode(parts[2])) bad(in_quotes(parts[2]) + " is neither ro nor rw");
    if (parts.size() >= 2 && !(parts.size() == 2 && is_mode(parts[1])) &&
        (parts[1].empty() || parts[1].front() != '/'))
      bad("the guest path must be absolute");
    std::string host = absolute_in(dir_, parts[0]);
    return host + spec.substr(parts[0].size());
  }

  void env(ProjectFile& file, const toml::node& node) const {
    const auto* table = node.as_table();
    if (!table) fail(node, "env must be a table of NAME = \"VALUE\"", "write it as [env]");
    for (const auto& [key, value] : in_file_order(*table)) {
      std::string name(key->str());
      if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
        throw Error(where(key->source()) + ": env " + in_quotes(name) +
                    ": not a variable name (empty, or with = or NUL)");
      std::string text = string_value(*value, "env " + name + " must be a string");
      file.env.push_back({name + "=" + text, origin(*value)});
    }
  }

  void set(ProjectFile& file, const toml::key& k, const toml::node& node) const {
    std::string key(k.str());
    if (key == "kernel") {
      std::string kernel = string_value(node, "kernel must be a path (a string)");
      if (kernel.empty()) fail(node, "kernel must be a path, not empty");
      file.kernel = {{absolute_in(dir_, kernel), origin(node)}};
    } else if (key == "cpus") {
      file.cpus = {{cpus(node), origin(node)}};
    } else if (key == "memory") {
      file.memory_mib = {{memory(node), origin(node)}};
    } else if (key == "sudo") {
      const auto* b = node.as_boolean();
      if (!b) fail(node, "sudo must be true or false");
      file.sudo = {{b->get(), origin(node)}};
    } else if (key == "accel") {
      file.accel = {{choice(key, node, {"auto", "kvm", "tcg"}), origin(node)}};
    } else if (key == "share-fs") {
      file.share_fs = {{choice(key, node, {"auto", "virtiofs", "9p"}), origin(node)}};
    } else if (key == "timeout") {
      file.timeout = {{timeout(node), origin(node)}};
    } else if (key == "volumes") {
      const auto* array = node.as_array();
      if (!array) fail(node, "volumes must be an array of strings", "write it as [\"HOST:GUEST\"]");
      for (const auto& v : *array) file.volumes.push_back({volume(v), origin(v)});
    } else if (key == "env") {
      env(file, node);
    } else {
      throw Error(where(k.source()) + ": unknown key " + in_quotes(key), unknown_key_hint(key));
    }
  }

  std::string path_, dir_;
};

std::string make_absolute(const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) throw_errno("cannot find the current directory");
  return absolute_in(cwd, path);
}

}  // namespace

std::optional<std::string> find_project_file(const std::string& cwd, const std::string& work_tree) {
  for (const std::string* dir : {&cwd, &work_tree}) {
    if (dir->empty()) continue;
    std::string candidate = join(*dir, kProjectFileName);
    struct stat st;
    // lstat: a dangling symlink is found too, and reading it then says what is wrong.
    if (::lstat(candidate.c_str(), &st) == 0) return candidate;
  }
  return std::nullopt;
}

ProjectFile read_project_file(const std::string& path) {
  return Reader(make_absolute(path)).read();
}

}  // namespace execvm
