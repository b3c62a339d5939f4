// Operator: key hashing and window (pane) assignment, turning projected events into partials.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/hash.hpp"
#include "kernels/ops/window_assign.hpp"
#include "kernels/partials.hpp"
#include "kernels/state_spec.hpp"

namespace sluice::detail {

/// @brief Where the event fields sit among the projected output words (filter_project's
/// out_words): output `time` is the event time (i64), outputs [key_begin, key_begin +
/// key_words) the key words; a state's input index is an output index too.
struct EventLayout {
  const std::uint64_t* words = nullptr;
  std::size_t stride = 0;
  int time = 0;
  int key_begin = 1;
};

/// @brief Makes one singleton partial per event: hash of its key words, pane of its time,
/// cut (first window of the pane it may still update at watermark `wm_before`, or kLateCut
/// when it is too late for all of them) and states initialized from its inputs.
/// @param out partial rows with out.key_words keys and out.state_words == states.count;
///        out.size == m.
/// @return the number of late events (cut == kLateCut).
template <class Exec>
std::size_t make_event_partials(Exec& exec, const EventLayout& events, std::size_t m,
                                const StateSpec& states, const PaneSpec& panes,
                                std::int64_t wm_before, KeyHasher hasher, PartialsView out);

/// @brief Writes rows[i] for every partial i whose cut is kLateCut, in order.
/// @return how many were written.
template <class Exec>
std::size_t collect_late_rows(Exec& exec, PartialsView partials, const std::uint32_t* rows,
                              std::uint32_t* out_rows);

}  // namespace sluice::detail
