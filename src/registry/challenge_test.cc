#include "registry/challenge.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace execvm {
namespace {

using Params = std::map<std::string, std::string>;

std::string error_of(std::string_view value) {
  try {
    auto got = parse_challenges(value);
    ADD_FAILURE() << "\"" << value << "\" parsed into " << got.size() << " challenges";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_NE(e.message().find(std::string(value)), std::string::npos) << e.message();
    return e.message();
  }
  return "";
}

TEST(ChallengeTest, DockerHubsBearer) {
  auto c = parse_challenges(
      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
      "scope=\"repository:library/alpine:pull\"");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params, (Params{{"realm", "https://auth.docker.io/token"},
                                 {"service", "registry.docker.io"},
                                 {"scope", "repository:library/alpine:pull"}}));
  EXPECT_EQ(c[0].token68, "");
}

TEST(ChallengeTest, BasicAndCaseInsensitiveNames) {
  auto c = parse_challenges("BASIC Realm=\"Registry Realm\"");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params, (Params{{"realm", "Registry Realm"}}));
  // The value keeps its case.
  c = parse_challenges("bEaReR REALM=\"https://Auth.Example/Token\"");
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params.at("realm"), "https://Auth.Example/Token");
}

TEST(ChallengeTest, QuotedStringsWithEscapesAndUnquotedTokens) {
  auto c = parse_challenges(
      R"(Bearer realm="a \"quoted\" realm \\ here",service=registry.local,x = "" )");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(
      c[0].params,
      (Params{{"realm", R"(a "quoted" realm \ here)"}, {"service", "registry.local"}, {"x", ""}}));
  // A comma inside quotes is no separator.
  c = parse_challenges(R"(Bearer scope="repository:a:pull,push", realm="https://x/t")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].params.at("scope"), "repository:a:pull,push");
}

TEST(ChallengeTest, SeveralChallengesInOneHeader) {
  // RFC 7235's own example.
  auto c = parse_challenges(
      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "newauth");
  EXPECT_EQ(c[0].params,
            (Params{{"realm", "apps"}, {"type", "1"}, {"title", "Login to \"apps\""}}));
  EXPECT_EQ(c[1].scheme, "basic");
  EXPECT_EQ(c[1].params, (Params{{"realm", "simple"}}));

  c = parse_challenges(
      " , Negotiate abc+/==, Basic ,Bearer realm=\"https://t\" ,, Digest realm=x,nonce=\"n\",");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].scheme, "negotiate");
  EXPECT_EQ(c[0].token68, "abc+/==");
  EXPECT_TRUE(c[0].params.empty());
  EXPECT_EQ(c[1].scheme, "basic");
  EXPECT_TRUE(c[1].params.empty());
  EXPECT_EQ(c[2].scheme, "bearer");
  EXPECT_EQ(c[2].params, (Params{{"realm", "https://t"}}));
  EXPECT_EQ(c[3].scheme, "digest");
  EXPECT_EQ(c[3].params, (Params{{"realm", "x"}, {"nonce", "n"}}));
}

TEST(ChallengeTest, EmptyHasNone) {
  EXPECT_TRUE(parse_challenges("").empty());
  EXPECT_TRUE(parse_challenges("  ,  ").empty());
}

TEST(ChallengeTest, MalformedIsRefused) {
  EXPECT_NE(error_of(R"(Bearer realm="https://auth)").find("unterminated quoted string"),
            std::string::npos);
  EXPECT_NE(error_of(R"(Bearer realm="x\)").find("unterminated"), std::string::npos);
  EXPECT_NE(error_of("Bearer service realm=x").find("without '='"), std::string::npos);
  EXPECT_NE(error_of("Bearer a=b, c=").find("parameter value"), std::string::npos);
  EXPECT_NE(error_of("Bearer realm=\"a\" service=\"b\"").find("expected ','"), std::string::npos);
  EXPECT_NE(error_of("Bearer realm=a, REALM=b").find("\"realm\" given twice"), std::string::npos);
  EXPECT_NE(error_of("Bearer realm=a b").find("expected ','"), std::string::npos);
  EXPECT_NE(error_of("=realm").find("authentication scheme"), std::string::npos);
  EXPECT_NE(error_of("Bearer realm=\"a\x01\"").find("control character"), std::string::npos);
  EXPECT_NE(error_of("Bearer realm=\"x\", @=y").find("parameter or a scheme"), std::string::npos);
  // A lone token after a ',' is the next challenge's scheme, as the grammar reads it.
  auto two = parse_challenges("Bearer realm=\"x\", service");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].scheme, "service");
  // "realm=" reads as a token68 ("realm=" cannot be a parameter), which is not refused.
  EXPECT_EQ(parse_challenges("Bearer realm=")[0].token68, "realm=");
}

Challenge bearer(Params params) {
  return Challenge{"bearer", std::move(params), ""};
}

TEST(ChallengeTest, TokenUrl) {
  Challenge hub = parse_challenges(
      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"")[0];
  EXPECT_EQ(token_url(hub, "repository:library/alpine:pull"),
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%"
            "2Falpine%3Apull");
  EXPECT_EQ(token_url(hub, ""), "https://auth.docker.io/token?service=registry.docker.io");
  // No service: only the scope; characters outside the unreserved set are encoded.
  EXPECT_EQ(
      token_url(bearer({{"realm", "http://127.0.0.1:5001/auth"}}), "repository:a b/c&d=e:pull"),
      "http://127.0.0.1:5001/auth?scope=repository%3Aa%20b%2Fc%26d%3De%3Apull");
  EXPECT_EQ(token_url(bearer({{"realm", "https://t.example/token"}, {"service", "a+b ~x"}}), ""),
            "https://t.example/token?service=a%2Bb%20~x");
  // A realm with a query of its own keeps it; a fragment is dropped.
  EXPECT_EQ(token_url(bearer({{"realm", "https://t/token?account=x"}}), "s"),
            "https://t/token?account=x&scope=s");
  EXPECT_EQ(token_url(bearer({{"realm", "https://t/token?"}}), "s"), "https://t/token?scope=s");
  EXPECT_EQ(token_url(bearer({{"realm", "https://t/token#frag"}}), "s"), "https://t/token?scope=s");
  EXPECT_EQ(token_url(bearer({{"realm", "https://t/token"}}), ""), "https://t/token");
  EXPECT_EQ(percent_encode("\xc3\xa9/"), "%C3%A9%2F");
}

TEST(ChallengeTest, TokenUrlNeedsAnHttpRealm) {
  for (Params p : {Params{}, Params{{"realm", ""}}, Params{{"realm", "ftp://x/token"}},
                   Params{{"realm", "/token"}}}) {
    try {
      token_url(bearer(p), "s");
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kExitFailure);
      EXPECT_NE(e.message().find("realm"), std::string::npos) << e.message();
    }
  }
}

}  // namespace
}  // namespace execvm
