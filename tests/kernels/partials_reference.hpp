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

struct Group {
  Key key;
  std::int64_t pane;
  std::uint32_t cut;
  std::uint64_t hash;
  std::vector<std::uint64_t> states;
};

inline bool group_less(const Group& a, const Group& b) {
  return std::tie(a.key, a.pane, a.cut) < std::tie(b.key, b.pane, b.cut);
}

/// Reference: stable sort of the non-late rows by (key words, pane, cut), then a left fold of
/// each run in input order.
inline std::vector<Group> reference(const HostRows& rows) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows.cut[i] != kLateCut) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    const Key ka = rows.key(a), kb = rows.key(b);
    return std::tie(ka, rows.pane[a], rows.cut[a]) < std::tie(kb, rows.pane[b], rows.cut[b]);
  });
  std::vector<Group> out;
  for (std::size_t i : idx) {
    const Key k = rows.key(i);
    if (out.empty() || out.back().key != k || out.back().pane != rows.pane[i] ||
        out.back().cut != rows.cut[i]) {
      Group g{k, rows.pane[i], rows.cut[i], rows.hash[i], {}};
      for (int s = 0; s < rows.state_words; ++s) g.states.push_back(ref_init(kAllOps[s]));
      out.push_back(g);
    }
    for (int s = 0; s < rows.state_words; ++s)
      out.back().states[s] = ref_merge(kAllOps[s], out.back().states[s], rows.state(i, s));
  }
  return out;
}

}  // namespace sluice::test
