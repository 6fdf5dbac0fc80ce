// Content digests of OCI blobs ("sha256:<hex>"), checked before anything is built from them, and
// the hashing that verifies a blob against one.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace execvm {

struct Digest {
  std::string algorithm;  // "sha256" or "sha512"
  std::string hex;        // lowercase, 64 or 128 characters
  std::string str() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;
};

// Parses "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>". Anything else (another
// algorithm, uppercase, a wrong length, "sha256:../../etc") throws Error (exit 125) naming WHAT
// ("layer 2 of the manifest"). Every digest read from an image passes here before a path is built
// from it.
Digest parse_digest(std::string_view text, std::string_view what);

// A running hash of a digest's algorithm: feed it with update(), then take digest() once.
class DigestHasher {
 public:
  // ALGORITHM is "sha256" or "sha512" (as parse_digest admits).
  explicit DigestHasher(std::string_view algorithm = "sha256");
  ~DigestHasher();
  DigestHasher(DigestHasher&&) noexcept;
  DigestHasher& operator=(DigestHasher&&) noexcept;
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Digest digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The digest of DATA with ALGORITHM.
Digest digest_of(std::string_view data, std::string_view algorithm = "sha256");

// The OCI chain ID of layers with DIFF_IDS, bottom first: ChainID(L0) = DiffID(L0), ChainID(Ln) =
// sha256(ChainID(Ln-1) + " " + DiffID(Ln)). Empty when DIFF_IDS is.
Digest chain_id(const std::vector<Digest>& diff_ids);

}  // namespace execvm
