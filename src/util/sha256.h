// SHA-256 of bytes and files (OpenSSL), as lowercase hex.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace execvm {

// A running SHA-256: feed it with update(), then take hex_digest() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  std::string hex_digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::string_view data);
// Throws Error naming PATH when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace execvm
