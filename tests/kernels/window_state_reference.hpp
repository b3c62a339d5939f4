// The brute-force model of the window state (every merged (key, pane, cut) entry; fire,
// re-emission and eviction recomputed from them) that the window state tests compare with.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {

using Entry = std::tuple<Key, std::int64_t, std::uint32_t>;  // key words, pane, cut
using WindowAndKey = std::pair<std::int64_t, Key>;           // window, key words

/// Folds `from` into `into` (exact state words); an empty `into` starts from the initial states.
inline void ref_fold(const std::vector<StateOp>& ops, std::vector<std::uint64_t>& into,
                     const std::vector<std::uint64_t>& from) {
  if (into.empty())
    for (StateOp op : ops) into.push_back(ref_init(op));
  for (std::size_t s = 0; s < ops.size(); ++s) into[s] = ref_merge(ops[s], into[s], from[s]);
}

struct MergeRow {
  Key key;
  std::int64_t pane;
  std::uint32_t cut;
  std::vector<std::uint64_t> states;
};

struct FiredRow {
  bool update = false;
  std::vector<std::uint64_t> states;
};

/// Brute-force model of the window state: every merged (key, pane, cut) entry with its states.
/// Window k of a key is the fold of the key's entries whose pane lies in k and whose cut admits
/// k (k's position among the pane's windows >= cut).
struct RefWindows {
  PaneSpec panes;
  std::vector<StateOp> ops;
  std::map<Entry, std::vector<std::uint64_t>> entries;
  std::set<WindowAndKey> requests;

  void merge(const std::vector<MergeRow>& rows, std::int64_t fired_wm) {
    for (const MergeRow& r : rows) {
      ref_fold(ops, entries[Entry{r.key, r.pane, r.cut}], r.states);
      if (fired_wm == kNoWatermark || panes.global) continue;
      const std::vector<std::int64_t> ks = ref_windows_of_pane(panes, r.pane);
      for (std::size_t i = r.cut; i < ks.size(); ++i)
        if (ref_window_end(panes, ks[i]) <= fired_wm) requests.insert({ks[i], r.key});
    }
  }

  /// Windows ending in (prev, wm] with data, plus requested windows that already fired.
  std::map<WindowAndKey, FiredRow> fire(std::int64_t prev, std::int64_t wm) {
    std::map<WindowAndKey, FiredRow> out;
    for (const auto& [entry, states] : entries) {
      const auto& [key, pane, cut] = entry;
      const std::vector<std::int64_t> ks = ref_windows_of_pane(panes, pane);
      for (std::size_t i = cut; i < ks.size(); ++i) {
        const __int128 end = ref_window_end(panes, ks[i]);
        const bool fires = prev < end && end <= wm && !(panes.global && prev == wm);
        const bool refires = end <= prev && requests.count({ks[i], key}) > 0;
        if (!fires && !refires) continue;
        auto [it, inserted] = out.try_emplace(WindowAndKey{ks[i], key});
        if (inserted) it->second.update = end <= prev;
        ref_fold(ops, it->second.states, states);
      }
    }
    requests.clear();
    return out;
  }

  /// Drops entries whose every window is past the lateness; returns how many.
  std::size_t evict(std::int64_t wm) {
    std::size_t removed = 0;
    for (auto it = entries.begin(); it != entries.end();) {
      if (ref_pane_expired(panes, std::get<1>(it->first), wm)) {
        it = entries.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }
};

}  // namespace sluice::test
