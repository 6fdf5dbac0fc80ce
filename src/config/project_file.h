// The project file, .execvm.toml: settings a project keeps beside its code so that its commands
// run under execvm the same way for everyone. Options given on the command line override it.
//
//   cpus = 2                        # a key is a run option's name, its value the option's,
//   memory = "1G"                   # as a string, an integer, a boolean or an array
//   volumes = ["data:/data:ro"]
//   [env]                           # a table: NAME = "VALUE" for each -e, in this order
//   GOFLAGS = "-count=1"
//
// This reader knows TOML and the shape each key's value must have; which keys there are and
// what their values mean is the caller's: the run settings. Every key is optional; an empty
// file sets nothing. Unknown keys are errors, so that a typo is not silently ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace execvm {

// The name of the project file in a directory.
inline constexpr const char* kProjectFileName = ".execvm.toml";

// The most a project file may hold: it is a few settings, not data.
inline constexpr size_t kProjectFileMaxBytes = 64 * 1024;

// The shape of a key's value in the file; each becomes the text the command line would take.
enum class FileType {
  kBoolean,          // true or false: "true", "false"
  kInteger,          // 2: "2"
  kString,           // "1G": "1G"
  kStringOrInteger,  // "90s" or 90: "90s", "90"
  kStringArray,      // ["a", "b"]: one value each
  kStringTable,      // [env] A = "1": one value "A=1" each, in file order
};

// A key the file may have.
struct FileKey {
  const char* key;   // "volumes"
  const char* name;  // what messages call one value of it: "volume"
  FileType type;
};

// One value from the file, as text, and where it is.
struct FileValue {
  const char* key;     // the FileKey's key
  std::string text;    // "2", "1G", "data:/data:ro", "GOFLAGS=-count=1"
  std::string label;   // what a message about it starts with: "/p/.execvm.toml:3:8: cpus 0"
  std::string origin;  // "/p/.execvm.toml:3"
};

struct ProjectFile {
  std::string path;               // the file that was read, made absolute
  std::string dir;                // its directory: what relative paths in it are relative to
  std::string content;            // its bytes, as read
  std::vector<FileValue> values;  // in file order
};

// The project file for a command run in CWD: CWD/.execvm.toml, else WORK_TREE/.execvm.toml (the
// git root containing CWD; may be empty or equal to CWD). nullopt when neither exists. A name
// that exists but is not a readable file is still returned, so that reading it reports why.
std::optional<std::string> find_project_file(const std::string& cwd, const std::string& work_tree);

// The bytes of the project file at PATH, followed if a symlink: it must be a regular file of at
// most kProjectFileMaxBytes (it is never waited for: a FIFO is refused, not opened for good).
// Throws Error (exit 125) naming PATH and what is wrong.
std::string read_project_text(const std::string& path);

// Reads PATH (made absolute) and checks it against KEYS. Throws Error (exit 125)
// "PATH:LINE:COL: what is wrong" for TOML syntax errors, unknown keys and values of the wrong
// shape; an Error naming PATH when it cannot be read.
ProjectFile read_project_file(const std::string& path, const std::vector<FileKey>& keys);

}  // namespace execvm
