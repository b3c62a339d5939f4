// AggregationSpec: what a windowed query computes per event, and the one per-event evaluation
// (filter, event time, pane and cut, key words and hash, state inputs) every fused path uses.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/aggregates.hpp"
#include "kernels/ops/hash.hpp"
#include "kernels/ops/hd.hpp"
#include "kernels/ops/program.hpp"
#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {

inline constexpr int kMaxKeyWords = 8;
inline constexpr int kMaxInputPrograms = 16;

/// @brief An event-driven early trigger (TriggerSpec count or on): a (window, key) fires early,
/// as an update, at the end of a round in which its state `state` (an i64 sum: of 1 for a
/// count trigger, of the condition for an on trigger) passed a multiple of `every`. Windows
/// that fire at the round anyway (finally) do not fire early too.
struct CountTrigger {
  int state = -1;  ///< -1: no such trigger
  std::uint64_t every = 0;
  SLUICE_HD bool active() const { return state >= 0; }
  /// @brief Whether a state that grew by `delta` to `total` passed a multiple of `every`.
  SLUICE_HD bool crossed(std::uint64_t total, std::uint64_t delta) const {
    return delta > 0 && total / every != (total - delta) / every;
  }
};

/// @brief The programs of a windowed query and what they mean. Program indices refer to the
/// plan's ProgramSetView. Trivially copyable; passed by value into kernels.
struct AggregationSpec {
  int conjuncts_begin = 0;  ///< filter: programs [begin, begin + conjuncts), all must hold
  int conjuncts = 0;
  int time_program = -1;  ///< event time (i64); -1: every event at time 0 (global window)
  int keys_begin = 0;     ///< key programs [begin, begin + key_words)
  int key_words = 0;
  std::uint32_t string_key_mask = 0;  ///< bit j: key word j is a string code
  int inputs_begin = 0;               ///< state input programs [begin, begin + inputs)
  int inputs = 0;
  StateSpec states;  ///< states[s] combines input states.inputs[s] (or 1)
  PaneSpec panes;
  KeyHasher hasher;
  CountTrigger trigger;  ///< its state is one of `states`, which no aggregate reads
};

/// @brief The hash of a (key, pane, cut) group from the key's hash.
SLUICE_HD inline std::uint64_t group_hash(std::uint64_t key_hash, std::int64_t pane,
                                          std::uint32_t cut) {
  return fmix64(key_hash ^ fmix64(static_cast<std::uint64_t>(pane) * 0x9e3779b97f4a7c15ULL + cut));
}

/// @brief What one event contributes once evaluated.
struct EventFields {
  std::uint64_t key_hash = 0;
  std::int64_t pane = 0;
  std::uint32_t cut = 0;  ///< kLateCut: too late for every window
  std::uint64_t keys[kMaxKeyWords];
  std::uint64_t inputs[kMaxInputPrograms];
};

/// @brief The time-dependent part of the per-event evaluation for one batch.
struct BatchWindowing {
  std::int64_t wm_before = kNoWatermark;  ///< watermark before the batch
  CutBounds bounds;                       ///< spec.panes.cut_bounds(wm_before)
  bool gaps = false;                      ///< slide > size: panes may lie between windows
};

inline BatchWindowing batch_windowing(const PaneSpec& panes, std::int64_t wm_before) {
  BatchWindowing w;
  w.wm_before = wm_before;
  w.bounds = panes.cut_bounds(wm_before);
  w.gaps = !panes.global && panes.slide > panes.size;
  return w;
}

/// @brief The cut of pane p (PaneSpec::cut_of), cheap for the common panes.
SLUICE_HD inline std::uint32_t event_cut(const PaneSpec& panes, const BatchWindowing& w,
                                         std::int64_t p) {
  if (!w.gaps) {
    if (p >= w.bounds.full) return 0;
    if (p < w.bounds.alive) return kLateCut;
  }
  return panes.cut_of(p, w.wm_before);
}

/// @brief True when row `row` passes the filter.
SLUICE_HD inline bool event_passes(const AggregationSpec& spec, ProgramSetView programs,
                                   const InputColumns& in, std::size_t row) {
  for (int c = 0; c < spec.conjuncts; ++c)
    if (run_program(programs.code, programs.programs[spec.conjuncts_begin + c], in, row) == 0)
      return false;
  return true;
}

/// @brief Evaluates the time, pane, cut, keys and (unless late) inputs of a row that passed
/// the filter; an event time outside the representable range sets only cut =
/// kUnrepresentableCut.
SLUICE_HD inline void evaluate_event(const AggregationSpec& spec, ProgramSetView programs,
                                     const InputColumns& in, std::size_t row,
                                     const BatchWindowing& windowing, EventFields& e) {
  const std::int64_t t = spec.time_program < 0
                             ? 0
                             : static_cast<std::int64_t>(run_program(
                                   programs.code, programs.programs[spec.time_program], in, row));
  if (!spec.panes.time_representable(t)) {
    e.cut = kUnrepresentableCut;
    return;
  }
  e.pane = spec.panes.pane_of(t);
  e.cut = event_cut(spec.panes, windowing, e.pane);
  std::uint64_t h = kKeyHashSeed;
  for (int j = 0; j < spec.key_words; ++j) {
    const ProgramRef p = programs.programs[spec.keys_begin + j];
    e.keys[j] = key_word_of(run_program(programs.code, p, in, row), p.result);
    h = hash_combine(h, e.keys[j]);
  }
  e.key_hash = h & spec.hasher.mask;
  if (e.cut == kLateCut) return;
  for (int j = 0; j < spec.inputs; ++j)
    e.inputs[j] = run_program(programs.code, programs.programs[spec.inputs_begin + j], in, row);
}

/// @brief The value event `e` contributes to state s (its input, or 1 for counts; the sign
/// extension of its input for the high word of a wide sum).
SLUICE_HD inline std::uint64_t event_state_value(const StateSpec& states, const EventFields& e,
                                                 int s) {
  const int input = states.inputs[s];
  if (input < 0) return kUnitInput;
  const std::uint64_t v = e.inputs[input];
  return states.ops[s] == StateOp::wide_sum_high ? wide_high_of(v) : v;
}

}  // namespace sluice::detail
