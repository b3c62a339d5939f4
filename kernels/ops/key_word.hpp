// Key words: every key column value widened to one 64-bit word that compares by value.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/ops/hd.hpp"

namespace sluice::detail {

SLUICE_HD inline std::uint64_t double_bits(double v) {
  std::uint64_t w;
  std::memcpy(&w, &v, sizeof w);
  return w;
}
SLUICE_HD inline double bits_double(std::uint64_t w) {
  double v;
  std::memcpy(&v, &w, sizeof v);
  return v;
}

/// @brief Key word of a floating-point key: -0.0 folds into +0.0 and every NaN into one NaN,
/// so values equal under grouping have equal words.
SLUICE_HD inline std::uint64_t float_key_word(double v) {
  if (v == 0.0) return 0;
  if (v != v) return 0x7ff8000000000000ULL;
  return double_bits(v);
}

}  // namespace sluice::detail
