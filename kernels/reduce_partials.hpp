// Operator: per-batch pre-aggregation; merges partial rows with equal (key, pane, cut).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/buffer.hpp"
#include "kernels/partials.hpp"
#include "kernels/state_spec.hpp"

namespace sluice::detail {

/// @brief Scratch space of reduce_partials, kept between calls so steady state allocates nothing.
template <class Exec>
struct ReduceScratch {
  explicit ReduceScratch(Exec& exec) : order(exec), group(exec), starts(exec) {}
  Buffer<std::uint32_t, Exec> order;
  Buffer<std::uint32_t, Exec> group;
  Buffer<std::uint32_t, Exec> starts;
};

/// @brief Groups the rows of `in` by (key words, pane, cut), keys compared by value, and merges
/// each group's states with `states.ops`. Rows with cut == kLateCut are dropped.
/// @param out receives one row per group (same key_words/state_words as `in`), ordered by
///        (hash, key words, pane, cut): rows of equal keys are adjacent.
/// Deterministic: rows of a group merge in their input order.
template <class Exec>
void reduce_partials(Exec& exec, PartialsView in, const StateSpec& states, Partials<Exec>& out,
                     ReduceScratch<Exec>& scratch);

}  // namespace sluice::detail
