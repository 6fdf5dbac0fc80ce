// Where execvm keeps its caches and how it finds programs.
#pragma once

#include <optional>
#include <string>

namespace execvm {

// $XDG_CACHE_HOME/execvm, else $HOME/.cache/execvm (not created here).
std::string cache_root();

// The working directory. Throws Error when it cannot be read (it was removed, say).
std::string current_directory();

// PATH with every symlink, "." and ".." resolved (realpath(3)), or "" when it does not resolve.
std::string canonical_path(const std::string& path);

// Creates DIR and its missing parents (mode 0755). Throws Error naming DIR on failure.
void make_dirs(const std::string& dir);

// The first executable file named NAME in the directories of PATH (when nullopt: the caller's
// PATH, then the system's directories); NAME itself when it contains a slash. nullopt when there
// is none.
std::optional<std::string> find_program(const std::string& name,
                                        std::optional<std::string> path = std::nullopt);

}  // namespace execvm
