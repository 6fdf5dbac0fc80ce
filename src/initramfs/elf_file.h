// ElfInfo: what the dynamic loader reads from an ELF file's headers to load it, read without
// trusting the file (every offset is bounds-checked; garbage gives an Error, never a crash).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace execvm {

struct ElfInfo {
  int elf_class = 0;     // ELFCLASS64 or ELFCLASS32
  uint16_t machine = 0;  // EM_X86_64, ...
  uint16_t type = 0;     // ET_EXEC, ET_DYN, ...

  // The rest is read only for ELF64 little-endian x86-64 files (is_x86_64()).
  std::optional<std::string> interpreter;  // PT_INTERP, exactly as written
  bool has_dynamic = false;                // a PT_DYNAMIC segment
  std::vector<std::string> needed;         // DT_NEEDED, in order
  std::optional<std::string> rpath;        // DT_RPATH, as written (':'-separated, unexpanded)
  std::optional<std::string> runpath;      // DT_RUNPATH, likewise
  std::optional<std::string> soname;       // DT_SONAME
  uint64_t flags_1 = 0;                    // DT_FLAGS_1 (DF_1_NODEFLIB, ...)

  bool is_x86_64() const;
};

// True when DATA starts with the ELF magic bytes.
bool has_elf_magic(const std::string& data);

// Reads the headers of the ELF file at PATH. Throws Error naming PATH when it cannot be read, is
// not ELF, or is malformed or truncated.
ElfInfo read_elf(const std::string& path);

}  // namespace execvm
