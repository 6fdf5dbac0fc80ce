// TempTree: a directory, with everything in it, that goes when its owner does: a kernel build's
// tree, a test's scratch directory.
#pragma once

#include <string>

namespace execvm {

class TempTree {
 public:
  // Creates a fresh directory named PREFIX followed by six random characters (mkdtemp).
  explicit TempTree(const std::string& prefix);
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& path() const { return path_; }
  // Removes the tree now (best effort, like the destructor).
  void remove();
  // Gives up ownership: the directory stays.
  void release() { path_.clear(); }

 private:
  std::string path_;
};

// Removes PATH and everything under it; false when something was left.
bool remove_tree(const std::string& path);

}  // namespace execvm
