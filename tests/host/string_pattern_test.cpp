// LIKE matching against std::regex on random texts and patterns over a small alphabet (so that
// '%' and '_' meet repeated letters, empty runs and backtracking), and by hand.
#include "host/engine/string_pattern.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

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

/// LIKE by its definition over characters: `text` and `pattern` as sequences of characters
/// (each a whole UTF-8 sequence), '%' and '_' one character each.
bool reference_like(const std::vector<std::string>& t, std::size_t i,
                    const std::vector<std::string>& p, std::size_t j) {
  if (j == p.size()) return i == t.size();
  if (p[j] == "%")
    return reference_like(t, i, p, j + 1) || (i < t.size() && reference_like(t, i + 1, p, j));
  return i < t.size() && (p[j] == "_" || p[j] == t[i]) && reference_like(t, i + 1, p, j + 1);
}

TEST(LikeMatch, UnderscoreTakesOneUtf8CharacterOfAnyLength) {
  EXPECT_TRUE(like_match("café", "caf_"));
  EXPECT_FALSE(like_match("café", "caf__"));
  EXPECT_TRUE(like_match("€1", "_1"));
  EXPECT_TRUE(
      like_match("a\xF0\x9D\x84\x9E"
                 "b",
                 "a_b"));                // a 4-byte character
  EXPECT_TRUE(like_match("\xFF", "_"));  // a stray byte is a character too
  std::mt19937_64 rng(7);
  const std::vector<std::string> text_chars = {"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9D\x84\x9E"};
  const std::vector<std::string> pattern_chars = {"a", "\xC3\xA9", "\xE2\x82\xAC", "%", "_"};
  int matched = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::string> t, p;
    for (std::size_t n = rng() % 7; n > 0; --n) t.push_back(text_chars[rng() % text_chars.size()]);
    for (std::size_t n = rng() % 6; n > 0; --n)
      p.push_back(pattern_chars[rng() % pattern_chars.size()]);
    std::string text, pattern;
    for (const std::string& c : t) text += c;
    for (const std::string& c : p) pattern += c;
    const bool want = reference_like(t, 0, p, 0);
    ASSERT_EQ(like_match(text, pattern), want) << "'" << text << "' like '" << pattern << "'";
    matched += want ? 1 : 0;
  }
  EXPECT_GT(matched, 1000);
  EXPECT_LT(matched, 19000);
}

}  // namespace
}  // namespace sluice::detail
