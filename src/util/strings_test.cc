#include "util/strings.h"

#include <gtest/gtest.h>

namespace execvm {
namespace {

using std::chrono::milliseconds;

TEST(ToLower, AsciiLettersOnly) {
  EXPECT_EQ(to_lower("Registry.Example:5000/A_b"), "registry.example:5000/a_b");
  EXPECT_EQ(to_lower("\xc3\x89"), "\xc3\x89");  // bytes beyond ASCII stay
}

TEST(ParseDuration, UnitsAndBareSeconds) {
  EXPECT_EQ(parse_duration("5"), milliseconds(5000));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  for (auto bad : {"", "s", "-1", "5x", "1..2s", "abc", "5 s s"})
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
}

TEST(ParseMebibytes, LikeQemu) {
  EXPECT_EQ(parse_mebibytes("256"), 256u);
  EXPECT_EQ(parse_mebibytes("256M"), 256u);
  EXPECT_EQ(parse_mebibytes("1G"), 1024u);
  EXPECT_EQ(parse_mebibytes("1.5G"), 1536u);
  EXPECT_EQ(parse_mebibytes("2GiB"), 2048u);
  for (auto bad : {"", "0", "0.5", "12K", "x", "-5"})
    EXPECT_EQ(parse_mebibytes(bad), std::nullopt) << bad;
}

TEST(FormatDuration, Readable) {
  EXPECT_EQ(format_duration(milliseconds(750)), "750ms");
  EXPECT_EQ(format_duration(milliseconds(5000)), "5s");
  EXPECT_EQ(format_duration(milliseconds(2500)), "2.5s");
  EXPECT_EQ(format_duration(milliseconds(180000)), "3m");
}

TEST(ShellQuote, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(shell_quote("ls"), "ls");
  EXPECT_EQ(shell_quote("/usr/bin/wc"), "/usr/bin/wc");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(is_utf8("plain"));
  EXPECT_TRUE(is_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("\xc3"));
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(Base64, RoundTripsAndRejects) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff\x80", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  for (auto bad : {"Zg=", "Z===", "Zm9v!mFy", "Zh=="})
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
}

TEST(Split, KeepsEmptyFields) {
  EXPECT_EQ(split("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", ':'), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace execvm
