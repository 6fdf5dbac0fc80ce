// Where execvm keeps its caches and how it finds programs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execvm {

// $VARIABLE/execvm when VARIABLE (an XDG base directory) is set to an absolute path, else
// The names in the directory DIR but "." and "..", sorted; none when it cannot be read.
std::vector<std::string> directory_names(const std::string& dir);

// $HOME/UNDER_HOME/execvm: xdg_directory("XDG_DATA_HOME", ".local/share"). Not created here.
std::string xdg_directory(const char* variable, const char* under_home);

// $XDG_CACHE_HOME/execvm, else $HOME/.cache/execvm (not created here).
std::string cache_root();

// The working directory. Throws Error when it cannot be read (it was removed, say).
std::string current_directory();

// PATH's directory: "/a/b" -> "/a", "/a" -> "/", "b" -> ".".
std::string parent_directory(const std::string& path);
// PATH's last component: "/a/b" -> "b".
std::string base_name(const std::string& path);
// DIR + "/" + NAME, without doubling the slash of "/".
std::string join_path(const std::string& dir, std::string_view name);

// PATH made absolute against BASE when it is relative, "." and ".." resolved as written (not
// through symlinks), without a trailing slash.
std::string lexical_absolute(const std::string& base, const std::string& path);

// Whether PATH is DIR or inside it (both absolute and normalized).
bool is_within(const std::string& path, const std::string& dir);

// Whether PATH (symlinks followed) is a regular file, and its size in *SIZE when it is.
bool is_regular_file(const std::string& path, uint64_t* size = nullptr);
// Whether PATH (symlinks followed) is a directory.
bool is_directory(const std::string& path);

// PATH with every symlink, "." and ".." resolved (realpath(3)), or "" when it does not resolve.
std::string canonical_path(const std::string& path);

// Creates DIR and its missing parents (mode 0755, less the umask), calling MADE with each one
// it created, parents first. Throws Error naming what could not be made.
void make_dirs(const std::string& dir, const std::function<void(const std::string&)>& made = {});

// The first executable file named NAME in the directories of PATH (when nullopt: the caller's
// PATH, then the system's directories); NAME itself when it contains a slash. nullopt when there
// is none.
std::optional<std::string> find_program(const std::string& name,
                                        std::optional<std::string> path = std::nullopt);

}  // namespace execvm
