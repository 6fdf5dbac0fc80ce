// Consent to a project file: a repository's .execvm.toml may ask for more than its own work
// tree (root in the guest, volumes from elsewhere on the host), and a clone of someone else's
// repository must not get that by being run in. The user's consent is remembered per file and
// content, so that an edited file asks again.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace execvm {

// Where consent is kept: ${XDG_DATA_HOME:-$HOME/.local/share}/execvm/trusted.
std::string default_trust_dir();

// A project file's path as consent names it: absolute, its directory canonical (a symlink named
// .execvm.toml is trusted where it is, not where it points: its relative paths are relative to
// where it is).
std::string trust_name(const std::string& path);

// One consent: a record per file and content, named by the hash of both and holding the path.
class TrustStore {
 public:
  explicit TrustStore(std::string dir) : dir_(std::move(dir)) {}

  // Whether the user consented to FILE (a trust_name) holding CONTENT.
  bool trusts(const std::string& file, std::string_view content) const;
  // Remembers consent to FILE holding CONTENT (and forgets it for its other contents). The
  // record is written under a temporary name and renamed, so that it is whole or absent.
  void trust(const std::string& file, std::string_view content);
  // Forgets FILE, whatever it held. False when it was not trusted.
  bool revoke(const std::string& file);
  // The trusted files, sorted.
  std::vector<std::string> list() const;

 private:
  // The records' names by the file each one is for.
  std::vector<std::pair<std::string, std::string>> records() const;
  std::string dir_;
};

}  // namespace execvm
