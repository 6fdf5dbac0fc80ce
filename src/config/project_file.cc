#include "config/project_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

// TEXT as a TOML basic string, for messages: "1T", "a \"b\"".
std::string toml_quote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
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

std::string unknown_key_hint(std::string_view key, const std::vector<FileKey>& keys) {
  std::string known, closest;
  size_t best = 3;  // further than two edits away is not a typo
  for (const FileKey& k : keys) {
    known += (known.empty() ? "" : ", ") + std::string(k.key);
    if (size_t d = edit_distance(key, k.key); d < best) {
      best = d;
      closest = k.key;
    }
  }
  std::string hint = "the known keys are " + known;
  return closest.empty() ? hint : "did you mean " + toml_quote(closest) + "? " + hint;
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

// What kind of file ST is, for a message that says why it is not a project file.
const char* kind_of(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  return "not a regular file";
}

class Reader {
 public:
  Reader(ProjectFile& file, const std::vector<FileKey>& keys) : file_(file), keys_(keys) {}

  void read() {
    file_.content = read_project_text(file_.path);
    toml::table root;
    try {
      root = toml::parse(file_.content, file_.path);
    } catch (const toml::parse_error& e) {
      throw Error(where(e.source()) + ": " + std::string(e.description()));
    }
    for (const auto& [key, node] : in_file_order(root)) {
      auto known = std::find_if(keys_.begin(), keys_.end(),
                                [&](const FileKey& k) { return key->str() == k.key; });
      if (known == keys_.end())
        throw Error(where(key->source()) + ": unknown key " + toml_quote(key->str()),
                    unknown_key_hint(key->str(), keys_));
      values(*known, *node);
    }
  }

 private:
  std::string where(const toml::source_region& source) const {
    return file_.path + ":" + std::to_string(source.begin.line) + ":" +
           std::to_string(source.begin.column);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& what,
                         std::string hint = {}) const {
    throw Error(where(node.source()) + ": " + what, std::move(hint));
  }

  // A value of KEY: its TEXT, shown in messages as SHOWN (the TOML form).
  void add(const FileKey& key, const toml::node& node, std::string text, const std::string& shown) {
    if (text.find('\0') != std::string::npos)  // TOML allows "\u0000"; no argument can hold it
      fail(node, std::string(key.name) + " " + shown + ": a NUL character");
    file_.values.push_back({key.key, std::move(text),
                            where(node.source()) + ": " + key.name + " " + shown,
                            file_.path + ":" + std::to_string(node.source().begin.line)});
  }

  // Adds NODE when it is a string (and STRINGS) or an integer (and INTEGERS); false otherwise.
  bool scalar(const FileKey& key, const toml::node& node, bool strings, bool integers) {
    if (const auto* s = node.as_string(); s && strings) {
      add(key, node, s->get(), toml_quote(s->get()));
      return true;
    }
    if (const auto* n = node.as_integer(); n && integers) {
      add(key, node, std::to_string(n->get()), std::to_string(n->get()));
      return true;
    }
    return false;
  }

  void values(const FileKey& key, const toml::node& node) {
    std::string name = key.key;
    switch (key.type) {
      case FileType::kBoolean:
        if (const auto* b = node.as_boolean()) {
          std::string text = b->get() ? "true" : "false";
          return add(key, node, text, text);
        }
        fail(node, name + " must be true or false");
      case FileType::kInteger:
        if (!scalar(key, node, false, true)) fail(node, name + " must be an integer");
        return;
      case FileType::kString:
        if (!scalar(key, node, true, false)) fail(node, name + " must be a string");
        return;
      case FileType::kStringOrInteger:
        if (!scalar(key, node, true, true)) fail(node, name + " must be a string or an integer");
        return;
      case FileType::kStringArray: {
        const auto* array = node.as_array();
        if (!array)
          fail(node, name + " must be an array of strings", "write it as " + name + " = [\"...\"]");
        for (const auto& item : *array)
          if (!scalar(key, item, true, false))
            fail(item, "each " + std::string(key.name) + " must be a string");
        return;
      }
      case FileType::kStringTable: {
        const auto* table = node.as_table();
        if (!table)
          fail(node, name + " must be a table of NAME = \"VALUE\"", "write it as [" + name + "]");
        for (const auto& [k, value] : in_file_order(*table)) {
          std::string entry(k->str());
          if (entry.empty() || entry.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
            throw Error(where(k->source()) + ": " + key.name + " " + toml_quote(entry) +
                        ": not a variable name (empty, or with = or NUL)");
          const auto* s = value->as_string();
          if (!s) fail(*value, std::string(key.name) + " " + entry + " must be a string");
          add(key, *value, entry + "=" + s->get(), entry + " = " + toml_quote(s->get()));
        }
        return;
      }
    }
  }

  ProjectFile& file_;
  const std::vector<FileKey>& keys_;
};

}  // namespace

std::optional<std::string> find_project_file(const std::string& cwd, const std::string& work_tree) {
  for (const std::string* dir : {&cwd, &work_tree}) {
    if (dir->empty()) continue;
    std::string candidate = join_path(*dir, kProjectFileName);
    struct stat st;
    // lstat: a dangling symlink is found too, and reading it then says what is wrong.
    if (::lstat(candidate.c_str(), &st) == 0) return candidate;
  }
  return std::nullopt;
}

std::string read_project_text(const std::string& path) {
  // Non-blocking: opening a FIFO for reading would wait for a writer.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) throw_errno("cannot open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) throw_errno("cannot read " + path);
  constexpr const char* kWhat = "a project file is a small TOML file of settings";
  if (!S_ISREG(st.st_mode))
    throw Error(path + " is " + kind_of(st) + ", not a regular file", kWhat);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + path);
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kProjectFileMaxBytes)
      throw Error(path + " is larger than " + std::to_string(kProjectFileMaxBytes / 1024) + " KiB",
                  kWhat);
  }
}

ProjectFile read_project_file(const std::string& path, const std::vector<FileKey>& keys) {
  ProjectFile file;
  file.path = path.starts_with('/') ? path : lexical_absolute(current_directory(), path);
  file.dir = parent_directory(file.path);
  Reader(file, keys).read();
  return file;
}

}  // namespace execvm
