// Warp-aggregated state combines and output reservations (shared or global memory).
#pragma once

#include <cstdint>

#include "kernels/ops/aggregates.hpp"

namespace sluice::detail {

inline constexpr unsigned kFullWarp = 0xffffffffu;

/// @brief Warp-aggregated combine: the lanes of `group` (those of one slot, from __match_any_sync)
/// fold their values `v` into the group's lowest lane, which alone then combines into memory;
/// returns true for that lane, whose `v` now holds the folded value. So 32 lanes hitting one hot
/// slot cost one atomic instead of 32 serialized ones.
/// @pre Every lane of `group` calls it with the same `group` and `op`.
__device__ inline bool warp_fold(unsigned group, StateOp op, std::uint64_t& v) {
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const int leader = __ffs(static_cast<int>(group)) - 1;
  // Every lane of the group runs the same loop, so each shuffle's mask is exactly the group.
  for (unsigned others = group & (group - 1u); others != 0; others &= others - 1u) {
    const int source = __ffs(static_cast<int>(others)) - 1;
    const std::uint64_t x = __shfl_sync(group, v, source);
    if (lane == leader) v = state_combine(op, v, x);
  }
  return lane == leader;
}

/// @brief warp_fold for a pair state (first/last): the lanes of `group` fold their (time, value)
/// pairs into the lowest lane, which returns true and holds the winning pair.
/// @pre Every lane of `group` calls it with the same `group` and `op`.
__device__ inline bool warp_fold_pair(unsigned group, StateOp op, std::uint64_t& t,
                                      std::uint64_t& v) {
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const int leader = __ffs(static_cast<int>(group)) - 1;
  for (unsigned others = group & (group - 1u); others != 0; others &= others - 1u) {
    const int source = __ffs(static_cast<int>(others)) - 1;
    const std::uint64_t other_t = __shfl_sync(group, t, source);
    const std::uint64_t other_v = __shfl_sync(group, v, source);
    if (lane == leader && pair_wins(op, other_t, other_v, t, v)) {
      t = other_t;
      v = other_v;
    }
  }
  return lane == leader;
}

/// @brief warp_fold for a 128-bit integer sum: the lanes of `group` add their (lo, hi) into the
/// lowest lane, which returns true and holds the group's sum.
/// @pre Every lane of `group` calls it with the same `group`.
__device__ inline bool warp_fold_wide(unsigned group, std::uint64_t& lo, std::uint64_t& hi) {
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const int leader = __ffs(static_cast<int>(group)) - 1;
  for (unsigned others = group & (group - 1u); others != 0; others &= others - 1u) {
    const int source = __ffs(static_cast<int>(others)) - 1;
    const std::uint64_t other_lo = __shfl_sync(group, lo, source);
    const std::uint64_t other_hi = __shfl_sync(group, hi, source);
    if (lane == leader) wide_add(lo, hi, other_lo, other_hi);
  }
  return lane == leader;
}

/// @brief The sum of `v` over the warp, in every lane. @pre All 32 lanes of the warp call it.
__device__ inline unsigned warp_sum(unsigned v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullWarp, v, offset);
  return v;
}

/// @brief Warp-aggregated reservation of one position per lane with `want`: one atomicAdd on
/// `counter` per warp. Returns the lane's position (unspecified without `want`).
/// @pre All 32 lanes of the warp call it.
__device__ inline unsigned long long warp_reserve(bool want, unsigned long long* counter) {
  const unsigned wanting = __ballot_sync(kFullWarp, want);
  if (wanting == 0) return 0;
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const int leader = __ffs(static_cast<int>(wanting)) - 1;
  unsigned long long base = 0;
  if (lane == leader) base = atomicAdd(counter, static_cast<unsigned long long>(__popc(wanting)));
  base = __shfl_sync(kFullWarp, base, leader);
  return base + static_cast<unsigned long long>(__popc(wanting & ((1u << lane) - 1u)));
}

}  // namespace sluice::detail
