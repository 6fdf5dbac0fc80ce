#include "config/trust.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "util/paths.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::TempDir;

TEST(TrustStore, TrustIsForOneContent) {
  TempDir t;
  TrustStore store(t / "data/execvm/trusted");  // made when first needed
  EXPECT_TRUE(store.list().empty());
  EXPECT_FALSE(store.trusts("/p/.execvm.toml", "sudo = true\n"));
  store.trust("/p/.execvm.toml", "sudo = true\n");
  EXPECT_TRUE(store.trusts("/p/.execvm.toml", "sudo = true\n"));
  // A changed file, or the same content elsewhere, asks again.
  EXPECT_FALSE(store.trusts("/p/.execvm.toml", "sudo = true\n# edited\n"));
  EXPECT_FALSE(store.trusts("/q/.execvm.toml", "sudo = true\n"));
  EXPECT_EQ(store.list(), std::vector<std::string>{"/p/.execvm.toml"});
  // Trusting the new content replaces the old: one record a file.
  store.trust("/p/.execvm.toml", "sudo = true\n# edited\n");
  EXPECT_TRUE(store.trusts("/p/.execvm.toml", "sudo = true\n# edited\n"));
  EXPECT_FALSE(store.trusts("/p/.execvm.toml", "sudo = true\n"));
  store.trust("/q/.execvm.toml", "");
  EXPECT_EQ(store.list(), (std::vector<std::string>{"/p/.execvm.toml", "/q/.execvm.toml"}));
  // Another store in the same place sees the same.
  EXPECT_TRUE(TrustStore(t / "data/execvm/trusted").trusts("/q/.execvm.toml", ""));
}

TEST(TrustStore, RevokeForgetsTheFile) {
  TempDir t;
  TrustStore store(t.path());
  store.trust("/p/.execvm.toml", "a");
  store.trust("/q/.execvm.toml", "b");
  EXPECT_TRUE(store.revoke("/p/.execvm.toml"));
  EXPECT_FALSE(store.trusts("/p/.execvm.toml", "a"));
  EXPECT_FALSE(store.revoke("/p/.execvm.toml"));  // already forgotten
  EXPECT_TRUE(store.trusts("/q/.execvm.toml", "b"));
  EXPECT_EQ(store.list(), std::vector<std::string>{"/q/.execvm.toml"});
}

TEST(TrustStore, RecordsAreWholeFilesNamedByHash) {
  TempDir t;
  TrustStore store(t.path());
  store.trust("/p/.execvm.toml", "a");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(t.path()))
    names.push_back(entry.path().filename().string());
  ASSERT_EQ(names.size(), 1u);  // no temporary left behind
  EXPECT_EQ(names[0].size(), 64u);
  EXPECT_EQ(read_file(t / names[0]), "/p/.execvm.toml\n");
}

TEST(TrustStore, DefaultDirectory) {
  const char* old_data = getenv("XDG_DATA_HOME");
  std::string saved = old_data ? old_data : "";
  setenv("XDG_DATA_HOME", "/x/data", 1);
  EXPECT_EQ(default_trust_dir(), "/x/data/execvm/trusted");
  setenv("XDG_DATA_HOME", "relative", 1);  // not absolute: ignored, as XDG says
  setenv("HOME", getenv("HOME") ? getenv("HOME") : "/root", 1);
  EXPECT_EQ(default_trust_dir(), std::string(getenv("HOME")) + "/.local/share/execvm/trusted");
  if (old_data)
    setenv("XDG_DATA_HOME", saved.c_str(), 1);
  else
    unsetenv("XDG_DATA_HOME");
}

TEST(TrustName, TheDirectoryIsCanonical) {
  TempDir t;
  std::string repo = canonical_path(t.mkdir("repo"));
  t.symlink("link", repo);
  EXPECT_EQ(trust_name(t / "link/.execvm.toml"), repo + "/.execvm.toml");
  // The file itself may be a symlink: it is named where it is.
  t.symlink("repo/.execvm.toml", "/etc/hostname");
  EXPECT_EQ(trust_name(t / "repo/.execvm.toml"), repo + "/.execvm.toml");
  EXPECT_EQ(trust_name("/no/such/dir/.execvm.toml"), "/no/such/dir/.execvm.toml");
}

}  // namespace
}  // namespace execvm
