// The guest kernel: which one a VM boots, execvm's own kernel cache, building that kernel from
// Debian's linux-source-6.12 with kernel/config/execvm.config, and checking a kernel's config for
// what execvm needs.
//
// Cache layout (CACHE_ROOT is cache_root(), e.g. ~/.cache/execvm):
//
//   CACHE_ROOT/kernels/
//     .lock                 flock'ed (exclusive) by the one build that may run at a time
//     <id>/                 one installed kernel, id = "<source version>-<config hash>" with every
//                           character outside [A-Za-z0-9._+-] replaced by '_'
//                           (e.g. "6.12.117-1_deb12u1-1a2b3c4d5e6f")
//       vmlinux             the uncompressed ELF kernel (booted through its PVH entry: faster)
//       bzImage             the same kernel, compressed, for loaders that want one
//       config              its final .config
//       info.json           {source_version, config_hash, built_at (ISO 8601 UTC),
//                            build_seconds, jobs, vmlinux_bytes, bzimage_bytes, recipe,
//                            source (the tarball)}
//     .build-XXXXXX/        a build in progress: the extracted source tree (~1.8 GB) and its
//                           log; removed when the build ends, however it ends
//     .new-XXXXXX/          an entry being installed; renamed to <id> when complete
//     last-build.log        the log of the last failed build (and last-build.config when the
//                           .config was wrong)
//
// An entry appears under its id only complete (rename of a finished sibling directory), so a
// reader never sees half an entry and needs no lock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace execvm {

// A kernel a VM can boot.
struct Kernel {
  std::string path;  // the image QEMU boots: vmlinux when present, else bzImage
  bool acpi = true;  // whether it finds its devices through ACPI (execvm's own kernel: false)
};

// The Debian package whose source execvm's kernel is built from, and where it puts it.
inline constexpr const char* kKernelSourcePackage = "linux-source-6.12";
inline constexpr const char* kDefaultKernelSource = "/usr/src/linux-source-6.12.tar.xz";

// First 12 hex digits of sha256(the embedded config fragment + the build recipe's version): a
// kernel built by another recipe or from another fragment has another hash.
std::string kernel_config_hash();

// "<source version>-<config hash>" made safe as a file name (see the layout above).
std::string kernel_cache_id(const std::string& source_version, const std::string& config_hash);

// The kernel to boot by default: the newest complete entry under CACHE_ROOT/kernels whose config
// hash is this binary's; nullopt when there is none (the caller then says: run
// `execvm kernel build`). Throws Error when the cache or its kernel cannot be read.
std::optional<Kernel> find_cached_kernel(const std::string& cache_root);

// A kernel named by the user (--kernel PATH): a readable bzImage ("HdrS" at offset 0x202) or an
// x86-64 ELF64 vmlinux; anything else throws Error saying what it is not. acpi is false when a
// kernel config beside it (DIR/config, PATH.config, or DIR/config-VERSION for
// DIR/vmlinuz-VERSION as in /boot) says "# CONFIG_ACPI is not set", true otherwise.
Kernel kernel_from_path(const std::string& path);

// One entry of the kernel cache, for `execvm kernel ls`.
struct CachedKernel {
  std::string id, dir, source_version, config_hash;
  uint64_t bytes = 0;    // all of its files
  bool current = false;  // config hash == this binary's
  std::string built_at;  // ISO 8601 UTC ("2025-11-23T20:33:05Z"); the directory's mtime if unknown
};

// The complete entries under CACHE_ROOT/kernels, newest first. Temporary directories (.build-*,
// .new-*) and entries without a vmlinux or bzImage are left out.
std::vector<CachedKernel> list_cached_kernels(const std::string& cache_root);

struct KernelBuildOptions {
  std::string cache_root;
  std::string source_tarball;  // default: kDefaultKernelSource
  unsigned jobs = 0;           // 0: the number of CPUs this process may run on
  bool force = false;          // rebuild even when the cache has it
};

// Builds execvm's kernel into the cache unless it is already there, and returns it. Progress goes
// to stderr, one line per stage; make's output goes to a log. Only one build runs at a time per
// cache (a second one waits, then finds the kernel there). SIGINT, SIGTERM and SIGHUP during the
// build stop make, remove the temporary trees and throw an Error whose exit code is 128 + the
// signal. Throws Error naming what is missing (tools, disk space, the source package) or what
// failed (the last lines of the log are printed and the log kept as CACHE_ROOT/kernels/
// last-build.log).
Kernel build_kernel(const KernelBuildOptions& options);

// What execvm needs that a kernel .config (its text) lacks, as readable items, e.g.
// "CONFIG_VIRTIO_MMIO (virtio-mmio devices: the microvm's disks and channel)"; empty when all is
// there. A feature built as a module (=m) counts as there only when MODULES_AVAILABLE (the caller
// has the kernel's modules to load, e.g. --modules DIR); else its item says it is a module.
std::vector<std::string> missing_kernel_features(const std::string& config_text,
                                                 bool modules_available = false);

// The symbols of FRAGMENT whose value in CONFIG (a full .config) differs from what the fragment
// asks, as "CONFIG_PVH: wanted y, got not set", in the fragment's order. "=n" in the fragment (or
// "# CONFIG_X is not set") is satisfied by "is not set" or by the symbol's absence.
std::vector<std::string> config_mismatches(const std::string& fragment, const std::string& config);

// The symbols a .config or fragment sets: "CONFIG_X=VALUE" gives VALUE (strings keep their
// quotes), "# CONFIG_X is not set" gives "n". Other lines are ignored; a later line wins.
std::map<std::string, std::string> parse_kernel_config(const std::string& text);

// "VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION]" from the text of a kernel's top-level Makefile;
// nullopt when it has none.
std::optional<std::string> kernel_makefile_version(const std::string& makefile);

}  // namespace execvm
