// The fixed 64-bit key hash: murmur3's fmix64 finalizer chained over the key's 64-bit words.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/hd.hpp"

namespace sluice::detail {

/// @brief MurmurHash3's 64-bit finalizer: a bijection with full avalanche.
SLUICE_HD inline std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline constexpr std::uint64_t kKeyHashSeed = 0x9e3779b97f4a7c15ULL;

/// @brief Folds one 64-bit word into a running hash. The documented key hash of words
/// w0..wk-1 is h = kKeyHashSeed; h = combine(h, wi) for each i in order, where
/// combine(h, w) = fmix64(h ^ fmix64(w + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2))).
SLUICE_HD inline std::uint64_t hash_combine(std::uint64_t h, std::uint64_t word) {
  return fmix64(h ^ fmix64(word + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

/// @brief Hashes keys stored as 64-bit words in structure-of-arrays layout. `mask` is all ones
/// in production; tests narrow it to force collisions (equal keys still compare by value).
struct KeyHasher {
  std::uint64_t mask = ~std::uint64_t{0};

  /// @brief Hash of the key in row `row` of `num_words` columns, column j at words[j * stride].
  SLUICE_HD std::uint64_t operator()(const std::uint64_t* words, std::size_t stride, int num_words,
                                     std::size_t row) const {
    std::uint64_t h = kKeyHashSeed;
    for (int j = 0; j < num_words; ++j) h = hash_combine(h, words[j * stride + row]);
    return h & mask;
  }
  /// @brief Hash of a composite of up to three words (window-state slots).
  SLUICE_HD std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) const {
    return hash_combine(hash_combine(hash_combine(kKeyHashSeed, a), b), c) & mask;
  }
};

}  // namespace sluice::detail
