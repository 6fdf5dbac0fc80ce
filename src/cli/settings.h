// The settings of a run, in one table: each option of `execvm [run]` (which `execvm doctor`
// takes too) with its flags, its key in the project file, its help and its parser. The table
// drives the command line, the project file .execvm.toml (the command line over the file over
// the defaults), doctor's account of where each setting came from, and --help.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/options.h"
#include "config/project_file.h"
#include "util/error.h"

namespace execvm {

class TrustStore;

enum class Arity {
  kFlag,  // --sudo; true in the project file
  kOne,   // --cpus 2; a later one wins
  kList,  // -v A -v B; each adds one, in order
};

// The groups of --help, in order.
enum class HelpGroup { kRoot, kVm, kCommand, kIsolation, kDiagnostics };

struct Setting {
  std::string name;        // the long option without its dashes, and the key of origins: "cpus"
  std::string short_flag;  // "-v", or empty
  std::string metavar;     // "N", "auto|kvm|tcg"; empty for a flag
  Arity arity = Arity::kOne;
  HelpGroup group = HelpGroup::kCommand;
  std::string help;  // --help's text, after the flags
  FileKey file{};    // the project file's key; file.key is null when the file cannot set it
  // Parses one value into OPTIONS. Throws Error "LABEL: what is wrong" with what to write.
  void (*parse)(RunOptions& options, const SettingValue& value) = nullptr;
  // The value in OPTIONS as doctor shows it (and --help the default): one string, or one for
  // each item of a list.
  std::vector<std::string> (*show)(const RunOptions& options) = nullptr;

  // "-v" or "--cpus": how messages name the option.
  std::string flag() const { return short_flag.empty() ? "--" + name : short_flag; }
};

// The settings, in the order --help lists them.
const std::vector<Setting>& run_settings();

// Registers every setting on APP. A validator wraps each one's parser: as CLI11 reads a value
// it is parsed into OPTIONS (a bad one fails with the setting's message) and kept in GIVEN.
void add_settings(CLI::App& app, RunOptions& options, std::vector<GivenValue>& given);

// A whole number from MIN to MAX, as --cpus takes it. Throws Error "LABEL: ..." otherwise.
unsigned whole_number(const SettingValue& value, unsigned min, unsigned max);

// A project file read through the settings: every value checked by its setting's parser.
struct ProjectSettings {
  ProjectFile file;
  RunOptions options;     // the file's settings alone, over the defaults
  std::string work_tree;  // the file's work tree: what it may reach without consent
  // What it asks for beyond its work tree, in its words: "sudo = true", "volume /:/host".
  std::vector<std::string> beyond;
};

// Reads the project file at PATH. Throws Error (exit 125) for a file that is not a small
// regular file, is not TOML, has an unknown key or a bad value.
ProjectSettings read_project_settings(const std::string& path);

// The project file a run with OPTIONS reads: .execvm.toml in its working directory, else at
// the top of its git work tree. nullopt when there is none.
std::optional<std::string> project_file_for(const RunOptions& options);

// The error a run gets when FILE asks for more than its work tree and the user has not
// consented to this content in STORE; nullopt when it may run.
std::optional<Error> consent_needed(const ProjectSettings& file, const TrustStore& store);

// Lays the command line's GIVEN values over FILE's settings into OPTIONS: a setting given on
// the command line replaces the file's; the file's volumes and variables come first (a later
// -v or -e wins).
void merge_project_settings(RunOptions& options, const std::vector<GivenValue>& given,
                            const ProjectSettings& file);

// For a run: the project file for PARSED's options, if any, read, consented to and merged.
// Throws Error (exit 125) for a bad file and for one that needs consent it lacks.
void apply_project_file(ParsedRun& parsed, const TrustStore& store);

// "NAME VALUE" for every setting (each item of a list) and where it came from ("command
// line", "default", "FILE:LINE"), for doctor.
std::vector<std::pair<std::string, std::string>> describe_settings(const RunOptions& options);

}  // namespace execvm
