#include "image/digest.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/sha256.h"

namespace execvm {
namespace {

const std::string kHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string error_of(std::string_view text) {
  try {
    parse_digest(text, "layer 2 of the manifest");
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    return e.message();
  }
  return "";
}

TEST(DigestTest, ParsesSha256AndSha512) {
  Digest d = parse_digest("sha256:" + kHex, "x");
  EXPECT_EQ(d.algorithm, "sha256");
  EXPECT_EQ(d.hex, kHex);
  EXPECT_EQ(d.str(), "sha256:" + kHex);
  std::string hex512(128, 'a');
  EXPECT_EQ(parse_digest("sha512:" + hex512, "x").algorithm, "sha512");
}

TEST(DigestTest, RefusesAnythingElseNamingWhat) {
  for (std::string bad : std::vector<std::string>{
           "sha256:../../etc/passwd", "sha256:" + kHex.substr(1), "sha256:" + kHex + "0",
           "sha256:" + std::string(64, 'A'), "sha256:" + kHex.substr(0, 63) + "/", "sha256:", kHex,
           "", "sha256:" + kHex.substr(0, 62) + "..", "sha512:" + kHex, "sha256:" + kHex + "\n",
           " sha256:" + kHex}) {
    std::string message = error_of(bad);
    EXPECT_NE(message.find("layer 2 of the manifest has a malformed digest"), std::string::npos)
        << bad << " -> " << message;
  }
  std::string other = error_of("md5:d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_NE(other.find("unsupported algorithm"), std::string::npos) << other;
  // A message never carries what a terminal would take as control characters.
  EXPECT_EQ(error_of("sha256:\x1b[2J").find('\x1b'), std::string::npos);
}

TEST(DigestTest, HashesWithTheDigestsAlgorithm) {
  EXPECT_EQ(digest_of("").str(), "sha256:" + kHex);
  EXPECT_EQ(digest_of("abc").hex, sha256_hex("abc"));
  // FIPS 180-2's test vector for "abc".
  EXPECT_EQ(digest_of("abc", "sha512").hex,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  DigestHasher h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.digest(), digest_of("abc"));
  EXPECT_THROW(DigestHasher("md5"), Error);
}

TEST(DigestTest, ChainIdFollowsTheOciFormula) {
  Digest a = digest_of("layer a"), b = digest_of("layer b"), c = digest_of("layer c");
  EXPECT_EQ(chain_id({}), Digest{});
  EXPECT_EQ(chain_id({a}), a);
  // Computed here by the spec's formula with the other SHA-256 of the code base.
  std::string ab = "sha256:" + sha256_hex(a.str() + " " + b.str());
  std::string abc = "sha256:" + sha256_hex(ab + " " + c.str());
  EXPECT_EQ(chain_id({a, b}).str(), ab);
  EXPECT_EQ(chain_id({a, b, c}).str(), abc);
  EXPECT_NE(chain_id({b, a}), chain_id({a, b}));
}

}  // namespace
}  // namespace execvm
