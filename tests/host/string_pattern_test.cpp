// LIKE matching against std::regex on random texts and patterns over a small alphabet (so that
// '%' and '_' meet repeated letters, empty runs and backtracking), and by hand.
#include "host/engine/string_pattern.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>

namespace sluice::detail {
namespace {

/// The pattern as an ECMAScript regex matched whole: % is .*, _ is ., letters stand for
/// themselves (the alphabet holds no regex metacharacters).
bool regex_like(const std::string& text, const std::string& pattern) {
  std::string re;
  for (const char c : pattern)
    re += c == '%' ? std::string(".*") : c == '_' ? "." : std::string(1, c);
  return std::regex_match(text, std::regex(re));
}

TEST(LikeMatch, ByHand) {
  EXPECT_TRUE(like_match("web-1", "web-%"));
  EXPECT_TRUE(like_match("web-", "web-%"));
  EXPECT_FALSE(like_match("we", "web-%"));
  EXPECT_TRUE(like_match("db-12", "%-1_"));
  EXPECT_FALSE(like_match("db-1", "%-1_"));
  EXPECT_TRUE(like_match("", ""));
  EXPECT_TRUE(like_match("", "%%"));
  EXPECT_FALSE(like_match("", "_"));
  EXPECT_FALSE(like_match("a", ""));
  EXPECT_TRUE(like_match("abcabcabd", "%abd"));
  EXPECT_TRUE(like_match("aaa", "a%a%a"));
  EXPECT_FALSE(like_match("aa", "a%a%a"));
  EXPECT_FALSE(like_match("Web-1", "web-%"));  // case matters
  EXPECT_TRUE(like_match("50% off", "50%"));   // '%' in the text is an ordinary byte
}

TEST(LikeMatch, AgreesWithARegexOnRandomInputs) {
  std::mt19937_64 rng(20261203);
  const std::string text_chars = "ab";
  const std::string pattern_chars = "ab%_";
  int matched = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text, pattern;
    for (std::size_t n = rng() % 9; n > 0; --n) text += text_chars[rng() % text_chars.size()];
    for (std::size_t n = rng() % 7; n > 0; --n)
      pattern += pattern_chars[rng() % pattern_chars.size()];
    const bool want = regex_like(text, pattern);
    ASSERT_EQ(like_match(text, pattern), want) << "'" << text << "' like '" << pattern << "'";
    matched += want ? 1 : 0;
  }
  // Both outcomes are well represented: the comparison tests something.
  EXPECT_GT(matched, 2000);
  EXPECT_LT(matched, 18000);
}

}  // namespace
}  // namespace sluice::detail
