#include "image/digest.h"

#include <openssl/evp.h>

#include "util/error.h"
#include "util/strings.h"

namespace execvm {

namespace {

size_t hex_length(std::string_view algorithm) {
  if (algorithm == "sha256") return 64;
  if (algorithm == "sha512") return 128;
  return 0;
}

bool is_lower_hex(std::string_view text) {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// TEXT as it may be shown in a message: printable, and not too long.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 80) out += "...";
  return out;
}

}  // namespace

Digest parse_digest(std::string_view text, std::string_view what) {
  size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    std::string_view algorithm = text.substr(0, colon), encoded = text.substr(colon + 1);
    size_t want = hex_length(algorithm);
    if (want != 0 && encoded.size() == want && is_lower_hex(encoded))
      return Digest{std::string(algorithm), std::string(encoded)};
    bool well_formed = !algorithm.empty() &&
                       algorithm.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+._-") ==
                           std::string_view::npos;
    if (want == 0 && well_formed)
      throw Error(std::string(what) + " has a digest of an unsupported algorithm: \"" +
                      printable(text) + "\"",
                  "only sha256 and sha512 digests are read");
  }
  throw Error(std::string(what) + " has a malformed digest: \"" + printable(text) + "\"",
              "a digest is sha256: and 64 lowercase hexadecimal digits");
}

struct DigestHasher::State {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  std::string algorithm;
};

DigestHasher::DigestHasher(std::string_view algorithm) : state_(std::make_unique<State>()) {
  const EVP_MD* md = nullptr;
  if (algorithm == "sha256") md = EVP_sha256();
  if (algorithm == "sha512") md = EVP_sha512();
  if (!md) throw Error("no hash for digests of algorithm " + std::string(algorithm));
  state_->algorithm = algorithm;
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx.get(), md, nullptr) != 1)
    throw Error("cannot start a " + std::string(algorithm) + " hash");
}
DigestHasher::~DigestHasher() = default;
DigestHasher::DigestHasher(DigestHasher&&) noexcept = default;
DigestHasher& DigestHasher::operator=(DigestHasher&&) noexcept = default;

void DigestHasher::update(const void* data, size_t size) {
  EVP_DigestUpdate(state_->ctx.get(), data, size);
}

Digest DigestHasher::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx.get(), md, &len);
  return Digest{state_->algorithm, hex(std::string_view(reinterpret_cast<char*>(md), len))};
}

Digest digest_of(std::string_view data, std::string_view algorithm) {
  DigestHasher h(algorithm);
  h.update(data);
  return h.digest();
}

Digest chain_id(const std::vector<Digest>& diff_ids) {
  if (diff_ids.empty()) return {};
  Digest chain = diff_ids.front();
  for (size_t i = 1; i < diff_ids.size(); ++i)
    chain = digest_of(chain.str() + " " + diff_ids[i].str());
  return chain;
}

}  // namespace execvm
