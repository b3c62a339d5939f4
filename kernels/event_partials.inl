// Operator templates: make_event_partials and collect_late_rows.
#pragma once

#include <thrust/copy.h>
#include <thrust/count.h>

#include "kernels/event_partials.hpp"

namespace sluice::detail {

struct MakeEventPartial {
  EventLayout events;
  StateSpec states;
  PaneSpec panes;
  std::int64_t wm_before;
  KeyHasher hasher;
  PartialsView out;
  SLUICE_HD void operator()(std::size_t i) const {
    const auto t = static_cast<std::int64_t>(events.words[events.time * events.stride + i]);
    const std::int64_t pane = panes.pane_of(t);
    out.hash[i] =
        hasher(events.words + events.key_begin * events.stride, events.stride, out.key_words, i);
    for (int j = 0; j < out.key_words; ++j)
      out.keys[j * out.stride + i] = events.words[(events.key_begin + j) * events.stride + i];
    out.pane[i] = pane;
    out.cut[i] = panes.cut_of(pane, wm_before);
    for (int s = 0; s < states.count; ++s) {
      const int input = states.inputs[s];
      std::uint64_t v = input < 0 ? 1 : events.words[input * events.stride + i];
      // Integer inputs of float states arrive as i64 words only if the compiler chose an
      // i64 state, so the word is already in the state's representation.
      out.states[s * out.stride + i] = v;
    }
  }
};

struct IsLate {
  SLUICE_HD bool operator()(std::uint32_t cut) const { return cut == kLateCut; }
};

template <class Exec>
std::size_t make_event_partials(Exec& exec, const EventLayout& events, std::size_t m,
                                const StateSpec& states, const PaneSpec& panes,
                                std::int64_t wm_before, KeyHasher hasher, PartialsView out) {
  if (m == 0) return 0;
  exec.for_each_index(m, MakeEventPartial{events, states, panes, wm_before, hasher, out});
  return static_cast<std::size_t>(thrust::count_if(exec.policy(), out.cut, out.cut + m, IsLate{}));
}

template <class Exec>
std::size_t collect_late_rows(Exec& exec, PartialsView partials, const std::uint32_t* rows,
                              std::uint32_t* out_rows) {
  if (partials.size == 0) return 0;
  std::uint32_t* last =
      thrust::copy_if(exec.policy(), rows, rows + partials.size, partials.cut, out_rows, IsLate{});
  return static_cast<std::size_t>(last - out_rows);
}

#define SLUICE_INSTANTIATE_EVENT_PARTIALS(Exec)                                                   \
  template std::size_t make_event_partials<Exec>(Exec&, const EventLayout&, std::size_t,          \
                                                 const StateSpec&, const PaneSpec&, std::int64_t, \
                                                 KeyHasher, PartialsView);                        \
  template std::size_t collect_late_rows<Exec>(Exec&, PartialsView, const std::uint32_t*,         \
                                               std::uint32_t*);

}  // namespace sluice::detail
