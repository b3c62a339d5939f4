// Tests of WordList (kernels/host/word_list.hpp) against a std::vector fed the same rows.
#include "kernels/host/word_list.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace sluice::test {
namespace {

using detail::WordList;

void expect_same(const WordList& list, const std::vector<std::uint64_t>& reference) {
  ASSERT_EQ(list.size(), reference.size());
  ASSERT_GE(list.capacity(), list.size());
  for (std::size_t i = 0; i < reference.size(); ++i)
    ASSERT_EQ(list.data()[i], reference[i]) << "word " << i;
}

TEST(WordList, StartsEmpty) {
  const WordList list;
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.capacity(), 0u);
}

// Rows of random widths (1 to 9 words, so that growth lands mid-row), appended across many
// growths, one round after another with clear() in between: contents and sizes as a vector's.
TEST(WordList, AppendedRowsMatchAVector) {
  std::mt19937_64 rng(7);
  WordList list;
  for (const std::size_t rows : std::vector<std::size_t>{0, 1, 3, 1000, 4097}) {
    list.clear();
    std::vector<std::uint64_t> reference;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t width = 1 + rng() % 9;
      std::uint64_t* to = list.append(width);
      for (std::size_t w = 0; w < width; ++w) {
        const std::uint64_t word = rng();
        to[w] = word;
        reference.push_back(word);
      }
    }
    expect_same(list, reference);
  }
}

TEST(WordList, ReserveKeepsContentsAndCapacitySurvivesClear) {
  WordList list;
  std::uint64_t* to = list.append(3);
  to[0] = 10;
  to[1] = 11;
  to[2] = 12;
  list.reserve(100);
  EXPECT_GE(list.capacity(), 100u);
  expect_same(list, {10, 11, 12});
  const std::uint64_t* data = list.data();
  list.reserve(50);  // smaller than the capacity: nothing moves
  EXPECT_EQ(list.data(), data);
  list.clear();
  EXPECT_EQ(list.size(), 0u);
  EXPECT_GE(list.capacity(), 100u);
  // Appends within the capacity reuse the same words: no reallocation.
  for (int i = 0; i < 25; ++i) list.append(4)[0] = static_cast<std::uint64_t>(i);
  EXPECT_EQ(list.data(), data);
  EXPECT_EQ(list.size(), 100u);
}

}  // namespace
}  // namespace sluice::test
