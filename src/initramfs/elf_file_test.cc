#include "initramfs/elf_file.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "util/error.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

// The smallest file an ELF reader takes for a 32-bit i386 library: just the ELF header.
std::string elf32_header() {
  Elf32_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS32;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_386;
  eh.e_version = EV_CURRENT;
  eh.e_ehsize = sizeof eh;
  return std::string(reinterpret_cast<const char*>(&eh), sizeof eh);
}

TEST(Elf, ReadsADynamicProgram) {
  ElfInfo ls = read_elf("/usr/bin/ls");
  EXPECT_TRUE(ls.is_x86_64());
  EXPECT_EQ(ls.interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_TRUE(ls.has_dynamic);
  EXPECT_NE(std::find(ls.needed.begin(), ls.needed.end(), "libc.so.6"), ls.needed.end());
  EXPECT_NE(std::find(ls.needed.begin(), ls.needed.end(), "libselinux.so.1"), ls.needed.end());
}

TEST(Elf, ReadsLibcAndTheLoader) {
  ElfInfo ld = read_elf("/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(ld.soname, "ld-linux-x86-64.so.2");
  EXPECT_FALSE(ld.interpreter);
  EXPECT_TRUE(ld.needed.empty());
  ElfInfo libc = read_elf("/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(libc.soname, "libc.so.6");
  EXPECT_EQ(libc.needed, std::vector<std::string>{"ld-linux-x86-64.so.2"});
}

TEST(Elf, ReadsAStaticPie) {
  ElfInfo ldconfig = read_elf("/usr/sbin/ldconfig");  // static-pie on Debian 12
  EXPECT_TRUE(ldconfig.is_x86_64());
  EXPECT_EQ(ldconfig.type, ET_DYN);
  EXPECT_FALSE(ldconfig.interpreter);
  EXPECT_TRUE(ldconfig.needed.empty());
}

TEST(Elf, ReadsRpathRunpathSonameAndFlags) {
  if (!testing::have_cc()) GTEST_SKIP() << "no C compiler";
  testing::TempDir dir;
  dir.write("f.c", "int f(void) { return 1; }\n");
  testing::cc(dir, {"-shared", "-fPIC", "-o", "libr.so", "f.c", "-Wl,-soname,libr.so.7",
                    "-Wl,--disable-new-dtags", "-Wl,-rpath,/a:$ORIGIN/b", "-Wl,-z,nodefaultlib"});
  testing::cc(dir, {"-shared", "-fPIC", "-o", "libu.so", "f.c", "-Wl,--enable-new-dtags",
                    "-Wl,-rpath,${ORIGIN}/u"});
  ElfInfo r = read_elf(dir / "libr.so");
  EXPECT_EQ(r.soname, "libr.so.7");
  EXPECT_EQ(r.rpath, "/a:$ORIGIN/b");
  EXPECT_FALSE(r.runpath);
  EXPECT_TRUE(r.flags_1 & DF_1_NODEFLIB);
  ElfInfo u = read_elf(dir / "libu.so");
  EXPECT_EQ(u.runpath, "${ORIGIN}/u");
  EXPECT_FALSE(u.rpath);
  EXPECT_FALSE(u.soname);
}

TEST(Elf, Reads32BitHeadersOnlyToRejectThem) {
  testing::TempDir dir;
  ElfInfo info = read_elf(dir.write("lib32.so", elf32_header()));
  EXPECT_EQ(info.elf_class, ELFCLASS32);
  EXPECT_EQ(info.machine, EM_386);
  EXPECT_FALSE(info.is_x86_64());
}

TEST(Elf, GarbageAndTruncatedFilesThrow) {
  testing::TempDir dir;
  std::string ls = read_file("/usr/bin/ls");
  EXPECT_THROW(read_elf(dir.write("empty", "")), Error);
  EXPECT_THROW(read_elf(dir.write("text", "hello, world\n")), Error);
  EXPECT_THROW(read_elf(dir.write("magic-only",
                                  "\x7f"
                                  "ELF")),
               Error);
  EXPECT_THROW(read_elf(dir.write("head", ls.substr(0, 100))), Error);   // headers cut off
  EXPECT_THROW(read_elf(dir.write("half", ls.substr(0, 4096))), Error);  // tables cut off
  EXPECT_THROW(read_elf(dir / "missing"), Error);
  EXPECT_THROW(read_elf(dir.path()), Error);  // a directory
  try {
    read_elf(dir / "text");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "text"), std::string::npos) << e.what();
  }
}

// Random damage to a real binary must give a result or an Error, never a crash or a hang.
TEST(Elf, SurvivesRandomDamage) {
  testing::TempDir dir;
  const std::string original = read_file("/usr/bin/ls");
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::string data = original;
    int flips = 1 + static_cast<int>(rng() % 16);
    for (int i = 0; i < flips; ++i) {
      // Mostly in the headers and early tables, where the offsets live.
      size_t at = rng() % (round % 2 ? 4096 : data.size());
      data[at] = static_cast<char>(rng());
    }
    if (round % 5 == 0) data.resize(rng() % data.size());
    std::string path = dir.write("damaged", data);
    try {
      read_elf(path);
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace execvm
