// Building execvm's kernel into the cache: check the tools and the disk, take the cache's lock,
// extract linux-source-6.12, configure it with the fragment and verify the result, compile,
// install the entry atomically, and remove the build tree however the build ends.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "host/embedded.h"
#include "kernel/build_process.h"
#include "kernel/kernel.h"
#include "kernel/recipe.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/sys.h"
#include "util/temp_tree.h"

namespace execvm {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kGiB = 1024 * kMiB;
// Disk the build needs at its peak: the extracted and compiled tree is ~1.8 GB.
constexpr uint64_t kBuildSpace = 3 * kGiB;
// "  CC " lines of a full build with the fragment (measured): the progress line's denominator.
constexpr size_t kExpectedCompiles = 1183;
// A build takes about 1 minute that does not run in parallel (extracting, configuring, linking)
// and this many CPU-minutes that do (measured: 8m48s with -j2 on 2 cores).
constexpr double kCompileCpuMinutes = 17;
// A vmlinux larger than this has debug info or much more than the fragment asks for.
constexpr uint64_t kLargeVmlinux = 48 * kMiB;

void say(const std::string& line) {
  fprintf(stderr, "execvm: %s\n", line.c_str());
}

std::string format_gib(uint64_t bytes) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / kGiB);
  return buf;
}

std::string format_elapsed(Clock::duration d) {
  long s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  if (s < 60) return std::to_string(s) + "s";
  char buf[32];
  snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

// The version of PACKAGE when dpkg has it installed.
std::optional<std::string> installed_version(const std::string& package) {
  CapturedRun r = run_capture({"dpkg-query", "-W", "-f=${Status}\t${Version}", package}, true);
  std::vector<std::string> fields = split(std::string(trim(r.output)), '\t');
  if (r.status != 0 || fields.size() != 2 || fields[0] != "install ok installed" ||
      fields[1].empty())
    return std::nullopt;
  return fields[1];
}

// The version of the Debian package that owns TARBALL, when dpkg knows it.
std::optional<std::string> dpkg_version(const std::string& tarball) {
  try {
    if (tarball == kDefaultKernelSource) return installed_version(kKernelSourcePackage);
    // dpkg knows the path it installed: try it as given, then with its links resolved.
    std::vector<std::string> paths;
    if (starts_with(tarball, "/")) paths.push_back(tarball);
    if (char* real = realpath(tarball.c_str(), nullptr)) {
      if (paths.empty() || paths[0] != real) paths.push_back(real);
      free(real);
    }
    for (const auto& path : paths) {
      CapturedRun owner = run_capture({"dpkg-query", "-S", path}, true);
      if (owner.status != 0) continue;
      // "linux-source-6.12: /usr/src/linux-source-6.12.tar.xz"
      std::string line = split(owner.output, '\n')[0];
      size_t colon = line.find(": ");
      if (colon == std::string::npos) continue;
      std::string package(trim(split(line.substr(0, colon), ',')[0]));
      if (auto v = installed_version(package)) return v;
    }
  } catch (const Error&) {
    // No dpkg here.
  }
  return std::nullopt;
}

// VERSION.PATCHLEVEL.SUBLEVEL from the top-level Makefile inside TARBALL (read with libarchive,
// stopping at the Makefile).
std::optional<std::string> makefile_version(const std::string& tarball) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), tarball.c_str(), 1 << 16) != ARCHIVE_OK)
    return std::nullopt;
  archive_entry* entry;
  while (archive_read_next_header(a.get(), &entry) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (starts_with(name, "./")) name = name.substr(2);
    size_t slash = name.find('/');
    std::string_view rest = slash == std::string::npos ? std::string_view(name)
                                                       : std::string_view(name).substr(slash + 1);
    if (rest != "Makefile") continue;
    std::string text;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0 && text.size() < (1 << 20))
      text.append(buf, static_cast<size_t>(n));
    return kernel_makefile_version(text);
  }
  return std::nullopt;
}

std::string source_version(const std::string& tarball) {
  if (auto v = dpkg_version(tarball)) return *v;
  if (auto v = makefile_version(tarball)) return *v;
  throw Error("cannot tell the kernel version of " + tarball +
                  ": no Debian package owns it and it has no top-level kernel Makefile",
              "pass a linux source tarball, e.g. " + std::string(kDefaultKernelSource));
}

// Throws Error naming the Debian packages to install when a tool the build needs is missing.
void check_build_tools() {
  struct Need {
    const char* what;     // a program in PATH, or an absolute path to a header
    const char* package;  // the Debian package that provides it
  };
  static const Need kNeeds[] = {
      {"make", "make"},
      {"gcc", "gcc"},
      {"ld", "binutils"},
      {"flex", "flex"},
      {"bison", "bison"},
      {"bc", "bc"},
      {"tar", "tar"},
      {"xz", "xz-utils"},
      {"perl", "perl"},
      {"lz4", "lz4"},                         // compresses the bzImage (CONFIG_KERNEL_LZ4)
      {"/usr/include/gelf.h", "libelf-dev"},  // objtool (CONFIG_OBJTOOL, selected on x86-64)
  };
  std::string missing, packages;
  for (const auto& need : kNeeds) {
    bool found =
        need.what[0] == '/' ? access(need.what, R_OK) == 0 : find_program(need.what).has_value();
    if (found) continue;
    missing += (missing.empty() ? "" : ", ") + std::string(need.what);
    packages += std::string(" ") + need.package;
  }
  if (!missing.empty())
    throw Error("cannot build the guest kernel: missing " + missing,
                "install them: apt-get install" + packages);
}

void check_free_space(const std::string& dir) {
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) throw_errno("cannot tell the free space in " + dir);
  uint64_t free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (free < kBuildSpace)
    throw Error("not enough disk space to build the guest kernel: " + format_gib(free) +
                    " free in " + dir + ", about " + format_gib(kBuildSpace) +
                    " needed while it builds (only ~25 MiB stay)",
                "free some space there, or set XDG_CACHE_HOME to a directory with more room");
}

// Takes the cache's build lock, waiting (interruptibly) while another build holds it.
Fd lock_kernels(const std::string& kernels, const InterruptGuard& guard) {
  std::string path = kernels + "/.lock";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) throw_errno("cannot open " + path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
  if (errno != EWOULDBLOCK) throw_errno("cannot lock " + path);
  say("waiting for another execvm kernel build to finish");
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("cannot lock " + path);
    guard.check();
  }
  return fd;
}

// Removes what builds that were killed outright left behind (only the lock holder builds).
void remove_leftovers(const std::string& kernels) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kernels, ec)) {
    std::string name = e.path().filename();
    if (!starts_with(name, ".build-") && !starts_with(name, ".new-")) continue;
    say("removing " + e.path().string() + ", left by an interrupted build");
    remove_tree(e.path());
  }
}

// The kernel installed under KERNELS/ID, if any.
std::optional<Kernel> installed(const std::string& kernels, const std::string& id) {
  std::string dir = kernels + "/" + id;
  for (const char* name : {"/vmlinux", "/bzImage"}) {
    if (!is_regular_file(dir + name)) continue;
    try {
      return kernel_from_path(dir + name);
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

// Counts the "  CC " lines make has written to the log so far.
class CompileCounter {
 public:
  explicit CompileCounter(std::string path) : path_(std::move(path)) {}
  size_t update() {
    Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return count_;
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::pread(fd.get(), buf, sizeof buf, offset_)) > 0) {
      offset_ += n;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\n') {
          if (starts_with(line_, "  CC ")) ++count_;
          line_.clear();
        } else if (line_.size() < 8) {
          line_ += buf[i];
        }
      }
    }
    return count_;
  }

 private:
  std::string path_;
  off_t offset_ = 0;
  std::string line_;
  size_t count_ = 0;
};

// The last LINES lines of the file at PATH.
std::vector<std::string> tail_of(const std::string& path, size_t lines) {
  std::vector<std::string> all;
  try {
    all = split(read_file(path), '\n');
  } catch (const Error&) {
    return {};
  }
  while (!all.empty() && all.back().empty()) all.pop_back();
  if (all.size() > lines) all.erase(all.begin(), all.end() - static_cast<long>(lines));
  return all;
}

void fsync_path(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

void move_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("cannot move " + from + " to " + to);
  fsync_path(to);
}

// One build of the kernel, run by the holder of the cache's lock: the steps in order, each in
// the temporary tree, which goes away with this object.
class KernelBuild {
 public:
  KernelBuild(std::string kernels, std::string tarball, std::string version, unsigned jobs,
              const InterruptGuard& guard)
      : kernels_(std::move(kernels)),
        tarball_(std::move(tarball)),
        version_(std::move(version)),
        hash_(kernel_config_hash()),
        fragment_(embedded_kernel_config()),
        jobs_(jobs),
        guard_(guard),
        env_(build_environment()),
        kept_log_(kernels_ + "/last-build.log"),
        kept_config_(kernels_ + "/last-build.config") {}

  Kernel run() {
    const unsigned cores = std::min(jobs_, usable_cpus());
    const long minutes = std::lround(1 + kCompileCpuMinutes / cores);
    say("building the guest kernel " + version_ + " (config " + hash_ + ") with " +
        std::to_string(jobs_) + " jobs; this takes about " + std::to_string(minutes) +
        " minutes on " + std::to_string(cores) + (cores == 1 ? " core" : " cores"));
    start_ = Clock::now();
    build_ = std::make_unique<TempTree>(kernels_ + "/.build-");
    log_path_ = build_->path() + "/build.log";
    log_ = Fd(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log_) throw_errno("cannot create " + log_path_);
    try {
      extract();
      configure();
      compile();
      return install();
    } catch (const Error&) {
      if (guard_.signal()) say("stopped; removing " + build_->path());
      throw;
    }
  }

 private:
  void extract() {
    say("extracting " + base_name(tarball_));
    step({"tar", "-xf", tarball_, "-C", build_->path(), "--no-same-owner"}, "",
         "extracting " + tarball_);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(build_->path(), ec)) {
      if (e.is_directory(ec)) src_ = e.path();
    }
    if (src_.empty() || !is_regular_file(src_ + "/Makefile"))
      throw Error(
          tarball_ + " holds no kernel source tree (no top-level directory with a Makefile)",
          "pass a linux source tarball, e.g. " + std::string(kDefaultKernelSource));
  }

  // tinyconfig, the fragment merged over it, olddefconfig, and a check that every symbol of the
  // fragment came out as asked (a symbol whose dependencies are off is silently dropped).
  void configure() {
    say("configuring (tinyconfig + execvm.config)");
    const std::string fragment_path = build_->path() + "/execvm.config";
    write_file(fragment_path, fragment_);
    step({"make", "ARCH=x86_64", "tinyconfig"}, src_, "make tinyconfig");
    step({"sh", src_ + "/scripts/kconfig/merge_config.sh", "-m", ".config", fragment_path}, src_,
         "merging execvm.config");
    step({"make", "ARCH=x86_64", "olddefconfig"}, src_, "make olddefconfig");
    const std::string config = read_file(src_ + "/.config");
    if (auto wrong = config_mismatches(fragment_, config); !wrong.empty()) {
      std::string list;
      for (const auto& w : wrong) list += (list.empty() ? "" : "; ") + w;
      try {
        write_file(kept_config_, config);
      } catch (const Error&) {
      }
      throw Error("the kernel's .config differs from what execvm's config fragment asks: " + list,
                  "kernel/config/execvm.config lacks a dependency of these symbols; the .config "
                  "is in " +
                      kept_config_);
    }
    guard_.check();
  }

  void compile() {
    say("compiling (make -j" + std::to_string(jobs_) + " bzImage; the log is " + log_path_ + ")");
    CompileCounter counter(log_path_);
    auto progress = [&] {
      size_t done = counter.update();
      size_t percent = std::min<size_t>(99, done * 100 / kExpectedCompiles);
      say("compiling: " + std::to_string(done) + " files so far (about " + std::to_string(percent) +
          "%), " + format_elapsed(Clock::now() - start_) + " elapsed");
    };
    step({"make", "ARCH=x86_64", "-j" + std::to_string(jobs_), "bzImage"}, src_,
         "compiling the kernel", progress);
    guard_.check();
  }

  // Checks what came out, moves it into a fresh sibling directory and renames that to its id:
  // readers see the whole entry or none of it.
  Kernel install() {
    const std::string vmlinux = src_ + "/vmlinux", bzimage = src_ + "/arch/x86/boot/bzImage";
    uint64_t vmlinux_bytes = 0, bzimage_bytes = 0;
    if (!is_regular_file(vmlinux, &vmlinux_bytes) || !is_regular_file(bzimage, &bzimage_bytes))
      throw Error("the kernel build ended without a vmlinux and a bzImage",
                  "this is a bug in execvm's build steps; make's output is in " + log_path_);
    kernel_from_path(vmlinux);
    kernel_from_path(bzimage);
    if (vmlinux_bytes > kLargeVmlinux)
      say("note: vmlinux is " + format_mib(vmlinux_bytes) +
          ", larger than expected (debug info?); it boots all the same");

    TempTree fresh(kernels_ + "/.new-");
    ::chmod(fresh.path().c_str(), 0755);  // mkdtemp made it 0700
    move_file(vmlinux, fresh.path() + "/vmlinux");
    move_file(bzimage, fresh.path() + "/bzImage");
    move_file(src_ + "/.config", fresh.path() + "/config");
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start_);
    nlohmann::json info = {
        {"source_version", version_},
        {"config_hash", hash_},
        {"built_at", iso_time(time(nullptr))},
        {"build_seconds", seconds.count()},
        {"jobs", jobs_},
        {"vmlinux_bytes", vmlinux_bytes},
        {"bzimage_bytes", bzimage_bytes},
        {"recipe", kKernelRecipe},
        {"source", tarball_},
    };
    write_file(fresh.path() + "/info.json", info.dump(2) + "\n");
    fsync_path(fresh.path() + "/info.json");
    fsync_path(fresh.path());

    const std::string id = kernel_cache_id(version_, hash_);
    const std::string dir = kernels_ + "/" + id;
    if (::access(dir.c_str(), F_OK) == 0) {
      // A rebuild (force): swap the old entry out in one step; fresh then holds the old one.
      if (::renameat2(AT_FDCWD, fresh.path().c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0)
        throw_errno("cannot replace " + dir);
    } else {
      if (::rename(fresh.path().c_str(), dir.c_str()) != 0) throw_errno("cannot install " + dir);
      fresh.release();
    }
    fsync_path(kernels_);
    fresh.remove();
    build_->remove();
    ::unlink(kept_log_.c_str());
    ::unlink(kept_config_.c_str());

    Kernel kernel = kernel_from_path(dir + "/vmlinux");
    say("installed " + kernel.path + " (" + format_mib(vmlinux_bytes) + ") in " +
        format_elapsed(Clock::now() - start_));
    return kernel;
  }

  // Runs one step with its output in the log; on failure shows the end of the log, keeps a copy
  // of it, and throws.
  void step(const std::vector<std::string>& argv, const std::string& cwd, const std::string& what,
            const std::function<void()>& tick = {}) {
    std::string line = "execvm: $";
    for (const auto& a : argv) line += " " + shell_quote(a);
    write_all(log_.get(), line + "\n");
    int status = run_logged(argv, cwd, log_.get(), env_, guard_, tick);
    if (status == 0) return;
    fprintf(stderr, "execvm: the last lines of the build log:\n");
    for (const auto& l : tail_of(log_path_, 20)) fprintf(stderr, "  %s\n", l.c_str());
    try {
      write_file(kept_log_, read_file(log_path_));
    } catch (const Error&) {
    }
    throw Error(
        what + " failed (" + argv[0] + " exited with status " + std::to_string(status) + ")",
        "its last lines are above; the whole log is in " + kept_log_);
  }

  const std::string kernels_, tarball_, version_, hash_, fragment_;
  const unsigned jobs_;
  const InterruptGuard& guard_;
  const std::vector<std::string> env_;
  const std::string kept_log_, kept_config_;
  Clock::time_point start_;
  std::unique_ptr<TempTree> build_;  // the extracted tree and the log
  std::string log_path_, src_;
  Fd log_;
};

}  // namespace

Kernel build_kernel(const KernelBuildOptions& options) {
  const std::string tarball =
      options.source_tarball.empty() ? kDefaultKernelSource : options.source_tarball;
  const std::string kernels =
      (options.cache_root.empty() ? cache_root() : options.cache_root) + "/kernels";
  if (!is_regular_file(tarball)) {
    throw Error("cannot find the kernel source " + tarball,
                options.source_tarball.empty()
                    ? "install it: apt-get install " + std::string(kKernelSourcePackage)
                    : "pass an existing linux source tarball");
  }
  const std::string version = source_version(tarball);
  const std::string id = kernel_cache_id(version, kernel_config_hash());
  if (!options.force) {
    if (auto kernel = installed(kernels, id)) return *kernel;
  }
  check_build_tools();
  make_dirs(kernels);

  // From here on a signal ends the build cleanly; the guard outlives the trees it cleans up.
  InterruptGuard guard("the kernel build");
  Fd lock = lock_kernels(kernels, guard);
  if (!options.force) {
    if (auto kernel = installed(kernels, id)) {
      say("another execvm built it meanwhile: " + kernel->path);
      return *kernel;
    }
  }
  remove_leftovers(kernels);
  check_free_space(kernels);
  const unsigned jobs = options.jobs ? options.jobs : usable_cpus();
  return KernelBuild(kernels, tarball, version, jobs, guard).run();
}

}  // namespace execvm
