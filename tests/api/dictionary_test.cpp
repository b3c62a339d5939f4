// Tests of StringDictionary: dense codes, lookups and concurrent interning.
#include "sluice/dictionary.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "expect_error.hpp"

namespace sluice {
namespace {

using test::contains;
using test::error_message;

TEST(Dictionary, DenseStableCodes) {
  StringDictionary dict;
  EXPECT_EQ(dict.size(), 0u);
  EXPECT_EQ(dict.intern("a"), 0u);
  EXPECT_EQ(dict.intern("b"), 1u);
  EXPECT_EQ(dict.intern("a"), 0u);
  EXPECT_EQ(dict.intern(""), 2u);
  EXPECT_EQ(dict.size(), 3u);
  EXPECT_EQ(dict.at(1), "b");
  EXPECT_EQ(dict.at(2), "");
  EXPECT_EQ(dict.find("b"), std::optional<std::uint32_t>(1));
  EXPECT_FALSE(dict.find("c").has_value());
}

TEST(Dictionary, ViewsStayValidAsItGrows) {
  StringDictionary dict;
  const std::string_view first = dict.at(dict.intern("short"));
  for (int i = 0; i < 10000; ++i) dict.intern("string number " + std::to_string(i));
  EXPECT_EQ(first, "short");
  EXPECT_EQ(dict.find("short"), std::optional<std::uint32_t>(0));
  EXPECT_EQ(dict.at(5000), "string number 4999");
}

TEST(Dictionary, UnknownCode) {
  StringDictionary dict;
  dict.intern("x");
  const std::string message = error_message([&] { dict.at(7); }, ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(message, "7"));
}

TEST(Dictionary, ConcurrentIntern) {
  StringDictionary dict;
  constexpr int kThreads = 8;
  constexpr int kStrings = 2000;
  std::vector<std::vector<std::uint32_t>> codes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kStrings; ++i) {
        // Each thread walks the strings in a different order.
        const int k = (i * (t + 1)) % kStrings;
        codes[t].push_back(dict.intern("s" + std::to_string(k)));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(dict.size(), static_cast<std::size_t>(kStrings));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kStrings; ++i) {
      const int k = (i * (t + 1)) % kStrings;
      EXPECT_EQ(dict.at(codes[t][i]), "s" + std::to_string(k));
    }
  }
}

/// A carried-over dictionary keeps the chosen strings under their codes; the others' codes are
/// free, name nothing, and are given to new strings in ascending order before any new code.
TEST(Dictionary, CarriedOverKeepsCodesAndReusesFreeOnesInOrder) {
  StringDictionary old;
  for (int i = 0; i < 10; ++i) old.intern("s" + std::to_string(i));
  const std::vector<std::uint32_t> keep{7, 2, 5};
  StringDictionary next(old, keep);
  EXPECT_EQ(next.size(), 3u);
  EXPECT_EQ(next.code_limit(), 10u);
  for (std::uint32_t c : keep) {
    EXPECT_TRUE(next.contains(c));
    EXPECT_EQ(next.at(c), "s" + std::to_string(c));
    EXPECT_EQ(next.find("s" + std::to_string(c)), std::optional<std::uint32_t>(c));
  }
  EXPECT_FALSE(next.contains(0));
  EXPECT_FALSE(next.find("s0").has_value());
  EXPECT_TRUE(contains(error_message([&] { next.at(3); }, ErrorCode::invalid_argument), "3"));
  // The old dictionary is untouched.
  EXPECT_EQ(old.size(), 10u);
  EXPECT_EQ(old.at(3), "s3");
  // Free codes 0 1 3 4 6 8 9, then 10, 11, ...
  const std::vector<std::uint32_t> expected{0, 1, 3, 4, 6, 8, 9, 10, 11};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(next.intern("n" + std::to_string(i)), expected[i]);
    EXPECT_EQ(next.intern("s7"), 7u);  // kept strings keep their code
  }
  EXPECT_EQ(next.codes_given(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(next.code_given(i), expected[i]);
    EXPECT_EQ(next.at(expected[i]), "n" + std::to_string(i));
  }
  EXPECT_EQ(next.size(), 3u + expected.size());
  EXPECT_EQ(next.code_limit(), 12u);
  error_message([&] { next.code_given(expected.size()); }, ErrorCode::invalid_argument);
}

TEST(Dictionary, CarryOverRefusesUnknownAndRepeatedCodes) {
  StringDictionary old;
  old.intern("a");
  old.intern("b");
  const std::vector<std::uint32_t> unknown{0, 2};
  EXPECT_TRUE(contains(
      error_message([&] { StringDictionary d(old, unknown); }, ErrorCode::invalid_argument),
      "code 2"));
  const std::vector<std::uint32_t> twice{1, 1};
  EXPECT_TRUE(
      contains(error_message([&] { StringDictionary d(old, twice); }, ErrorCode::invalid_argument),
               "twice"));
  // A free code of a carried-over dictionary cannot be carried over again.
  const std::vector<std::uint32_t> one{1};
  StringDictionary next(old, one);
  const std::vector<std::uint32_t> freed{0};
  error_message([&] { StringDictionary d(next, freed); }, ErrorCode::invalid_argument);
  StringDictionary again(next, one);
  EXPECT_EQ(again.at(1), "b");
  EXPECT_EQ(again.intern("c"), 0u);
}

/// A dictionary made from codes and texts (a checkpoint's) is the one they were read from: the
/// same strings under the same codes, and new strings get the codes the original would give
/// next, whether it was carried over and partly refilled or dense.
TEST(Dictionary, FromCodesAndTextsGivesCodesAsTheOriginalWould) {
  StringDictionary first;
  for (int i = 0; i < 12; ++i) first.intern("s" + std::to_string(i));
  const std::vector<std::uint32_t> keep{9, 1, 4};
  StringDictionary original(first, keep);
  original.intern("a");  // code 0
  original.intern("b");  // code 2
  for (const StringDictionary* from : {&first, &original}) {
    std::vector<std::uint32_t> codes;
    std::vector<std::string> texts;
    for (std::uint32_t c = 0; c < from->code_limit(); ++c)
      if (from->contains(c)) {
        codes.push_back(c);
        texts.emplace_back(from->at(c));
      }
    StringDictionary copy(codes, texts, from->code_limit());
    EXPECT_EQ(copy.size(), from->size());
    EXPECT_EQ(copy.code_limit(), from->code_limit());
    for (std::size_t i = 0; i < codes.size(); ++i) {
      EXPECT_EQ(copy.at(codes[i]), texts[i]);
      EXPECT_EQ(copy.find(texts[i]), std::optional<std::uint32_t>(codes[i]));
    }
  }
  // The free codes in order, then new ones.
  std::vector<std::uint32_t> codes{0, 1, 2, 4, 9};
  std::vector<std::string> texts{"a", "s1", "b", "s4", "s9"};
  StringDictionary copy(codes, texts, 12);
  for (std::uint32_t want : {3u, 5u, 6u, 7u, 8u, 10u, 11u, 12u, 13u})
    EXPECT_EQ(copy.intern("new" + std::to_string(want)), want);
  for (int i = 0; i < 9; ++i) original.intern("new" + std::to_string(i));
  EXPECT_EQ(original.code_limit(), copy.code_limit());
}

TEST(Dictionary, FromCodesAndTextsRefusesWhatNoDictionaryHolds) {
  const std::vector<std::uint32_t> two{0, 1};
  const std::vector<std::string> one{"a"};
  EXPECT_TRUE(
      contains(error_message([&] { StringDictionary d(two, one, 5); }, ErrorCode::invalid_argument),
               "2 codes for 1 strings"));
  const std::vector<std::string> ab{"a", "b"}, aa{"a", "a"};
  EXPECT_TRUE(
      contains(error_message([&] { StringDictionary d(two, ab, 1); }, ErrorCode::invalid_argument),
               "beyond the limit"));
  const std::vector<std::uint32_t> same{3, 3};
  EXPECT_TRUE(
      contains(error_message([&] { StringDictionary d(same, ab, 5); }, ErrorCode::invalid_argument),
               "given twice"));
  EXPECT_TRUE(
      contains(error_message([&] { StringDictionary d(two, aa, 5); }, ErrorCode::invalid_argument),
               "'a' given twice"));
  StringDictionary empty(std::span<const std::uint32_t>{}, std::span<const std::string>{}, 0);
  EXPECT_EQ(empty.intern("x"), 0u);
}

/// first_unknown finds the first code that names no string, dense or with free codes.
TEST(Dictionary, FirstUnknownCode) {
  StringDictionary dense;
  for (int i = 0; i < 5; ++i) dense.intern(std::to_string(i));
  std::vector<std::uint32_t> codes{4, 0, 3, 1};
  EXPECT_EQ(dense.first_unknown(codes), codes.size());
  EXPECT_EQ(dense.first_unknown({}), 0u);
  codes.push_back(5);
  codes.push_back(2);
  EXPECT_EQ(dense.first_unknown(codes), 4u);
  const std::vector<std::uint32_t> keep{1, 3};
  StringDictionary sparse(dense, keep);
  const std::vector<std::uint32_t> ok{3, 1, 1}, free_code{3, 1, 2, 9};
  EXPECT_EQ(sparse.first_unknown(ok), ok.size());
  EXPECT_EQ(sparse.first_unknown(free_code), 2u);
  sparse.intern("x");  // takes code 0
  const std::vector<std::uint32_t> now{0, 1, 3};
  EXPECT_EQ(sparse.first_unknown(now), now.size());
}

/// bytes() follows what the dictionary holds: it grows with strings and a carried-over
/// dictionary of few strings holds far fewer.
TEST(Dictionary, BytesFollowTheStringsHeld) {
  StringDictionary dict;
  const std::size_t empty = dict.bytes();
  for (int i = 0; i < 10000; ++i)
    dict.intern("a string long enough to live on the heap " + std::to_string(i));
  const std::size_t full = dict.bytes();
  EXPECT_GT(full, empty + 10000 * 40);
  const std::vector<std::uint32_t> keep{17, 9999};
  StringDictionary few(dict, keep);
  EXPECT_LT(few.bytes() * 3, full);  // what stays is mostly the free codes' slots
}

/// Interns from several threads into a carried-over dictionary give each string one code, free
/// codes first, none twice.
TEST(Dictionary, ConcurrentInternReusesEachFreeCodeOnce) {
  StringDictionary old;
  for (int i = 0; i < 4000; ++i) old.intern("old" + std::to_string(i));
  std::vector<std::uint32_t> keep;
  for (std::uint32_t c = 0; c < 4000; c += 4) keep.push_back(c);
  StringDictionary dict(old, keep);
  constexpr int kThreads = 4;
  constexpr int kStrings = 3000;
  std::vector<std::vector<std::uint32_t>> codes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kStrings; ++i)
        codes[t].push_back(dict.intern("new" + std::to_string((i * (t + 1)) % kStrings)));
    });
  for (std::thread& th : threads) th.join();
  std::set<std::uint32_t> given;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kStrings; ++i) {
      EXPECT_EQ(dict.at(codes[t][i]), "new" + std::to_string((i * (t + 1)) % kStrings));
      given.insert(codes[t][i]);
      EXPECT_NE(codes[t][i] % 4, 0u);  // never a kept code
    }
  EXPECT_EQ(given.size(), static_cast<std::size_t>(kStrings));
  // 3000 free codes below 4000: exactly those.
  EXPECT_EQ(*given.rbegin(), 3999u);
  EXPECT_EQ(dict.code_limit(), 4000u);
}

}  // namespace
}  // namespace sluice
