// Tests of the window state (table/window_state.hpp): rounds of merges through the portable
// merge (lookup, then insert) and through the host's per-partition merge, fires and evictions,
// all against the brute-force model of every (key, pane, cut) entry.
#include "kernels/table/window_state.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "kernel_test_util.hpp"
#include "kernels/exec/host_exec.hpp"
#include "sluice/status.hpp"
#include "window_state_reference.hpp"

namespace sluice::test {
namespace {

using detail::FiredRows;
using detail::WindowState;

enum class MergePath { portable, host };

/// The host merge: the rows in lists per (producer, partition), some repeated with identity
/// states (a repeat must not change the result).
void merge_host(WindowState<HostExec>& state, const std::vector<MergeRow>& rows, int key_words,
                std::int64_t fired_wm, std::mt19937_64& rng) {
  const int producers = 2;
  const int partitions = state.partitions();
  std::vector<std::vector<std::uint64_t>> lists(static_cast<std::size_t>(producers * partitions));
  detail::GroupRowLists l;
  l.producers = producers;
  l.partitions = partitions;
  for (const MergeRow& r : rows) {
    const std::uint64_t hash = ref_key_hash(r.key.data(), key_words);
    const int q = detail::state_partition(hash, partitions);
    for (int copy = 0; copy < (rng() % 3 == 0 ? 2 : 1); ++copy) {
      std::vector<std::uint64_t>& list =
          lists[static_cast<std::size_t>(static_cast<int>(rng() % producers) * partitions + q)];
      list.push_back(hash);
      list.push_back(static_cast<std::uint64_t>(r.pane));
      list.push_back(r.cut);
      for (int j = 0; j < key_words; ++j) list.push_back(r.key[j]);
      for (std::size_t s = 0; s < kAllOps.size(); ++s)
        list.push_back(copy == 0 ? r.states[s] : ref_init(kAllOps[s]));
    }
    l.first_pane = std::min(l.first_pane, r.pane);
    l.last_pane = std::max(l.last_pane, r.pane);
  }
  std::vector<const std::uint64_t*> data;
  std::vector<std::size_t> counts;
  const std::size_t width = 3 + static_cast<std::size_t>(key_words) + kAllOps.size();
  for (const auto& list : lists) {
    data.push_back(list.data());
    counts.push_back(list.size() / width);
  }
  l.data = data.data();
  l.rows = counts.data();
  state.merge_rows(l, fired_wm);
}

/// mark_codes sets the bit of every key word a live entry holds, below the bitmap's end (the
/// string census of a reclaim), and no other.
void expect_marks_live_codes(WindowState<HostExec>& state, const RefWindows& ref, int key_words) {
  constexpr std::size_t kWords = 4;
  std::vector<unsigned int> bits(kWords, 0);
  state.mark_codes((1u << key_words) - 1, bits.data(), kWords);
  std::vector<unsigned int> expected(kWords, 0);
  for (const auto& [entry, states] : ref.entries)
    for (int j = 0; j < key_words; ++j)
      if (const std::uint64_t code = std::get<0>(entry)[j]; code < 32 * kWords)
        expected[code / 32] |= 1u << (code % 32);
  EXPECT_EQ(bits, expected);
}

struct Case {
  MergePath path;
  std::size_t rows_per_round;
  std::size_t keys;
  KeyDist dist;
  int key_words;
};

class WindowStateRounds : public ::testing::TestWithParam<Case> {};

/// Rounds of merges, each followed by a fire up to a watermark that advances (sometimes by a
/// lot, sometimes not at all) and an eviction; then the final fire. Every fire equals the
/// model's; the live entries (and the key words a census marks) are the model's. Midway the
/// state is saved (a checkpoint) and the rounds go on in a state restored from the words, with
/// another number of partitions on the host path.
TEST_P(WindowStateRounds, MatchTheModel) {
  const Case c = GetParam();
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  for (const Geometry& g : kGeometries) {
    SCOPED_TRACE(g.name);
    const PaneSpec panes = panes_of(g);
    const int partitions = c.path == MergePath::host ? 4 : 1;
    auto make_state = [&](int parts) {
      return std::make_unique<WindowState<HostExec>>(exec, make_states(kAllOps), c.key_words, panes,
                                                     KeyHasher{}, parts);
    };
    std::unique_ptr<WindowState<HostExec>> owned = make_state(partitions);
    RefWindows ref{panes, kAllOps, {}, {}};
    FiredRows<HostExec> out(exec);
    std::int64_t fired_wm = kNoWatermark;
    std::int64_t t = 1000;
    for (int round = 0; round < 12; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      if (round == 6) {
        std::vector<std::uint64_t> words = {0xABCD};  // saved after what is there
        owned->save(words);
        std::unique_ptr<WindowState<HostExec>> restored =
            make_state(c.path == MergePath::host ? 2 : 1);
        const std::span<const std::uint64_t> mine(words.data() + 1, words.size() - 1);
        ASSERT_EQ(restored->restore(mine), mine.size());
        ASSERT_EQ(restored->size(), ref.entries.size());
        expect_marks_live_codes(*restored, ref, c.key_words);
        owned = std::move(restored);
      }
      WindowState<HostExec>& state = *owned;
      const std::vector<MergeRow> rows =
          random_round(panes, t, fired_wm, c.rows_per_round, c.keys, c.dist, c.key_words, rng);
      if (c.path == MergePath::portable)
        merge_portable(state, exec, rows, c.key_words, fired_wm);
      else
        merge_host(state, rows, c.key_words, fired_wm, rng);
      ref.merge(rows, fired_wm);
      ASSERT_EQ(state.size(), ref.entries.size());
      t += static_cast<std::int64_t>(rng() % 400);
      const std::int64_t wm = round % 4 == 3 ? fired_wm : std::max<std::int64_t>(fired_wm, t - 250);
      state.fire(fired_wm, wm, out);
      expect_same_fire(fired_of(exec, out, c.key_words), ref.fire(fired_wm, wm));
      state.evict(wm);
      ref.evict(wm);
      ASSERT_EQ(state.size(), ref.entries.size());
      expect_marks_live_codes(state, ref, c.key_words);
      fired_wm = std::max(fired_wm, wm);
      state.next_generation();
    }
    owned->fire(fired_wm, kFinalWatermark, out);
    expect_same_fire(fired_of(exec, out, c.key_words), ref.fire(fired_wm, kFinalWatermark));
    owned->evict(kFinalWatermark);
    EXPECT_EQ(owned->size(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(PathsSizesAndKeys, WindowStateRounds,
                         ::testing::Values(Case{MergePath::portable, 0, 1, KeyDist::uniform, 1},
                                           Case{MergePath::portable, 1, 1, KeyDist::uniform, 1},
                                           Case{MergePath::portable, 300, 40, KeyDist::zipf, 2},
                                           Case{MergePath::portable, 5000, 3000, KeyDist::uniform,
                                                1},
                                           Case{MergePath::host, 0, 1, KeyDist::uniform, 1},
                                           Case{MergePath::host, 1, 1, KeyDist::uniform, 1},
                                           Case{MergePath::host, 300, 40, KeyDist::zipf, 2},
                                           Case{MergePath::host, 5000, 3000, KeyDist::hot90, 1}));

/// A pane table grows well past its first chunk and index: rows keep their place.
TEST(WindowState, TablesGrowPastTheirFirstChunks) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  const PaneSpec panes = make_panes(1000, 1000);
  for (MergePath path : {MergePath::portable, MergePath::host}) {
    WindowState<HostExec> state(exec, make_states(kAllOps), 1, panes, KeyHasher{},
                                path == MergePath::host ? 2 : 1);
    RefWindows ref{panes, kAllOps, {}, {}};
    std::vector<MergeRow> rows;
    for (std::size_t i = 0; i < 300000; ++i) {
      std::vector<std::uint64_t> st;
      for (StateOp op : kAllOps) st.push_back(random_state_value(op, rng));
      rows.push_back({Key{i * 0x9e3779b97f4a7c15ULL, 0}, 0, 0, st});
    }
    // In three merges, so that tables grow between them.
    for (std::size_t part = 0; part < 3; ++part) {
      const std::vector<MergeRow> some(
          rows.begin() + static_cast<std::ptrdiff_t>(part * 100000),
          rows.begin() + static_cast<std::ptrdiff_t>((part + 1) * 100000));
      if (path == MergePath::portable)
        merge_portable(state, exec, some, 1, kNoWatermark);
      else
        merge_host(state, some, 1, kNoWatermark, rng);
      ref.merge(some, kNoWatermark);
      state.next_generation();
    }
    EXPECT_EQ(state.size(), 300000u);
    FiredRows<HostExec> out(exec);
    state.fire(kNoWatermark, 1000, out);
    expect_same_fire(fired_of(exec, out, 1), ref.fire(kNoWatermark, 1000));
  }
}

/// A state's words cut short at every length, or of another entry width, or restored into a
/// state that is not empty, are refused with malformed_input; the whole words restore.
TEST(WindowState, RestoreRefusesWordsThatDescribeNoState) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  const PaneSpec panes = make_panes(1000, 500);
  WindowState<HostExec> state(exec, make_states(kAllOps), 1, panes, KeyHasher{}, 2);
  std::vector<MergeRow> rows;
  for (std::size_t i = 0; i < 40; ++i) {
    std::vector<std::uint64_t> st;
    for (StateOp op : kAllOps) st.push_back(random_state_value(op, rng));
    rows.push_back({Key{i % 13, 0}, static_cast<std::int64_t>(i % 3), 0, st});
  }
  merge_host(state, rows, 1, kNoWatermark, rng);
  std::vector<std::uint64_t> words;
  state.save(words);
  const auto expect_refused = [&](std::span<const std::uint64_t> w, int key_words) {
    WindowState<HostExec> into(exec, make_states(kAllOps), key_words, panes, KeyHasher{}, 2);
    try {
      into.restore(w);
      ADD_FAILURE() << "restored " << w.size() << " of " << words.size() << " words";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::malformed_input) << e.what();
    }
  };
  for (std::size_t cut = 0; cut < words.size(); ++cut) {
    // A cut at a table's end is a whole state of fewer tables only if the count says so.
    expect_refused(std::span<const std::uint64_t>(words.data(), cut), 1);
  }
  expect_refused(words, 2);  // entries one key word wider
  WindowState<HostExec> whole(exec, make_states(kAllOps), 1, panes, KeyHasher{}, 1);
  EXPECT_EQ(whole.restore(words), words.size());
  EXPECT_EQ(whole.size(), state.size());
  try {
    whole.restore(words);
    ADD_FAILURE() << "restored into a state that is not empty";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::malformed_input);
  }
}

}  // namespace
}  // namespace sluice::test
