// Tests of the key hash (ops/hash.hpp) and key words (ops/key_word.hpp) against their definitions.
#include "kernels/ops/hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernel_test_util.hpp"
#include "kernels/ops/key_word.hpp"

namespace sluice::test {
namespace {

using detail::double_bits;
using detail::float_key_word;
using detail::fmix64;
using detail::hash_combine;

// Multiplicative inverse modulo 2^64 of an odd number (Newton's iteration).
std::uint64_t inverse_odd(std::uint64_t a) {
  std::uint64_t x = a;
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}

// Inverse of x ^= x >> 33 (two applications recover x since 2 * 33 >= 64).
std::uint64_t unshift33(std::uint64_t x) { return x ^ (x >> 33); }

std::uint64_t inverse_fmix64(std::uint64_t k) {
  k = unshift33(k);
  k *= inverse_odd(0xc4ceb9fe1a85ec53ULL);
  k = unshift33(k);
  k *= inverse_odd(0xff51afd7ed558ccdULL);
  k = unshift33(k);
  return k;
}

TEST(Fmix64, MatchesDefinitionAndIsABijection) {
  SLUICE_SEEDED_RNG(rng);
  EXPECT_EQ(fmix64(0), 0u);
  const std::vector<std::uint64_t> edges = {1, 2, 0x8000000000000000ULL, ~0ULL,
                                            0x9e3779b97f4a7c15ULL};
  for (std::uint64_t x : edges) {
    EXPECT_EQ(fmix64(x), ref_fmix64(x)) << x;
    EXPECT_EQ(inverse_fmix64(fmix64(x)), x) << x;
  }
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t x = rng();
    ASSERT_EQ(fmix64(x), ref_fmix64(x)) << x;
    ASSERT_EQ(inverse_fmix64(fmix64(x)), x) << x;
  }
}

TEST(HashCombine, MatchesDocumentedFormula) {
  SLUICE_SEEDED_RNG(rng);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t h = rng(), w = rng();
    const std::uint64_t want =
        ref_fmix64(h ^ ref_fmix64(w + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
    ASSERT_EQ(hash_combine(h, w), want) << h << " " << w;
  }
}

TEST(KeyHasher, HashesStructureOfArraysRowsAsDocumented) {
  SLUICE_SEEDED_RNG(rng);
  for (int words = 1; words <= 4; ++words) {
    for (std::size_t n : {1u, 31u, 1000u}) {
      const std::size_t stride = n + 17;  // stride larger than the row count
      std::vector<std::uint64_t> soa(stride * words);
      for (auto& w : soa) w = rng() % 5 == 0 ? rng() % 3 : rng();
      const KeyHasher hasher;
      for (std::size_t row = 0; row < n; ++row) {
        std::uint64_t key[4];
        for (int j = 0; j < words; ++j) key[j] = soa[j * stride + row];
        ASSERT_EQ(hasher(soa.data(), stride, words, row), ref_key_hash(key, words))
            << "words " << words << " row " << row;
      }
    }
  }
}

TEST(KeyHasher, ZeroWordKeyHashesToSeed) {
  const KeyHasher hasher;
  EXPECT_EQ(hasher(nullptr, 0, 0, 0), detail::kKeyHashSeed);
}

TEST(KeyHasher, MaskNarrowsEveryHash) {
  SLUICE_SEEDED_RNG(rng);
  for (std::uint64_t mask : {0x7ULL, 0x0ULL, 0xff00ULL}) {
    const KeyHasher narrow{mask};
    const KeyHasher full;
    for (int i = 0; i < 10000; ++i) {
      const std::uint64_t w[2] = {rng(), rng()};
      ASSERT_EQ(narrow(w, 1, 2, 0), full(w, 1, 2, 0) & mask);
      ASSERT_EQ(narrow(w, 1, 2, 0), ref_key_hash(w, 2, mask));
      ASSERT_EQ(narrow.mix(w[0], w[1], 5), full.mix(w[0], w[1], 5) & mask);
    }
  }
}

TEST(KeyHasher, MixIsTheHashOfThreeWords) {
  SLUICE_SEEDED_RNG(rng);
  const KeyHasher hasher;
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t w[3] = {rng() % 1000, static_cast<std::uint64_t>(-(rng() % 100)),
                                rng() % 4};
    ASSERT_EQ(hasher.mix(w[0], w[1], w[2]), ref_key_hash(w, 3));
  }
}

// One-word hashes are compositions of bijections, so distinct words never collide.
TEST(KeyHasher, OneWordHashIsInjective) {
  SLUICE_SEEDED_RNG(rng);
  const KeyHasher hasher;
  const std::uint64_t base = rng();
  std::vector<std::uint64_t> hashes(kLarge);
  for (std::size_t i = 0; i < kLarge; ++i) {
    const std::uint64_t w = base + i;  // consecutive words: the hardest case for weak hashes
    hashes[i] = hasher(&w, 1, 1, 0);
  }
  std::sort(hashes.begin(), hashes.end());
  EXPECT_EQ(std::adjacent_find(hashes.begin(), hashes.end()), hashes.end());
}

TEST(KeyHasher, TwoWordKeysSpreadOverLowBits) {
  // Tables index by hash & mask and partitions by hash % parts: low bits must be uniform even for
  // keys that differ only in small counters.
  const KeyHasher hasher;
  constexpr int kBuckets = 64;
  constexpr int kKeys = 200000;
  std::vector<int> buckets(kBuckets, 0);
  std::vector<int> mod7(7, 0);
  for (int i = 0; i < kKeys; ++i) {
    const std::uint64_t w[2] = {static_cast<std::uint64_t>(i % 3),
                                static_cast<std::uint64_t>(i / 3)};
    const std::uint64_t h = hasher(w, 1, 2, 0);
    ++buckets[h & (kBuckets - 1)];
    ++mod7[h % 7];
  }
  for (int b = 0; b < kBuckets; ++b) {
    EXPECT_NEAR(buckets[b], kKeys / kBuckets, kKeys / kBuckets * 0.1) << "bucket " << b;
  }
  for (int b = 0; b < 7; ++b) EXPECT_NEAR(mod7[b], kKeys / 7, kKeys / 7 * 0.05) << "mod " << b;
}

TEST(KeyHasher, FlippingOneInputBitFlipsAboutHalfTheOutput) {
  SLUICE_SEEDED_RNG(rng);
  const KeyHasher hasher;
  double flipped = 0;
  int trials = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t w = rng();
    const std::uint64_t h = hasher(&w, 1, 1, 0);
    for (int bit = 0; bit < 64; ++bit) {
      const std::uint64_t v = w ^ (1ULL << bit);
      flipped += std::popcount(h ^ hasher(&v, 1, 1, 0));
      ++trials;
    }
  }
  EXPECT_NEAR(flipped / trials, 32.0, 0.5);
}

TEST(KeyWord, DoubleBitsRoundTrip) {
  SLUICE_SEEDED_RNG(rng);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t w = rng();
    EXPECT_EQ(double_bits(detail::bits_double(w)), w);
  }
  EXPECT_EQ(double_bits(1.0), 0x3ff0000000000000ULL);
  EXPECT_EQ(double_bits(-2.0), 0xc000000000000000ULL);
  EXPECT_EQ(detail::bits_double(0x4008000000000000ULL), 3.0);
}

TEST(KeyWord, SignedZerosGroupTogether) {
  EXPECT_EQ(float_key_word(0.0), float_key_word(-0.0));
  EXPECT_EQ(float_key_word(-0.0), 0u);
  EXPECT_NE(double_bits(-0.0), double_bits(0.0));  // the raw bits differ: the fold is needed
}

TEST(KeyWord, EveryNaNFoldsIntoOne) {
  const double nans[] = {
      std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::signaling_NaN(), detail::bits_double(0x7ff0000000000001ULL),
      detail::bits_double(0xfff8dead0000beefULL)};
  for (double v : nans) EXPECT_EQ(float_key_word(v), 0x7ff8000000000000ULL);
}

TEST(KeyWord, OtherValuesKeepTheirBitsAndStayDistinct) {
  SLUICE_SEEDED_RNG(rng);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  std::vector<double> values = {1.0,
                                -1.0,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity(),
                                std::numeric_limits<double>::denorm_min(),
                                -std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::lowest()};
  for (int i = 0; i < 10000; ++i) values.push_back(u(rng));
  std::vector<std::uint64_t> words;
  for (double v : values) {
    ASSERT_EQ(float_key_word(v), double_bits(v)) << v;
    words.push_back(float_key_word(v));
  }
  std::sort(values.begin(), values.end());
  const auto distinct_values = std::unique(values.begin(), values.end()) - values.begin();
  std::sort(words.begin(), words.end());
  const auto distinct_words = std::unique(words.begin(), words.end()) - words.begin();
  EXPECT_EQ(distinct_words, distinct_values);
}

}  // namespace
}  // namespace sluice::test
