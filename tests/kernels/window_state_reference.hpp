// The brute-force model of the window state (every merged (key, pane, cut) entry; fire,
// re-emission and eviction recomputed from them) that the window state tests compare with.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>

#include "kernel_test_util.hpp"
#include "kernels/exec/buffer.hpp"
#include "kernels/table/window_state.hpp"

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

// ---------------------------------------------------------------------------------------------
// Drivers shared by the window state tests of both executors.

struct Geometry {
  const char* name;
  std::int64_t size, slide, offset, lateness;
  bool global = false;
  bool cumulate = false;  ///< slide is the step
};

const Geometry kGeometries[] = {{"tumbling", 100, 100, 0, 0},
                                {"tumbling late", 100, 100, 30, 150},
                                {"sliding", 100, 25, 0, 40},
                                {"sliding gcd", 90, 40, 10, 0},
                                {"hopping gaps", 20, 50, 5, 30},
                                {"global", 0, 0, 0, 0, true},
                                {"cumulate", 100, 25, 10, 60, false, true}};

PaneSpec panes_of(const Geometry& g) {
  if (g.cumulate) return make_cumulate_panes(g.size, g.slide, g.offset, g.lateness);
  return g.global ? make_global_panes() : make_panes(g.size, g.slide, g.offset, g.lateness);
}

/// Unique rows of one round: panes near the time front `t` (some behind it, within the
/// lateness), cuts the watermark still admits, random keys and states.
std::vector<MergeRow> random_round(const PaneSpec& panes, std::int64_t t, std::int64_t fired_wm,
                                   std::size_t rows, std::size_t keys, KeyDist dist, int key_words,
                                   std::mt19937_64& rng) {
  std::map<Entry, std::vector<std::uint64_t>> unique;
  KeyDrawer draw(dist, keys);
  const std::int64_t span = panes.global ? 1 : 4 * std::max(panes.size, panes.slide);
  for (std::size_t i = 0; i < rows; ++i) {
    const std::int64_t time =
        t - static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span));
    const std::int64_t pane = ref_pane_of(panes, time);
    const std::vector<std::int64_t> ks = ref_windows_of_pane(panes, pane);
    if (ks.empty()) continue;  // a gap between windows: late, never merged
    const std::uint32_t first = ref_cut(panes, pane, fired_wm);
    if (first == kLateCut) continue;  // too late for every window
    const std::uint32_t cut =
        first + (rng() % 4 == 0 ? static_cast<std::uint32_t>(rng() % (ks.size() - first)) : 0);
    std::vector<std::uint64_t> states;
    for (StateOp op : kAllOps) states.push_back(random_state_value(op, rng));
    const Key key = key_words_of(draw(rng), key_words, 17);
    auto [it, fresh] = unique.try_emplace(Entry{key, pane, cut}, states);
    if (!fresh)
      for (std::size_t s = 0; s < kAllOps.size(); ++s)
        it->second[s] = ref_merge(kAllOps[s], it->second[s], states[s]);
  }
  std::vector<MergeRow> out;
  for (const auto& [e, states] : unique)
    out.push_back({std::get<0>(e), std::get<1>(e), std::get<2>(e), states});
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

/// The portable merge on any executor: the rows as unique partials in its memory, lookup, the
/// status read back, insert.
template <class Exec>
void merge_portable(detail::WindowState<Exec>& state, Exec& exec, const std::vector<MergeRow>& rows,
                    int key_words, std::int64_t fired_wm) {
  Partials<Exec> groups(exec, key_words, static_cast<int>(kAllOps.size()));
  HostRows host;
  host.key_words = key_words;
  host.state_words = static_cast<int>(kAllOps.size());
  std::int64_t first = 0, last = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    host.push(rows[i].key, rows[i].pane, rows[i].cut, rows[i].states);
    first = i == 0 ? rows[i].pane : std::min(first, rows[i].pane);
    last = i == 0 ? rows[i].pane : std::max(last, rows[i].pane);
  }
  copy_rows_to(exec, host, groups);
  const unsigned long long n = rows.size();
  detail::Buffer<unsigned long long, Exec> count(exec, 1);
  exec.copy_from_host(count.data(), &n, sizeof n);
  const std::size_t words = state.status_words(first, last, rows.size());
  detail::Buffer<unsigned long long, Exec> status(exec, words);
  state.lookup(groups.view(), count.data(), rows.size(), first, last, fired_wm, status.data());
  std::vector<unsigned long long> host_status(words);
  exec.copy_to_host(host_status.data(), status.data(), words * sizeof(unsigned long long));
  state.next_generation();
  state.insert(groups.view(), count.data(), rows.size(), host_status.data(), fired_wm);
}

/// The rows of a fire on any executor, by (window, key).
template <class Exec>
std::map<WindowAndKey, FiredRow> fired_of(Exec& exec, const detail::FiredRows<Exec>& out,
                                          int key_words) {
  const auto download = [&](const auto* p, std::size_t n) {
    std::vector<std::remove_const_t<std::remove_pointer_t<decltype(p)>>> v(n);
    exec.copy_to_host(v.data(), p, n * sizeof(v[0]));
    return v;
  };
  const std::size_t n = download(out.count.data(), 1)[0];
  const std::size_t cap = out.capacity;
  const std::vector<std::int64_t> window = download(out.window.data(), n);
  const std::vector<std::uint8_t> update = download(out.update.data(), n);
  std::vector<std::vector<std::uint64_t>> keys, states;
  for (int j = 0; j < key_words; ++j) keys.push_back(download(out.keys.data() + j * cap, n));
  for (std::size_t s = 0; s < kAllOps.size(); ++s)
    states.push_back(download(out.states.data() + s * cap, n));
  std::map<WindowAndKey, FiredRow> rows;
  for (std::size_t i = 0; i < n; ++i) {
    Key key{0, 0};
    for (int j = 0; j < key_words; ++j) key[j] = keys[j][i];
    FiredRow r;
    r.update = update[i] != 0;
    for (std::size_t s = 0; s < kAllOps.size(); ++s) r.states.push_back(states[s][i]);
    auto [it, fresh] = rows.try_emplace(WindowAndKey{window[i], key}, r);
    EXPECT_TRUE(fresh) << "window " << window[i] << " key " << key[0] << " twice";
  }
  return rows;
}

/// Equal fires; float sums within 1e-9 of max(|got|, |want|, sum_scale) (sum_scale: the
/// magnitude of the terms, where the summation order varies).
inline void expect_same_fire(const std::map<WindowAndKey, FiredRow>& got,
                             const std::map<WindowAndKey, FiredRow>& want, double sum_scale = 0.0) {
  ASSERT_EQ(got.size(), want.size()) << "fired rows";
  for (const auto& [wk, row] : want) {
    auto it = got.find(wk);
    ASSERT_NE(it, got.end()) << "missing window " << wk.first << " key " << wk.second[0];
    EXPECT_EQ(it->second.update, row.update) << "window " << wk.first;
    for (std::size_t s = 0; s < kAllOps.size(); ++s) {
      const std::uint64_t g = it->second.states[s], w = row.states[s];
      if (kAllOps[s] == StateOp::sum_f64 && sum_scale > 0) {
        const double scale = std::max({std::fabs(bitsd(g)), std::fabs(bitsd(w)), sum_scale});
        ASSERT_TRUE(g == w || std::fabs(bitsd(g) - bitsd(w)) <= 1e-9 * scale)
            << "window " << wk.first << " key " << wk.second[0] << " sum " << bitsd(g) << " want "
            << bitsd(w);
        continue;
      }
      ASSERT_TRUE(state_matches(kAllOps[s], g, w))
          << "window " << wk.first << " key " << wk.second[0] << " state " << s;
    }
  }
}

}  // namespace sluice::test
