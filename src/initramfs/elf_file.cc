#include "initramfs/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/fd.h"

namespace execvm {

namespace {

constexpr uint64_t kMaxTableBytes = 64 << 20;  // no real dynamic or string table comes near it

// An open ELF file read with pread: every read is checked against the file's size.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_) throw_errno("cannot open " + path);
    struct stat st;
    if (::fstat(fd_.get(), &st) < 0) throw_errno("cannot stat " + path);
    if (!S_ISREG(st.st_mode)) throw Error(path + " is not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
  }

  uint64_t size() const { return size_; }

  // SIZE bytes at OFFSET; throws when they are not all in the file.
  std::string bytes(uint64_t offset, uint64_t size, const char* what) const {
    if (offset > size_ || size > size_ - offset)
      malformed(std::string(what) + " lies past the end");
    std::string out(size, '\0');
    uint64_t done = 0;
    while (done < size) {
      ssize_t n = ::pread(fd_.get(), out.data() + done, size - done, offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("cannot read " + path_);
      if (n == 0) malformed("the file shrank while being read");
      done += static_cast<uint64_t>(n);
    }
    return out;
  }

  template <typename T>
  T get(uint64_t offset, const char* what) const {
    std::string raw = bytes(offset, sizeof(T), what);
    T value;
    std::memcpy(&value, raw.data(), sizeof value);
    return value;
  }

  [[noreturn]] void malformed(const std::string& why) const {
    throw Error(path_ + " is not a valid ELF file: " + why,
                "the file is truncated or corrupt; reinstall the package that owns it");
  }

 private:
  std::string path_;
  Fd fd_;
  uint64_t size_ = 0;
};

// The file offset of virtual address ADDR, through the PT_LOAD segment holding it (ld.so reads
// the dynamic section's addresses from memory, which the loads map from the file).
uint64_t file_offset(const Reader& r, const std::vector<Elf64_Phdr>& phdrs, uint64_t addr) {
  for (const auto& ph : phdrs) {
    if (ph.p_type != PT_LOAD) continue;
    if (addr >= ph.p_vaddr && addr - ph.p_vaddr < ph.p_filesz)
      return ph.p_offset + (addr - ph.p_vaddr);
  }
  r.malformed("address " + std::to_string(addr) + " is in no loaded segment");
}

std::vector<Elf64_Phdr> program_headers(const Reader& r, const Elf64_Ehdr& eh) {
  if (eh.e_phnum == 0) return {};
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) r.malformed("unexpected program header size");
  if (eh.e_phnum == PN_XNUM) r.malformed("too many program headers");
  std::string raw =
      r.bytes(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), "program headers");
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  std::memcpy(phdrs.data(), raw.data(), raw.size());
  return phdrs;
}

std::string read_interpreter(const Reader& r, const Elf64_Phdr& ph) {
  if (ph.p_filesz == 0 || ph.p_filesz > 4096) r.malformed("bad PT_INTERP size");
  std::string text = r.bytes(ph.p_offset, ph.p_filesz, "PT_INTERP");
  size_t nul = text.find('\0');
  if (nul == std::string::npos || nul == 0) r.malformed("PT_INTERP is not a string");
  return text.substr(0, nul);
}

void read_dynamic(const Reader& r, const std::vector<Elf64_Phdr>& phdrs, const Elf64_Phdr& dyn,
                  ElfInfo& info) {
  info.has_dynamic = true;
  if (dyn.p_filesz > kMaxTableBytes) r.malformed("PT_DYNAMIC is too large");
  std::string raw = r.bytes(dyn.p_offset, dyn.p_filesz, "PT_DYNAMIC");
  std::vector<Elf64_Dyn> entries(raw.size() / sizeof(Elf64_Dyn));
  std::memcpy(entries.data(), raw.data(), entries.size() * sizeof(Elf64_Dyn));

  std::optional<uint64_t> strtab;
  uint64_t strsz = 0;
  std::vector<uint64_t> needed;
  std::optional<uint64_t> rpath, runpath, soname;
  for (const auto& d : entries) {
    if (d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_STRTAB:
        strtab = d.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strsz = d.d_un.d_val;
        break;
      case DT_NEEDED:
        needed.push_back(d.d_un.d_val);
        break;
      case DT_RPATH:
        rpath = d.d_un.d_val;
        break;
      case DT_RUNPATH:
        runpath = d.d_un.d_val;
        break;
      case DT_SONAME:
        soname = d.d_un.d_val;
        break;
      case DT_FLAGS_1:
        info.flags_1 = d.d_un.d_val;
        break;
    }
  }
  if (needed.empty() && !rpath && !runpath && !soname) return;
  if (!strtab || strsz == 0) r.malformed("a dynamic section without a string table");
  if (strsz > kMaxTableBytes) r.malformed("DT_STRSZ is too large");
  std::string strings = r.bytes(file_offset(r, phdrs, *strtab), strsz, "the dynamic string table");
  auto string_at = [&](uint64_t offset) {
    size_t end = offset < strings.size() ? strings.find('\0', offset) : std::string::npos;
    if (end == std::string::npos) r.malformed("a dynamic string lies outside its table");
    return strings.substr(offset, end - offset);
  };
  for (uint64_t offset : needed) info.needed.push_back(string_at(offset));
  if (rpath) info.rpath = string_at(*rpath);
  if (runpath) info.runpath = string_at(*runpath);
  if (soname) info.soname = string_at(*soname);
}

}  // namespace

bool ElfInfo::is_x86_64() const {
  return elf_class == ELFCLASS64 && machine == EM_X86_64;
}

bool has_elf_magic(const std::string& data) {
  return data.size() >= SELFMAG && std::memcmp(data.data(), ELFMAG, SELFMAG) == 0;
}

ElfInfo read_elf(const std::string& path) {
  Reader r(path);
  std::string ident = r.bytes(0, std::min<uint64_t>(r.size(), EI_NIDENT), "the ELF identification");
  if (ident.size() < EI_NIDENT || !has_elf_magic(ident)) r.malformed("no ELF header");
  ElfInfo info;
  info.elf_class = static_cast<unsigned char>(ident[EI_CLASS]);
  if (ident[EI_DATA] != ELFDATA2LSB) r.malformed("not little-endian");
  if (info.elf_class == ELFCLASS32) {
    Elf32_Ehdr eh = r.get<Elf32_Ehdr>(0, "the ELF header");
    info.machine = eh.e_machine;
    info.type = eh.e_type;
    return info;  // never loaded by an x86-64 ld.so: nothing more to know
  }
  if (info.elf_class != ELFCLASS64) r.malformed("unknown ELF class");
  Elf64_Ehdr eh = r.get<Elf64_Ehdr>(0, "the ELF header");
  info.machine = eh.e_machine;
  info.type = eh.e_type;
  if (!info.is_x86_64()) return info;

  std::vector<Elf64_Phdr> phdrs = program_headers(r, eh);
  const Elf64_Phdr* dynamic = nullptr;
  for (const auto& ph : phdrs) {
    if (ph.p_type == PT_INTERP) info.interpreter = read_interpreter(r, ph);
    if (ph.p_type == PT_DYNAMIC) dynamic = &ph;
  }
  if (dynamic) read_dynamic(r, phdrs, *dynamic, info);
  return info;
}

}  // namespace execvm
