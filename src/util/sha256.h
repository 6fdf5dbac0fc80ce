// SHA-256 of bytes and files (OpenSSL), as lowercase hex.
#pragma once

#include <string>
#include <string_view>

namespace execvm {

std::string sha256_hex(std::string_view data);
// Throws Error naming PATH when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace execvm
