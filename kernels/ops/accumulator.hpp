// Accumulator state columns: (init, add, merge) on 64-bit words; aggregates map onto them.
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/ops/hd.hpp"
#include "kernels/ops/key_word.hpp"

namespace sluice::detail {

/// @brief What one state column accumulates. count is sum_i64 of the constant 1; avg is a
/// sum column plus a count column, finalized on the host. More kinds (first/last, sketch
/// words) are added as new values with their own init and merge.
enum class StateOp : std::uint8_t { sum_i64, sum_f64, min_i64, min_f64, max_i64, max_f64 };

/// @brief Identity of the merge: 0 for sums, +max for min, lowest for max.
SLUICE_HD inline std::uint64_t state_init(StateOp op) {
  switch (op) {
    case StateOp::sum_i64:
      return 0;
    case StateOp::sum_f64:
      return double_bits(0.0);
    case StateOp::min_i64:
      return static_cast<std::uint64_t>(INT64_MAX);
    case StateOp::min_f64:
      return double_bits(std::numeric_limits<double>::infinity());
    case StateOp::max_i64:
      return static_cast<std::uint64_t>(INT64_MIN);
    case StateOp::max_f64:
      return double_bits(-std::numeric_limits<double>::infinity());
  }
  return 0;
}

/// @brief The one NaN float min/max produce (a fixed bit pattern, so results do not depend on
/// which NaN came first).
inline constexpr std::uint64_t kCanonicalNaNBits = 0x7ff8000000000000ULL;

/// @brief Combines two states (or a state and one input value: add == merge for these kinds).
/// Float min/max of anything with a NaN is NaN (kCanonicalNaNBits), as in Java's Math.min, so
/// the result does not depend on the order of merging.
SLUICE_HD inline std::uint64_t state_merge(StateOp op, std::uint64_t a, std::uint64_t b) {
  const auto ai = static_cast<std::int64_t>(a);
  const auto bi = static_cast<std::int64_t>(b);
  switch (op) {
    case StateOp::sum_i64:
      return a + b;  // wraps like SQL engines' int64 sums on overflow
    case StateOp::sum_f64:
      return double_bits(bits_double(a) + bits_double(b));
    case StateOp::min_i64:
      return bi < ai ? b : a;
    case StateOp::max_i64:
      return bi > ai ? b : a;
    case StateOp::min_f64:
    case StateOp::max_f64: {
      const double da = bits_double(a);
      const double db = bits_double(b);
      if (da != da || db != db) return kCanonicalNaNBits;
      if (op == StateOp::min_f64) return db < da ? b : a;
      return db > da ? b : a;
    }
  }
  return a;
}

/// @brief Binary merge functor for Thrust reductions.
struct StateMerge {
  StateOp op;
  SLUICE_HD std::uint64_t operator()(std::uint64_t a, std::uint64_t b) const {
    return state_merge(op, a, b);
  }
};

}  // namespace sluice::detail
