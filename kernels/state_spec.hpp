// StateSpec: the accumulator state columns of a query and where their inputs come from.
#pragma once

#include <cstdint>

#include "kernels/ops/accumulator.hpp"

namespace sluice::detail {

inline constexpr int kMaxStates = 32;

/// @brief State column s merges with ops[s]; its per-event input is projected output
/// inputs[s], or the constant 1 when inputs[s] < 0 (count). Trivially copyable.
struct StateSpec {
  StateOp ops[kMaxStates] = {};
  std::int16_t inputs[kMaxStates] = {};
  int count = 0;
};

}  // namespace sluice::detail
