// Finding kernels: the cache's entries, and a kernel file the user names.
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "kernel/kernel.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr const char* kKernelHint = "--kernel takes a bzImage or an uncompressed vmlinux";

bool is_config_hash(std::string_view s) {
  return s.size() == 12 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The kernel configs that may sit beside the kernel at PATH.
std::vector<std::string> configs_beside(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::vector<std::string> found = {dir + "/config", path + ".config"};
  for (const char* prefix : {"vmlinuz-", "vmlinux-", "bzImage-"}) {
    if (starts_with(base, prefix)) found.push_back(dir + "/config-" + base.substr(strlen(prefix)));
  }
  return found;
}

// Whether the kernel at PATH finds its devices through ACPI: what a config beside it says;
// else, for an uncompressed vmlinux, whether it holds ACPI's log messages (execvm's own, copied
// away from its config, has none); else yes, as a distribution's bzImage does.
bool acpi_per_configs_beside(const std::string& path, bool elf) {
  for (const auto& config : configs_beside(path)) {
    if (!is_regular_file(config)) continue;
    try {
      auto symbols = parse_kernel_config(read_file(config));
      auto it = symbols.find("CONFIG_ACPI");
      if (it != symbols.end() && it->second == "n") return false;
      return true;
    } catch (const Error&) {
      // An unreadable config says nothing.
    }
  }
  if (elf) {
    try {
      return read_file(path).find("ACPI: ") != std::string::npos;
    } catch (const Error&) {
    }
  }
  return true;
}

// Throws Error unless HEAD (the first bytes of the file at PATH) starts a bzImage or an x86-64
// vmlinux.
void check_kernel_image(const std::string& head, const std::string& path) {
  if (head.size() >= 0x206 && head.compare(0x202, 4, "HdrS") == 0) return;  // bzImage
  if (head.size() >= 4 && head.compare(0, 4, ELFMAG) == 0) {
    if (head.size() < sizeof(Elf64_Ehdr) || head[EI_CLASS] != ELFCLASS64)
      throw Error(path + " is a 32-bit ELF file, not an x86-64 vmlinux", kKernelHint);
    Elf64_Ehdr ehdr;
    memcpy(&ehdr, head.data(), sizeof ehdr);
    if (head[EI_DATA] != ELFDATA2LSB || ehdr.e_machine != EM_X86_64)
      throw Error(path + " is an ELF file for another architecture (machine " +
                      std::to_string(ehdr.e_machine) + "), not an x86-64 vmlinux",
                  kKernelHint);
    if (ehdr.e_type != ET_EXEC)
      throw Error(path + " is an ELF program or library, not a vmlinux (a kernel is ET_EXEC)",
                  kKernelHint);
    return;
  }
  if (head.empty()) throw Error(path + " is empty, not a kernel image", kKernelHint);
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b)
    throw Error(path + " is gzip-compressed, not a kernel image",
                "decompress it (a vmlinux.gz gives a vmlinux), or pass the bzImage");
  throw Error(path + " is not a kernel image: neither a bzImage (no \"HdrS\" at offset 0x202) " +
                  "nor an ELF64 vmlinux",
              kKernelHint);
}

// Fills ENTRY's version, hash and time from DIR/info.json, else from its id and mtime.
void read_info(CachedKernel& entry, time_t mtime) {
  try {
    auto info = nlohmann::json::parse(read_file(entry.dir + "/info.json"));
    entry.source_version = info.value("source_version", "");
    entry.config_hash = info.value("config_hash", "");
    entry.built_at = info.value("built_at", "");
  } catch (const std::exception&) {
    // A missing or damaged info.json: what the id says is as good.
  }
  size_t dash = entry.id.find_last_of('-');
  if (dash != std::string::npos && is_config_hash(std::string_view(entry.id).substr(dash + 1))) {
    if (entry.config_hash.empty()) entry.config_hash = entry.id.substr(dash + 1);
    if (entry.source_version.empty()) entry.source_version = entry.id.substr(0, dash);
  }
  if (entry.built_at.empty()) entry.built_at = iso_time(mtime);
}

uint64_t bytes_in(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& name : directory_names(dir)) {
    uint64_t size;
    if (name[0] != '.' && is_regular_file(dir + "/" + name, &size)) total += size;
  }
  return total;
}

}  // namespace

std::string kernel_cache_id(const std::string& source_version, const std::string& config_hash) {
  std::string id = source_version + "-" + config_hash;
  for (char& c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-'))
      c = '_';
  }
  return id;
}

Kernel kernel_from_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw Error("cannot use kernel " + path + ": " + strerror(errno), kKernelHint);
  if (S_ISDIR(st.st_mode)) throw Error(path + " is a directory, not a kernel image", kKernelHint);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == EACCES)
      throw Error("cannot read kernel " + path + ": permission denied",
                  "make it readable (Debian's /boot/vmlinuz-* are readable by root only), or "
                  "copy it somewhere readable");
    throw_errno("cannot read kernel " + path);
  }
  std::string head;
  try {
    head = read_head(fd.get(), 0x206);
  } catch (const Error& e) {
    throw Error("cannot read kernel " + path + ": " + e.what());
  }
  check_kernel_image(head, path);
  bool elf = head.compare(0, 4,
                          "\x7f"
                          "ELF") == 0;
  return Kernel{.path = path, .acpi = acpi_per_configs_beside(path, elf)};
}

std::vector<CachedKernel> list_cached_kernels(const std::string& cache_root) {
  std::vector<CachedKernel> entries;
  std::string kernels = cache_root + "/kernels";
  DIR* d = ::opendir(kernels.c_str());
  if (!d && errno == ENOENT) return entries;
  if (!d)
    throw Error("cannot read execvm's kernel cache " + kernels + ": " + strerror(errno),
                "make it readable to this user, or set XDG_CACHE_HOME to a cache of your own");
  const std::string current = kernel_config_hash();
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;  // ., .., .lock, .build-*, .new-*
    CachedKernel entry;
    entry.id = e->d_name;
    entry.dir = kernels + "/" + entry.id;
    struct stat st;
    if (::stat(entry.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (!is_regular_file(entry.dir + "/vmlinux") && !is_regular_file(entry.dir + "/bzImage"))
      continue;
    read_info(entry, st.st_mtime);
    entry.bytes = bytes_in(entry.dir);
    entry.current = entry.config_hash == current;
    entries.push_back(std::move(entry));
  }
  ::closedir(d);
  std::sort(entries.begin(), entries.end(), [](const CachedKernel& a, const CachedKernel& b) {
    return a.built_at != b.built_at ? a.built_at > b.built_at : a.id > b.id;
  });
  return entries;
}

std::optional<Kernel> find_cached_kernel(const std::string& cache_root) {
  std::optional<Error> unreadable;
  for (const auto& entry : list_cached_kernels(cache_root)) {
    if (!entry.current) continue;
    std::string path = entry.dir + "/vmlinux";
    if (!is_regular_file(path)) path = entry.dir + "/bzImage";
    try {
      return kernel_from_path(path);
    } catch (const Error& e) {
      // A damaged entry: an older one may still do. One that cannot be read is said as such.
      if (!unreadable && ::access(path.c_str(), R_OK) != 0) unreadable = e;
    }
  }
  if (unreadable) throw *unreadable;
  return std::nullopt;
}

}  // namespace execvm
