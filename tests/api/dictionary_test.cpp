// Tests of StringDictionary: dense codes, lookups and concurrent interning.
#include "sluice/dictionary.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sluice
