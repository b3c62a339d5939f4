// Atomic state merges and their warp-aggregated form (shared or global memory).
#pragma once

#include <cstdint>

#include "kernels/ops/accumulator.hpp"

namespace sluice::detail {

inline constexpr unsigned kFullWarp = 0xffffffffu;

/// @brief Merges `v` into the state word at `p` with `op`, atomically. Works on shared and
/// global memory. Integer sums, min and max are single atomics; float min/max loop on CAS and
/// stop as soon as `v` cannot change the word (states only move one way).
__device__ inline void atomic_state_merge(StateOp op, std::uint64_t* p, std::uint64_t v) {
  auto* word = reinterpret_cast<unsigned long long*>(p);
  switch (op) {
    case StateOp::sum_i64:
      atomicAdd(word, static_cast<unsigned long long>(v));
      return;
    case StateOp::sum_f64:
      atomicAdd(reinterpret_cast<double*>(p), bits_double(v));
      return;
    case StateOp::min_i64:
      atomicMin(reinterpret_cast<long long*>(p), static_cast<long long>(v));
      return;
    case StateOp::max_i64:
      atomicMax(reinterpret_cast<long long*>(p), static_cast<long long>(v));
      return;
    case StateOp::min_f64:
    case StateOp::max_f64: {
      unsigned long long seen = *word;
      for (;;) {
        const unsigned long long merged = state_merge(op, seen, v);
        if (merged == seen) return;
        const unsigned long long before = atomicCAS(word, seen, merged);
        if (before == seen) return;
        seen = before;
      }
    }
  }
}

/// @brief The lanes of the warp whose `slot` equals this lane's (a mask, this lane included).
/// @pre All 32 lanes of the warp call it.
__device__ inline unsigned warp_slot_group(std::uint32_t slot) {
  return __match_any_sync(kFullWarp, slot);
}

/// @brief Warp-aggregated merge: the lanes of `group` (warp_slot_group) fold their values `v`
/// into the group's lowest lane, which alone then merges into memory; returns true for that
/// lane, whose `v` now holds the folded value. So 32 lanes hitting one hot slot cost one
/// atomic instead of 32 serialized ones.
/// @pre Every lane of `group` calls it with the same `group` and `op`.
__device__ inline bool warp_fold(unsigned group, StateOp op, std::uint64_t& v) {
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const int leader = __ffs(static_cast<int>(group)) - 1;
  // Every lane of the group runs the same loop, so each shuffle's mask is exactly the group.
  for (unsigned others = group & (group - 1u); others != 0; others &= others - 1u) {
    const int source = __ffs(static_cast<int>(others)) - 1;
    const std::uint64_t x = __shfl_sync(group, v, source);
    if (lane == leader) v = state_merge(op, v, x);
  }
  return lane == leader;
}

/// @brief Warp-aggregated reservation of one output position per lane with `want`: one
/// atomicAdd on `counter` per warp. Returns the lane's position (unspecified without `want`).
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
