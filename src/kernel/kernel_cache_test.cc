#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <cstring>

#include "kernel/build_process.h"
#include "kernel/kernel.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"
#include "util/temp_tree.h"

namespace execvm {
namespace {

using ::testing::HasSubstr;

std::string fake_bzimage() {
  std::string image(0x400, '\0');
  memcpy(image.data() + 0x202, "HdrS", 4);
  return image;
}

std::string fake_vmlinux(uint16_t machine = EM_X86_64, unsigned char elf_class = ELFCLASS64) {
  Elf64_Ehdr ehdr{};
  memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = elf_class;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_ident[EI_VERSION] = EV_CURRENT;
  ehdr.e_type = ET_EXEC;
  ehdr.e_machine = machine;
  std::string image(reinterpret_cast<const char*>(&ehdr), sizeof ehdr);
  image.resize(0x400, '\0');
  return image;
}

class KernelCacheTest : public ::testing::Test {
 protected:
  TempTree tmp{::testing::TempDir() + "execvm-kernel-test-"};
  std::string root = tmp.path();

  std::string file(const std::string& name, const std::string& data) {
    std::string path = root + "/" + name;
    make_dirs(path.substr(0, path.find_last_of('/')));
    write_file(path, data);
    return path;
  }

  // A cache entry ID with the given files; BUILT_AT goes into its info.json when not empty.
  void entry(const std::string& id, const std::string& hash, const std::string& built_at,
             bool vmlinux = true, bool bzimage = true) {
    if (vmlinux) file("kernels/" + id + "/vmlinux", fake_vmlinux());
    if (bzimage) file("kernels/" + id + "/bzImage", fake_bzimage());
    file("kernels/" + id + "/config", "# CONFIG_ACPI is not set\n");
    file("kernels/" + id + "/info.json", "{\"source_version\": \"6.12.1\", \"config_hash\": \"" +
                                             hash + "\", \"built_at\": \"" + built_at + "\"}");
  }
};

TEST_F(KernelCacheTest, AcceptsBzImageAndVmlinux) {
  Kernel bz = kernel_from_path(file("bzImage", fake_bzimage()));
  EXPECT_EQ(bz.path, root + "/bzImage");
  EXPECT_TRUE(bz.acpi);
  Kernel elf = kernel_from_path(file("vmlinux", fake_vmlinux()));
  EXPECT_EQ(elf.path, root + "/vmlinux");
  // No config beside it: an uncompressed kernel shows whether it has ACPI.
  EXPECT_FALSE(elf.acpi);
  EXPECT_TRUE(kernel_from_path(file("acpi/vmlinux", fake_vmlinux() + "ACPI: Core revision")).acpi);
}

TEST_F(KernelCacheTest, RejectsWhatIsNotAKernel) {
  auto message = [](const std::string& path) {
    try {
      kernel_from_path(path);
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  EXPECT_THAT(message(file("garbage", std::string(0x400, 'x'))), HasSubstr("not a kernel image"));
  EXPECT_THAT(message(file("short", "HdrS")), HasSubstr("not a kernel image"));
  EXPECT_THAT(message(file("empty", "")), HasSubstr("is empty"));
  EXPECT_THAT(message(file("elf32", fake_vmlinux(EM_386, ELFCLASS32))), HasSubstr("32-bit"));
  EXPECT_THAT(message(file("arm64", fake_vmlinux(EM_AARCH64))), HasSubstr("another architecture"));
  EXPECT_THAT(message(file("vmlinux.gz", "\x1f\x8b\x08\x00rest")), HasSubstr("gzip"));
  EXPECT_THAT(message(root + "/missing"), HasSubstr("cannot use kernel " + root + "/missing"));
  EXPECT_THAT(message(root), HasSubstr("is a directory"));
}

TEST_F(KernelCacheTest, AcpiFromAConfigBesideIt) {
  file("a/vmlinux", fake_vmlinux());
  file("a/config", "CONFIG_64BIT=y\n# CONFIG_ACPI is not set\n");
  EXPECT_FALSE(kernel_from_path(root + "/a/vmlinux").acpi);

  file("b/bzImage", fake_bzimage());
  file("b/bzImage.config", "# CONFIG_ACPI is not set\n");
  EXPECT_FALSE(kernel_from_path(root + "/b/bzImage").acpi);

  file("boot/vmlinuz-6.1.0-cloud", fake_bzimage());
  file("boot/config-6.1.0-cloud", "# CONFIG_ACPI is not set\n");
  EXPECT_FALSE(kernel_from_path(root + "/boot/vmlinuz-6.1.0-cloud").acpi);

  file("c/bzImage", fake_bzimage());
  file("c/config", "CONFIG_ACPI=y\n");
  EXPECT_TRUE(kernel_from_path(root + "/c/bzImage").acpi);
}

TEST_F(KernelCacheTest, EmptyCache) {
  EXPECT_EQ(find_cached_kernel(root), std::nullopt);
  EXPECT_TRUE(list_cached_kernels(root).empty());
}

TEST_F(KernelCacheTest, FindsTheNewestEntryWithThisConfigHash) {
  const std::string hash = kernel_config_hash();
  entry("6.12.1-" + hash, hash, "2025-01-01T00:00:00Z");
  entry("6.12.2-" + hash, hash, "2025-02-01T00:00:00Z");
  entry("6.12.3-0123456789ab", "0123456789ab", "2025-03-01T00:00:00Z");  // another config
  entry("6.12.4-" + hash, hash, "2025-04-01T00:00:00Z", false, false);   // incomplete
  file("kernels/.build-abc123/vmlinux", fake_vmlinux());
  file("kernels/.new-abc123/vmlinux", fake_vmlinux());
  file("kernels/.lock", "");
  file("kernels/last-build.log", "log");

  auto kernel = find_cached_kernel(root);
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->path, root + "/kernels/6.12.2-" + hash + "/vmlinux");
  EXPECT_FALSE(kernel->acpi);

  auto list = list_cached_kernels(root);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id, "6.12.3-0123456789ab");
  EXPECT_FALSE(list[0].current);
  EXPECT_EQ(list[1].id, "6.12.2-" + hash);
  EXPECT_TRUE(list[1].current);
  EXPECT_EQ(list[1].dir, root + "/kernels/6.12.2-" + hash);
  EXPECT_EQ(list[1].source_version, "6.12.1");  // info.json wins over the id
  EXPECT_EQ(list[1].built_at, "2025-02-01T00:00:00Z");
  EXPECT_GT(list[1].bytes, 0x800u);
  EXPECT_EQ(list[2].id, "6.12.1-" + hash);
}

TEST_F(KernelCacheTest, BzImageOnlyEntryAndNoInfoJson) {
  const std::string hash = kernel_config_hash();
  const std::string id = "6.12.9-1_deb12u1-" + hash;
  file("kernels/" + id + "/bzImage", fake_bzimage());
  auto kernel = find_cached_kernel(root);
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->path, root + "/kernels/" + id + "/bzImage");
  auto list = list_cached_kernels(root);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].source_version, "6.12.9-1_deb12u1");
  EXPECT_EQ(list[0].config_hash, hash);
  EXPECT_EQ(list[0].built_at.size(), 20u);  // from the directory's mtime
}

TEST_F(KernelCacheTest, SkipsADamagedEntry) {
  const std::string hash = kernel_config_hash();
  entry("6.12.1-" + hash, hash, "2025-01-01T00:00:00Z");
  file("kernels/6.12.2-" + hash + "/vmlinux", "not a kernel");
  auto kernel = find_cached_kernel(root);
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->path, root + "/kernels/6.12.1-" + hash + "/vmlinux");
}

}  // namespace
}  // namespace execvm
