// Random partial rows and the sort-and-fold reference of their grouping (reduce_partials and
// its fast paths are tested against it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {

struct RowsParams {
  std::size_t rows;
  std::size_t keys;
  KeyDist dist;
  int key_words;
  std::uint64_t mask = ~0ULL;
};

inline std::ostream& operator<<(std::ostream& os, const RowsParams& p) {
  return os << p.rows << " rows, " << p.keys << " keys, " << to_string(p.dist) << ", "
            << p.key_words << " key words, mask " << p.mask;
}

/// Draws a random state value of one accumulator kind.
using StateDraw = std::uint64_t (*)(StateOp, std::mt19937_64&);

/// Random partial rows: keys drawn from `dist`, panes in [-4, 4], cuts 0..2, ~5% late rows,
/// one state per accumulator kind (drawn by `draw_state`).
inline HostRows random_rows(const RowsParams& p, std::mt19937_64& rng,
                            StateDraw draw_state = random_state_value) {
  HostRows rows;
  rows.key_words = p.key_words;
  rows.state_words = static_cast<int>(kAllOps.size());
  rows.reserve(p.rows);
  KeyDrawer draw(p.dist, p.keys);
  const std::uint64_t salt = rng();
  std::vector<std::uint64_t> st(kAllOps.size());
  for (std::size_t i = 0; i < p.rows; ++i) {
    const Key k = key_words_of(draw(rng), p.key_words, salt);
    const auto pane = static_cast<std::int64_t>(rng() % 9) - 4;
    const std::uint32_t cut = rng() % 20 == 0 ? kLateCut : static_cast<std::uint32_t>(rng() % 3);
    for (std::size_t s = 0; s < kAllOps.size(); ++s) st[s] = draw_state(kAllOps[s], rng);
    rows.push(k, pane, cut, st, p.mask);
  }
  return rows;
}

template <class State>
struct GroupOf {
  Key key;
  std::int64_t pane;
  std::uint32_t cut;
  std::uint64_t hash;
  State states;
};

/// A group with exact state words.
using Group = GroupOf<std::vector<std::uint64_t>>;

inline bool group_less(const Group& a, const Group& b) {
  return std::tie(a.key, a.pane, a.cut) < std::tie(b.key, b.pane, b.cut);
}

/// Folds one row's states (`inputs[s]`) into `into` (exact words); an empty `into` starts from
/// the initial states. `reference` folds its State with `ref_fold_row`, overloaded for other
/// state types (the GPU tests' RefState, which also sums the magnitudes of float sums).
inline void ref_fold_row(const std::vector<StateOp>& ops, std::vector<std::uint64_t>& into,
                         const std::uint64_t* inputs) {
  if (into.empty())
    for (StateOp op : ops) into.push_back(ref_init(op));
  for (std::size_t s = 0; s < ops.size(); ++s) into[s] = ref_merge(ops[s], into[s], inputs[s]);
}

/// Reference: stable sort of the non-late rows by (key words, pane, cut), then a left fold of
/// each run in input order (one state per accumulator kind, as random_rows draws them).
template <class State = std::vector<std::uint64_t>>
std::vector<GroupOf<State>> reference(const HostRows& rows) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows.cut[i] != kLateCut) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    const Key ka = rows.key(a), kb = rows.key(b);
    return std::tie(ka, rows.pane[a], rows.cut[a]) < std::tie(kb, rows.pane[b], rows.cut[b]);
  });
  std::vector<GroupOf<State>> out;
  for (std::size_t i : idx) {
    const Key k = rows.key(i);
    if (out.empty() || out.back().key != k || out.back().pane != rows.pane[i] ||
        out.back().cut != rows.cut[i])
      out.push_back(GroupOf<State>{k, rows.pane[i], rows.cut[i], rows.hash[i], {}});
    ref_fold_row(kAllOps, out.back().states, rows.states.data() + i * rows.state_words);
  }
  return out;
}

}  // namespace sluice::test
