#include "initramfs/elf_deps.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <map>
#include <set>

#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using Kind = HostEntry::Kind;

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// What every closure must satisfy: no duplicates, each parent a directory listed earlier, files
// and symlinks as the host (under SYSROOT) has them.
void check_consistent(const std::vector<HostEntry>& entries, const std::string& sysroot = "") {
  std::map<std::string, Kind> seen;
  for (const auto& e : entries) {
    ASSERT_TRUE(e.path.starts_with('/')) << e.path;
    EXPECT_FALSE(seen.count(e.path)) << "duplicate " << e.path;
    std::string parent = dir_of(e.path);
    if (parent != "/") {
      ASSERT_TRUE(seen.count(parent)) << e.path << " comes before its parent";
      EXPECT_EQ(seen[parent], Kind::kDirectory) << parent;
    }
    seen[e.path] = e.kind;
    struct stat st;
    ASSERT_EQ(::lstat((sysroot + e.path).c_str(), &st), 0) << e.path;
    switch (e.kind) {
      case Kind::kDirectory:
        EXPECT_TRUE(S_ISDIR(st.st_mode)) << e.path;
        break;
      case Kind::kFile:
        EXPECT_TRUE(S_ISREG(st.st_mode)) << e.path;
        EXPECT_EQ(e.source, sysroot + e.path);
        break;
      case Kind::kSymlink: {
        ASSERT_TRUE(S_ISLNK(st.st_mode)) << e.path;
        char buf[4096];
        ssize_t n = ::readlink((sysroot + e.path).c_str(), buf, sizeof buf);
        EXPECT_EQ(std::string(buf, n > 0 ? n : 0), e.target) << e.path;
        break;
      }
    }
  }
}

std::set<std::string> files(const std::vector<HostEntry>& entries) {
  std::set<std::string> out;
  for (const auto& e : entries)
    if (e.kind == Kind::kFile) out.insert(e.path);
  return out;
}

const HostEntry* find(const std::vector<HostEntry>& entries, const std::string& path) {
  for (const auto& e : entries)
    if (e.path == path) return &e;
  return nullptr;
}

// The real file PATH ends at on the host (for expectations that hold on any merged-/usr host).
std::string real(const std::string& path) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) throw_errno("realpath " + path);
  return buf;
}

int exit_code_of(const std::string& program, const LoaderSearch& search = {}) {
  try {
    program_closure(program, search);
  } catch (const Error& e) {
    return e.exit_code();
  }
  return 0;
}

// ---- The host's own programs ----

TEST(Closure, ShellNeedsLibcAndTheLoader) {
  auto entries = program_closure("/bin/sh", {});
  check_consistent(entries);
  auto f = files(entries);
  EXPECT_TRUE(f.count(real("/bin/sh")));
  EXPECT_TRUE(f.count(real("/lib/x86_64-linux-gnu/libc.so.6")));
  EXPECT_TRUE(f.count(real("/lib64/ld-linux-x86-64.so.2")));
  // Each needed path resolves through the same symlinks as on the host.
  ASSERT_TRUE(find(entries, "/bin"));
  if (find(entries, "/bin")->kind == Kind::kSymlink) {
    EXPECT_EQ(find(entries, "/bin")->target, "usr/bin");
  }
  ASSERT_TRUE(find(entries, "/lib64"));
}

TEST(Closure, LsNeedsSelinuxAndPcre) {
  auto entries = program_closure("/usr/bin/ls", {});
  check_consistent(entries);
  std::set<std::string> names;  // of files and symlinks: libpcre2-8.so.0 is a symlink
  for (const auto& e : entries) names.insert(e.path.substr(e.path.rfind('/') + 1));
  EXPECT_TRUE(names.count("libselinux.so.1"));
  EXPECT_TRUE(names.count("libpcre2-8.so.0"));
  EXPECT_TRUE(names.count("libc.so.6"));
  EXPECT_TRUE(names.count("ls"));
}

TEST(Closure, WcIsCoveredByLdd) {
  // Every library ldd lists is in the closure.
  auto entries = program_closure("/usr/bin/wc", {});
  check_consistent(entries);
  auto ldd = run_capture({"ldd", "/usr/bin/wc"});
  if (ldd.status != 0) GTEST_SKIP() << "ldd does not work here";
  for (const auto& line : split(ldd.output, '\n')) {
    size_t arrow = line.find("=> /");
    if (arrow == std::string::npos) continue;
    std::string path = line.substr(arrow + 3, line.find(" (", arrow) - arrow - 3);
    EXPECT_TRUE(files(entries).count(real(path))) << path << " (from ldd) is missing";
  }
}

TEST(Closure, TheLoaderItselfIsJustItsPath) {
  auto entries = program_closure("/lib64/ld-linux-x86-64.so.2", {});
  check_consistent(entries);
  EXPECT_EQ(files(entries), std::set<std::string>{real("/lib64/ld-linux-x86-64.so.2")});
  // The first step is /lib64 itself, whatever it is on this host.
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries[0].path, "/lib64");
  // Every program's closure holds the loader's closure: the same path resolves the same way.
  auto sh = program_closure("/bin/sh", {});
  for (const auto& e : entries) {
    const HostEntry* same = find(sh, e.path);
    ASSERT_TRUE(same) << e.path;
    EXPECT_EQ(same->kind, e.kind) << e.path;
    EXPECT_EQ(same->target, e.target) << e.path;
  }
}

TEST(Closure, StaticPieNeedsOnlyItself) {
  auto entries = program_closure("/usr/sbin/ldconfig", {});
  check_consistent(entries);
  EXPECT_EQ(files(entries), std::set<std::string>{real("/usr/sbin/ldconfig")});
}

// ---- Scripts ----

TEST(Closure, ScriptNeedsItsInterpreter) {
  testing::TempDir dir;
  std::string script = dir.write("hello", "#! /bin/sh -e\necho hello\n", 0755);
  auto entries = program_closure(script, {});
  check_consistent(entries);
  auto f = files(entries);
  EXPECT_TRUE(f.count(real(script)));
  EXPECT_TRUE(f.count(real("/bin/sh")));
  EXPECT_TRUE(f.count(real("/lib/x86_64-linux-gnu/libc.so.6")));
}

TEST(Closure, EnvScriptNeedsItsCommandFromPath) {
  testing::TempDir dir;
  dir.mkdir("bin");
  dir.mkdir("other");
  dir.write("other/tool", "#!/bin/sh\n", 0755);  // later in PATH: not the one env runs
  dir.write("bin/tool", "#!/bin/sh\n", 0755);
  dir.write("bin/skipped", "#!/bin/sh\n", 0644);  // not executable: execvp searches on
  dir.write("other/skipped", "#!/bin/sh\n", 0755);
  LoaderSearch search;
  search.path = "/nonexistent:" + (dir / "bin") + ":" + (dir / "other");
  auto closure_of = [&](const std::string& line) {
    auto entries = program_closure(dir.write("script", line + "\necho\n", 0755), search);
    check_consistent(entries);
    return files(entries);
  };
  auto f = closure_of("#!/usr/bin/env tool");
  EXPECT_TRUE(f.count(real("/usr/bin/env")));
  EXPECT_TRUE(f.count(real(dir / "bin/tool")));
  EXPECT_FALSE(f.count(real(dir / "other/tool")));
  EXPECT_TRUE(f.count(real("/bin/sh")));  // the command's own interpreter
  EXPECT_TRUE(closure_of("#!/usr/bin/env skipped").count(real(dir / "other/skipped")));
  // env -S: the first word that is neither an option nor an assignment.
  f = closure_of("#!/usr/bin/env -S -i NAME=value tool -x");
  EXPECT_TRUE(f.count(real(dir / "bin/tool")));
  // An ELF command, with its libraries.
  search.path = "/usr/bin";
  std::set<std::string> names;  // of files and symlinks
  for (const auto& e : program_closure(dir.write("ls", "#!/usr/bin/env ls\n", 0755), search))
    names.insert(e.path.substr(e.path.rfind('/') + 1));
  EXPECT_TRUE(names.count("ls"));
  EXPECT_TRUE(names.count("libselinux.so.1"));
}

TEST(Closure, EnvCommandNotFoundIsLeftToEnv) {
  testing::TempDir dir;
  LoaderSearch search;
  search.path = dir.path();
  for (const char* line : {"#!/usr/bin/env no-such-command", "#!/usr/bin/env", "#!/usr/bin/env -S",
                           "#!/usr/bin/env A=1", "#!/usr/bin/env ./no-such-command"}) {
    std::string script = dir.write("script", std::string(line) + "\n", 0755);
    auto f = files(program_closure(script, search));
    EXPECT_TRUE(f.count(real("/usr/bin/env"))) << line;
    EXPECT_EQ(f.size(), files(program_closure("/usr/bin/env", {})).size() + 1) << line;
  }
}

TEST(Closure, EnvCommandsRelativeAndInLoops) {
  testing::TempDir dir;
  dir.mkdir("work");
  dir.write("work/helper", "#!/bin/sh\n", 0755);
  LoaderSearch search;
  search.cwd = dir / "work";
  search.path = dir.path();
  // Relative to the command's directory, as env runs it there: the script too.
  dir.write("work/script", "#!/usr/bin/env ./helper\n", 0755);
  EXPECT_TRUE(files(program_closure("./script", search)).count(real(dir / "work/helper")));
  // A script env runs again and again is packed once (it loops on the host too).
  dir.write("again", "#!/usr/bin/env again\n", 0755);
  EXPECT_TRUE(files(program_closure(dir / "again", search)).count(real(dir / "again")));
}

TEST(Closure, ScriptChains) {
  testing::TempDir dir;
  dir.write("one", "#!/bin/sh\n", 0755);
  dir.write("two", "#!" + (dir / "one") + "\n", 0755);
  auto f = files(program_closure(dir / "two", {}));
  EXPECT_TRUE(f.count(real(dir / "one")));
  EXPECT_TRUE(f.count(real("/bin/sh")));
  // A script that is its own interpreter goes round until the kernel's limit.
  dir.write("self", "#!" + (dir / "self") + "\n", 0755);
  EXPECT_EQ(exit_code_of(dir / "self"), kExitCannotInvoke);
}

TEST(Closure, BadProgramsCannotBeInvoked) {
  testing::TempDir dir;
  EXPECT_EQ(exit_code_of(dir.write("text", "just text\n", 0755)), kExitCannotInvoke);
  EXPECT_EQ(exit_code_of(dir.write("empty", "", 0755)), kExitCannotInvoke);
  EXPECT_EQ(exit_code_of(dir.write("noint", "#!\n", 0755)), kExitCannotInvoke);
  // A missing interpreter: ENOENT, which a local exec reports as 127.
  EXPECT_EQ(exit_code_of(dir.write("badint", "#!/no/such/shell\n", 0755)), kExitNotFound);
  EXPECT_EQ(exit_code_of(dir.write("relint", "#!sh\n", 0755)), kExitCannotInvoke);
  EXPECT_EQ(exit_code_of(dir.write("long", "#!/" + std::string(300, 'x'), 0755)),
            kExitCannotInvoke);
  EXPECT_EQ(exit_code_of(dir / "missing"), kExitCannotInvoke);
  EXPECT_EQ(exit_code_of(dir.path()), kExitCannotInvoke);
  EXPECT_EQ(exit_code_of(dir.write("trunc", read_file("/usr/bin/ls").substr(0, 200), 0755)),
            kExitCannotInvoke);
  try {
    program_closure(dir / "text", {});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an ELF binary or #! script"), std::string::npos);
  }
  EXPECT_EQ(exit_code_of(dir.write("plain", "#!/bin/sh\n", 0644)), kExitCannotInvoke);
  if (::geteuid() != 0) {
    std::string locked = dir.write("locked", "#!/bin/sh\n", 0);
    EXPECT_EQ(exit_code_of(locked), kExitCannotInvoke);
  }
  EXPECT_THROW(program_closure("relative/path", {}), Error);
}

// The words of exec_failure.h, as the guest says them when the exec fails there.
TEST(Closure, BadInterpretersInAShellsWords) {
  testing::TempDir dir;
  LoaderSearch search;
  search.cwd = dir.path();
  // A missing interpreter is 127, as a local exec's ENOENT; the others 126.
  auto words = [&](const std::string& program) {
    try {
      program_closure(program, search);
    } catch (const Error& e) {
      bool missing = std::string(e.what()).ends_with("No such file or directory");
      EXPECT_EQ(e.exit_code(), missing ? kExitNotFound : kExitCannotInvoke) << e.what();
      return std::string(e.what());
    }
    return std::string("no error");
  };
  dir.write("missing", "#!/no/such -x\n", 0755);
  EXPECT_EQ(words("./missing"), "./missing: /no/such: bad interpreter: No such file or directory");
  dir.write("plain", "echo\n", 0644);
  dir.write("locked", "#!" + (dir / "plain") + "\n", 0755);
  EXPECT_EQ(words("./locked"),
            "./locked: " + (dir / "plain") + ": bad interpreter: Permission denied");
  dir.mkdir("sub");
  dir.write("dir", "#!" + (dir / "sub") + "\n", 0755);
  EXPECT_EQ(words(dir / "dir"),
            dir / "dir" + ": " + (dir / "sub") + ": bad interpreter: Permission denied");
  // Deeper in a chain: the script run and the interpreter its own line names.
  dir.write("chain", "#!" + (dir / "missing") + "\n", 0755);
  EXPECT_EQ(words("./chain"),
            "./chain: " + (dir / "missing") + ": bad interpreter: No such file or directory");
}

// ---- A fake tree under a sysroot ----

// Minimal ELF files for a sysroot: built with cc, without the C library so that they need only
// what the test says.
class ClosureFakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_cc()) GTEST_SKIP() << "no C compiler";
    build_.write("empty.c", "int nothing;\n");
    build_.write("start.c", "void _start(void) {}\n");
    // A stand-in for ld.so, with its soname.
    lib("ld.so", {"-Wl,-soname,ld-linux-x86-64.so.2"});
    root_.mkdir("lib64");
    copy("ld.so", "/lib64/ld-linux-x86-64.so.2");
    for (const char* d : {"/usr", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/bin", "/opt"})
      root_.mkdir(std::string(d).substr(1));
    search_.sysroot = root_.path();
    search_.ld_so_cache = "/etc/ld.so.cache";
  }

  // Builds the shared library NAME from empty.c with extra linker ARGS.
  void lib(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> all{"-shared", "-fPIC", "-nostdlib", "-o", name, "empty.c"};
    all.insert(all.end(), {"-L.", "-Wl,--no-as-needed"});
    all.insert(all.end(), args.begin(), args.end());
    testing::cc(build_, all);
  }
  // Builds the program NAME from start.c with extra linker ARGS.
  void program(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> all{"-nostdlib", "-o", name, "start.c", "-L.", "-Wl,--no-as-needed"};
    all.push_back("-Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2");
    all.insert(all.end(), args.begin(), args.end());
    testing::cc(build_, all);
  }
  // Copies the built file NAME to PATH in the sysroot.
  void copy(const std::string& name, const std::string& path) {
    root_.write(path.substr(1), read_file(build_ / name), 0755);
  }

  testing::TempDir build_, root_;
  LoaderSearch search_;
};

TEST_F(ClosureFakeTree, SymlinksAreReproducedInsideTheSysroot) {
  copy("ld.so", "/usr/bin/real-tool");                 // any ELF without PT_INTERP will do
  root_.symlink("bin", "usr/bin");                     // a relative directory symlink
  root_.symlink("usr/bin/tool", "/usr/bin/stage");     // absolute: must stay in the sysroot
  root_.symlink("usr/bin/stage", "../bin/real-tool");  // relative, with ..
  auto entries = program_closure("/bin/tool", search_);
  check_consistent(entries, root_.path());
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].path, "/bin");
  EXPECT_EQ(entries[0].kind, Kind::kSymlink);
  EXPECT_EQ(entries[0].target, "usr/bin");
  EXPECT_EQ(entries[1].path, "/usr");
  EXPECT_EQ(entries[2].path, "/usr/bin");
  EXPECT_EQ(entries[3].path, "/usr/bin/tool");
  EXPECT_EQ(entries[3].target, "/usr/bin/stage");
  EXPECT_EQ(entries[4].path, "/usr/bin/stage");
  EXPECT_EQ(entries[5].path, "/usr/bin/real-tool");
  EXPECT_EQ(entries[5].kind, Kind::kFile);
  EXPECT_EQ(entries[5].source, root_ / "usr/bin/real-tool");
}

TEST_F(ClosureFakeTree, SymlinkLoopsThrow) {
  root_.symlink("a", "b");
  root_.symlink("b", "/a");
  root_.symlink("opt/loop", "loop/x");  // relative, through itself
  EXPECT_THROW(program_closure("/a", search_), Error);
  EXPECT_THROW(program_closure("/opt/loop", search_), Error);
  // A long but finite chain is fine up to the kernel's 40 links.
  copy("ld.so", "/opt/end");
  std::string prev = "/opt/end";
  for (int i = 0; i < 39; ++i) {
    std::string link = "opt/l" + std::to_string(i);
    root_.symlink(link, prev);
    prev = "/" + link;
  }
  EXPECT_NO_THROW(program_closure(prev, search_));
  root_.symlink("opt/l39", prev);
  EXPECT_NO_THROW(program_closure("/opt/l39", search_));
  root_.symlink("opt/l40", "/opt/l39");
  EXPECT_THROW(program_closure("/opt/l40", search_), Error);
}

TEST_F(ClosureFakeTree, BadInterpretersCannotBeInvoked) {
  program("prog", {});
  copy("prog", "/usr/bin/prog");
  EXPECT_EQ(exit_code_of("/usr/bin/prog", search_), 0);
  root_.write("lib64/ld-linux-x86-64.so.2", "garbage");
  EXPECT_EQ(exit_code_of("/usr/bin/prog", search_), kExitCannotInvoke);
  ::unlink((root_ / "lib64/ld-linux-x86-64.so.2").c_str());
  EXPECT_EQ(exit_code_of("/usr/bin/prog", search_), kExitCannotInvoke);
  root_.symlink("lib64/ld-linux-x86-64.so.2", "ld-linux-x86-64.so.2");  // itself
  EXPECT_EQ(exit_code_of("/usr/bin/prog", search_), kExitCannotInvoke);
}

TEST_F(ClosureFakeTree, SkipsA32BitLibraryFoundFirst) {
  lib("libfoo.so", {});
  program("prog", {"-lfoo"});
  copy("prog", "/usr/bin/prog");
  root_.symlink("lib", "usr/lib");
  Elf32_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS32;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_machine = EM_386;
  eh.e_type = ET_DYN;
  root_.mkdir("usr/lib/i386");
  root_.write("usr/lib/i386/libfoo.so", std::string(reinterpret_cast<char*>(&eh), sizeof eh));
  copy("libfoo.so", "/usr/lib/libfoo.so");
  search_.system_dirs = {"/usr/lib/i386", "/lib"};
  auto entries = program_closure("/usr/bin/prog", search_);
  check_consistent(entries, root_.path());
  EXPECT_EQ(files(entries), (std::set<std::string>{"/usr/bin/prog", "/usr/lib/libfoo.so",
                                                   "/lib64/ld-linux-x86-64.so.2"}))
      << "got the wrong libfoo.so";
}

TEST_F(ClosureFakeTree, MissingAndGarbageLibrariesThrow) {
  lib("libfoo.so", {});
  program("prog", {"-lfoo"});
  copy("prog", "/usr/bin/prog");
  try {
    program_closure("/usr/bin/prog", search_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_NE(std::string(e.what()).find("/usr/bin/prog needs libfoo.so"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("/usr/lib/x86_64-linux-gnu"), std::string::npos)
        << e.what();
  }
  root_.write("usr/lib/x86_64-linux-gnu/libfoo.so", "garbage, not ELF");
  copy("libfoo.so", "/usr/lib/libfoo.so");
  EXPECT_THROW(program_closure("/usr/bin/prog", search_), Error);  // ld.so stops there too
}

TEST_F(ClosureFakeTree, RpathIsInheritedRunpathIsNot) {
  lib("libb.so", {});
  lib("liba.so", {"-lb"});
  program("rprog", {"-la", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/r"});
  program("uprog", {"-la", "-Wl,--enable-new-dtags", "-Wl,-rpath,/opt/r"});
  copy("rprog", "/usr/bin/rprog");
  copy("uprog", "/usr/bin/uprog");
  root_.mkdir("opt/r");
  copy("liba.so", "/opt/r/liba.so");
  copy("libb.so", "/opt/r/libb.so");
  // DT_RPATH of the program serves liba's needs too.
  auto f = files(program_closure("/usr/bin/rprog", search_));
  EXPECT_TRUE(f.count("/opt/r/libb.so"));
  // DT_RUNPATH serves only the program's own needs: libb is not found.
  EXPECT_THROW(program_closure("/usr/bin/uprog", search_), Error);
  // ... unless LD_LIBRARY_PATH has it.
  LoaderSearch with_llp = search_;
  with_llp.ld_library_path = {"/opt/r"};
  EXPECT_TRUE(files(program_closure("/usr/bin/uprog", with_llp)).count("/opt/r/libb.so"));
}

TEST_F(ClosureFakeTree, SearchOrder) {
  lib("libfoo.so", {});
  program("rprog", {"-lfoo", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/rpath"});
  program("uprog", {"-lfoo", "-Wl,--enable-new-dtags", "-Wl,-rpath,/opt/runpath"});
  copy("rprog", "/usr/bin/rprog");
  copy("uprog", "/usr/bin/uprog");
  for (const char* d : {"/opt/rpath", "/opt/runpath", "/opt/llp", "/opt/cached"}) {
    root_.mkdir(std::string(d).substr(1));
    copy("libfoo.so", std::string(d) + "/libfoo.so");
  }
  copy("libfoo.so", "/usr/lib/x86_64-linux-gnu/libfoo.so");
  auto has = [&](const std::string& program, const LoaderSearch& s, const std::string& path) {
    return files(program_closure(program, s)).count(path) > 0;
  };
  LoaderSearch llp = search_;
  llp.ld_library_path = {"/opt/llp"};
  EXPECT_TRUE(has("/usr/bin/rprog", llp, "/opt/rpath/libfoo.so"));  // RPATH before LLP
  EXPECT_TRUE(has("/usr/bin/uprog", llp, "/opt/llp/libfoo.so"));    // LLP before RUNPATH
  EXPECT_TRUE(has("/usr/bin/uprog", search_, "/opt/runpath/libfoo.so"));
  ::unlink((root_ / "opt/runpath/libfoo.so").c_str());
  EXPECT_TRUE(has("/usr/bin/uprog", search_, "/usr/lib/x86_64-linux-gnu/libfoo.so"));
  // The cache comes before the system directories.
  root_.mkdir("etc");
  root_.write("etc/ld.so.cache",
              testing::make_ld_cache({{0x0303, "libfoo.so", "/opt/cached/libfoo.so"}}));
  EXPECT_TRUE(has("/usr/bin/uprog", search_, "/opt/cached/libfoo.so"));
}

TEST_F(ClosureFakeTree, NoDefaultLibSkipsCacheAndSystemDirs) {
  lib("libfoo.so", {});
  program("prog", {"-lfoo", "-Wl,-z,nodefaultlib"});
  copy("prog", "/usr/bin/prog");
  copy("libfoo.so", "/usr/lib/x86_64-linux-gnu/libfoo.so");
  EXPECT_THROW(program_closure("/usr/bin/prog", search_), Error);
}

TEST_F(ClosureFakeTree, LibrariesAreLoadedOncePerSoname) {
  lib("libfoo.so", {"-Wl,-soname,libfoo.so.1"});
  lib("libbar.so", {"-lfoo", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/other"});
  program("prog", {"-lfoo", "-lbar", "-Wl,-rpath,/opt/first"});
  copy("prog", "/usr/bin/prog");
  root_.mkdir("opt/first");
  root_.mkdir("opt/other");
  copy("libfoo.so", "/opt/first/libfoo.so.1");
  copy("libbar.so", "/opt/first/libbar.so");
  copy("libfoo.so", "/opt/other/libfoo.so.1");
  auto f = files(program_closure("/usr/bin/prog", search_));
  EXPECT_TRUE(f.count("/opt/first/libfoo.so.1"));
  EXPECT_FALSE(f.count("/opt/other/libfoo.so.1")) << "libbar's libfoo.so.1 is already loaded";
}

TEST_F(ClosureFakeTree, InterpreterAnswersToItsSoname) {
  lib("libc.so", {"-l:ld.so", "-Wl,-soname,libc.so.6"});  // needs ld-linux-x86-64.so.2
  program("prog", {"-lc"});
  copy("prog", "/usr/bin/prog");
  copy("libc.so", "/usr/lib/x86_64-linux-gnu/libc.so.6");
  // Were ld-linux-x86-64.so.2 searched, this copy in a system directory would be found.
  copy("ld.so", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  auto f = files(program_closure("/usr/bin/prog", search_));
  EXPECT_EQ(f, (std::set<std::string>{"/usr/bin/prog", "/lib64/ld-linux-x86-64.so.2",
                                      "/usr/lib/x86_64-linux-gnu/libc.so.6"}));
}

TEST_F(ClosureFakeTree, DynamicStringTokens) {
  lib("libfoo.so", {});
  program("prog",
          {"-lfoo", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/$LIB/${PLATFORM}:/none/$UNKNOWN"});
  copy("prog", "/usr/bin/prog");
  root_.mkdir("opt/lib");
  root_.mkdir("opt/lib/x86_64-linux-gnu");
  root_.mkdir("opt/lib/x86_64-linux-gnu/x86_64");
  copy("libfoo.so", "/opt/lib/x86_64-linux-gnu/x86_64/libfoo.so");
  EXPECT_TRUE(files(program_closure("/usr/bin/prog", search_))
                  .count("/opt/lib/x86_64-linux-gnu/x86_64/libfoo.so"));
  // $ORIGIN in LD_LIBRARY_PATH is the program's directory.
  program("plain", {"-lfoo"});
  copy("plain", "/usr/bin/plain");
  LoaderSearch llp = search_;
  llp.ld_library_path = {"${ORIGIN}/../lib/here"};
  root_.mkdir("usr/lib/here");
  copy("libfoo.so", "/usr/lib/here/libfoo.so");
  EXPECT_TRUE(files(program_closure("/usr/bin/plain", llp)).count("/usr/lib/here/libfoo.so"));
  // $ORIGINAL is no token: kept as written, so the directory is not found.
  llp.ld_library_path = {"$ORIGINAL"};
  EXPECT_THROW(program_closure("/usr/bin/plain", llp), Error);
}

// ---- Real fixtures built against the host's C library ----

TEST(Closure, OriginRpathFollowsTheRealProgram) {
  if (!testing::have_cc()) GTEST_SKIP() << "no C compiler";
  testing::TempDir dir;
  dir.mkdir("app");
  dir.mkdir("app/lib");
  dir.write("hello.c", "int hello(void) { return 42; }\n");
  dir.write("main.c", "int hello(void);\nint main(void) { return hello() - 42; }\n");
  testing::cc(dir, {"-shared", "-fPIC", "-o", "app/lib/libhello.so", "hello.c"});
  testing::cc(dir, {"-o", "app/main", "main.c", "-Lapp/lib", "-lhello", "-Wl,-rpath,$ORIGIN/lib"});
  auto run = run_capture({dir / "app/main"});
  EXPECT_EQ(run.status, 0) << "the fixture does not run";
  // Called through a symlink elsewhere, $ORIGIN is still the real program's directory.
  dir.symlink("launcher", dir / "app/main");
  auto entries = program_closure(dir / "launcher", {});
  check_consistent(entries);
  auto f = files(entries);
  EXPECT_TRUE(f.count(real(dir / "app/lib/libhello.so")));
  EXPECT_TRUE(f.count(real("/lib/x86_64-linux-gnu/libc.so.6")));
  const HostEntry* link = find(entries, real(dir.path()) + "/launcher");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->kind, Kind::kSymlink);
}

TEST(Closure, NeededWithASlashIsAPath) {
  if (!testing::have_cc()) GTEST_SKIP() << "no C compiler";
  testing::TempDir dir;
  dir.write("hello.c", "int hello(void) { return 0; }\n");
  dir.write("main.c", "int hello(void);\nint main(void) { return hello(); }\n");
  testing::cc(dir, {"-shared", "-fPIC", "-o", "libhello.so", "hello.c"});  // no soname
  testing::cc(dir, {"-o", "main", "main.c", dir / "libhello.so"});
  auto f = files(program_closure(dir / "main", {}));
  EXPECT_TRUE(f.count(real(dir / "libhello.so")));
}

TEST(Closure, SplitsLibraryPathLikeLdSo) {
  EXPECT_EQ(split_library_path("/a:/b;/c::"), (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_TRUE(split_library_path("").empty());
}

}  // namespace
}  // namespace execvm
