#include "util/temp_tree.h"

#include <poll.h>
#include <stdlib.h>

#include <filesystem>

#include "util/error.h"

namespace execvm {

TempTree::TempTree(const std::string& prefix) {
  std::string name = prefix + "XXXXXX";
  if (!::mkdtemp(name.data())) throw_errno("cannot create a directory " + name);
  path_ = std::move(name);
}

TempTree::~TempTree() {
  remove();
}

void TempTree::remove() {
  if (path_.empty()) return;
  // A process of a stopped build may still be finishing a write: try again briefly.
  for (int attempt = 0; attempt < 5 && !remove_tree(path_); ++attempt) ::poll(nullptr, 0, 200);
  path_.clear();
}

bool remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  return !ec && !std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

}  // namespace execvm
