// Tests of WindowTable on HostExec: merge, fire order and contents, re-emission, eviction, growth.
#include "kernels/window_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kernel_test_util.hpp"
#include "window_table_reference.hpp"

namespace sluice::test {
namespace {

using detail::FiredWindows;
using detail::StateSpec;
using detail::WindowTable;

using MergeRow = MergeRowOf<std::vector<std::uint64_t>>;
using FiredRow = FiredRowOf<std::vector<std::uint64_t>>;
using RefWindows = RefWindowsOf<std::vector<std::uint64_t>>;

/// Merges rows into the table (rows as partials: key word = key id; ids passed alongside).
void table_merge(WindowTable<HostExec>& table, const std::vector<MergeRow>& rows,
                 std::int64_t fired_wm, int num_states, HostExec& exec) {
  Partials<HostExec> p(exec, 1, num_states);
  HostRows h;
  h.key_words = 1;
  h.state_words = num_states;
  std::vector<std::uint32_t> ids;
  for (const MergeRow& r : rows) {
    h.push(Key{r.key, 0}, r.pane, r.cut, r.states);
    ids.push_back(r.key);
  }
  to_partials(h, p);
  table.merge(p.view(), ids.data(), fired_wm);
}

/// Fires the table and compares with the model: same (window, key) rows, in (window, key) order,
/// same update flags and merged states.
/// @return how many of the rows re-emit a window (update flag set in the model).
std::size_t fire_and_compare(WindowTable<HostExec>& table, RefWindows& ref, std::int64_t prev,
                             std::int64_t wm, FiredWindows<HostExec>& out) {
  SCOPED_TRACE(::testing::Message() << "fire(" << prev << ", " << wm << ")");
  const bool may = table.may_fire(prev, wm);
  const std::size_t n = table.fire(prev, wm, out);
  const std::map<WindowKey, FiredRow> want = ref.fire(prev, wm);
  if (!want.empty()) {
    EXPECT_TRUE(may) << "may_fire said no but " << want.size() << " rows fire";
  }
  std::size_t updates = 0;
  for (const auto& [wk, row] : want) updates += row.update;
  EXPECT_EQ(n, out.size);
  EXPECT_EQ(n, want.size());
  if (n != out.size || n != want.size()) return updates;
  auto it = want.begin();
  for (std::size_t i = 0; i < n; ++i, ++it) {
    const auto& [wk, row] = *it;
    EXPECT_EQ(out.window.data()[i], wk.first) << "fired row " << i;
    EXPECT_EQ(out.key.data()[i], wk.second) << "fired row " << i << " window " << wk.first;
    EXPECT_EQ(out.update.data()[i] != 0, row.update)
        << "fired row " << i << " window " << wk.first << " key " << wk.second;
    for (std::size_t s = 0; s < ref.ops.size(); ++s) {
      EXPECT_TRUE(state_matches(ref.ops[s], out.states.data()[s * out.stride + i], row.states[s]))
          << "fired row " << i << " window " << wk.first << " key " << wk.second << " state " << s;
      if (::testing::Test::HasFailure()) return updates;
    }
  }
  return updates;
}

void evict_and_compare(WindowTable<HostExec>& table, RefWindows& ref, std::int64_t prev,
                       std::int64_t wm) {
  const bool may = table.may_evict(prev, wm);
  const std::size_t removed = ref.evict(wm);
  if (removed > 0) {
    EXPECT_TRUE(may) << "may_evict(" << prev << ", " << wm << ") said no";
  }
  table.evict(wm);
  ASSERT_EQ(table.size(), ref.entries.size()) << "after evict(" << wm << ")";
}

std::vector<std::uint64_t> value_states(std::int64_t v) {
  // sum_i64, sum_f64, min_i64, max_i64, min_f64, max_f64 of one value v.
  return {static_cast<std::uint64_t>(v), dbits(static_cast<double>(v)),
          static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v),
          dbits(static_cast<double>(v)), dbits(static_cast<double>(v))};
}

// ---------------------------------------------------------------------------------------------
// Hand-made scenarios.

TEST(WindowTable, TumblingFireOrderAndContents) {
  HostExec exec;
  const PaneSpec panes = make_panes(10, 10);
  WindowTable<HostExec> table(exec, make_states(kAllOps), panes, KeyHasher{});
  // Key 2 in window 0 (panes 0) twice with different values, key 0 in windows 0 and 2, key 1 in
  // window -1 (t in [-10, 0)).
  table_merge(table,
              {{2, 0, 0, value_states(5)},
               {0, 0, 0, value_states(-3)},
               {0, 2, 0, value_states(7)},
               {1, -1, 0, value_states(11)}},
              kNoWatermark, 6, exec);
  table_merge(table, {{2, 0, 0, value_states(9)}}, kNoWatermark, 6, exec);
  EXPECT_EQ(table.size(), 4u);
  FiredWindows<HostExec> out(exec);
  ASSERT_EQ(table.fire(kNoWatermark, 10, out), 3u);
  const std::int64_t windows[] = {-1, 0, 0};
  const std::uint32_t keys[] = {1, 0, 2};
  const std::int64_t sums[] = {11, -3, 14};
  const std::int64_t mins[] = {11, -3, 5};
  const std::int64_t maxs[] = {11, -3, 9};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.window.data()[i], windows[i]);
    EXPECT_EQ(out.key.data()[i], keys[i]);
    EXPECT_EQ(out.update.data()[i], 0);
    EXPECT_EQ(static_cast<std::int64_t>(out.states.data()[0 * out.stride + i]), sums[i]);
    EXPECT_EQ(bitsd(out.states.data()[1 * out.stride + i]), static_cast<double>(sums[i]));
    EXPECT_EQ(static_cast<std::int64_t>(out.states.data()[2 * out.stride + i]), mins[i]);
    EXPECT_EQ(static_cast<std::int64_t>(out.states.data()[3 * out.stride + i]), maxs[i]);
    EXPECT_EQ(bitsd(out.states.data()[4 * out.stride + i]), static_cast<double>(mins[i]));
    EXPECT_EQ(bitsd(out.states.data()[5 * out.stride + i]), static_cast<double>(maxs[i]));
  }
  // Nothing more until window 2 ends at 30.
  EXPECT_EQ(table.fire(10, 29, out), 0u);
  ASSERT_EQ(table.fire(29, 30, out), 1u);
  EXPECT_EQ(out.window.data()[0], 2);
  EXPECT_EQ(out.key.data()[0], 0u);
  EXPECT_EQ(static_cast<std::int64_t>(out.states.data()[0]), 7);
}

TEST(WindowTable, SlidingSizeNotAMultipleOfSlide) {
  // Size 10, slide 4: panes of 2. An event at t = 9 (pane 4) lies in windows [0,10), [4,14),
  // [8,18): k = 0, 1, 2.
  HostExec exec;
  const PaneSpec panes = make_panes(10, 4);
  WindowTable<HostExec> table(exec, make_states({StateOp::sum_i64}), panes, KeyHasher{});
  table_merge(table, {{3, 4, 0, {1}}}, kNoWatermark, 1, exec);
  // An event at t = 12 (pane 6): windows [4,14), [8,18), [12,22): k = 1, 2, 3.
  table_merge(table, {{3, 6, 0, {10}}}, kNoWatermark, 1, exec);
  FiredWindows<HostExec> out(exec);
  ASSERT_EQ(table.fire(kNoWatermark, kFinalWatermark, out), 4u);
  const std::int64_t sums[] = {1, 11, 11, 10};
  for (std::int64_t k = 0; k < 4; ++k) {
    EXPECT_EQ(out.window.data()[k], k);
    EXPECT_EQ(out.key.data()[k], 3u);
    EXPECT_EQ(static_cast<std::int64_t>(out.states.data()[k]), sums[k]) << "window " << k;
  }
}

TEST(WindowTable, LateButAllowedRowsAreReEmitted) {
  // Tumbling 10, lateness 5.
  HostExec exec;
  const PaneSpec panes = make_panes(10, 10, 0, 5);
  WindowTable<HostExec> table(exec, make_states({StateOp::sum_i64, StateOp::max_i64}), panes,
                              KeyHasher{});
  FiredWindows<HostExec> out(exec);
  table_merge(table, {{0, 0, 0, {4, 4}}, {1, 0, 0, {1, 1}}, {0, 1, 0, {100, 100}}}, kNoWatermark, 2,
              exec);
  ASSERT_EQ(table.fire(kNoWatermark, 10, out), 2u);  // window 0: keys 0 and 1
  EXPECT_EQ(out.update.data()[0], 0);
  EXPECT_EQ(out.update.data()[1], 0);
  // A late event for window 0, key 0, arriving at watermark 12 (< 10 + 5): cut 0, allowed.
  ASSERT_EQ(ref_cut(panes, 0, 12), 0u);
  table_merge(table, {{0, 0, 0, {6, 6}}}, /*fired_wm=*/10, 2, exec);
  EXPECT_TRUE(table.may_fire(10, 10));
  ASSERT_EQ(table.fire(10, 12, out), 1u);
  EXPECT_EQ(out.window.data()[0], 0);
  EXPECT_EQ(out.key.data()[0], 0u);
  EXPECT_EQ(out.update.data()[0], 1);
  EXPECT_EQ(out.states.data()[0], 10u);              // 4 + 6: the whole window, not the delta
  EXPECT_EQ(out.states.data()[out.stride + 0], 6u);  // max
  // Key 1 did not change: nothing more to emit.
  EXPECT_EQ(table.fire(12, 12, out), 0u);
  // At watermark 15 window 0 is closed for good: events for it are late (kLateCut) and the
  // panes of window 0 are evicted; window 1 stays.
  EXPECT_EQ(ref_cut(panes, 0, 15), kLateCut);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_TRUE(table.may_evict(12, 15));
  table.evict(15);
  EXPECT_EQ(table.size(), 1u);
  ASSERT_EQ(table.fire(15, 20, out), 1u);
  EXPECT_EQ(out.window.data()[0], 1);
  EXPECT_EQ(out.states.data()[0], 100u);
  EXPECT_EQ(out.update.data()[0], 0);
  table.evict(25);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_FALSE(table.may_fire(25, 1000));
}

TEST(WindowTable, CutKeepsRowsOutOfClosedWindows) {
  // Size 10, slide 4, lateness 0. Pane 5 ([10,12)) lies in windows 1 ([4,14)) and 2 ([8,18)).
  HostExec exec;
  const PaneSpec panes = make_panes(10, 4);
  WindowTable<HostExec> table(exec, make_states({StateOp::sum_i64}), panes, KeyHasher{});
  FiredWindows<HostExec> out(exec);
  table_merge(table, {{0, 5, 0, {1}}}, kNoWatermark, 1, exec);
  ASSERT_EQ(table.fire(kNoWatermark, 14, out), 1u);  // window 1 fired with 1
  EXPECT_EQ(out.window.data()[0], 1);
  // At watermark 14 window 1 is closed: a new event in pane 5 gets cut 1 (window 2 only).
  ASSERT_EQ(ref_cut(panes, 5, 14), 1u);
  table_merge(table, {{0, 5, 1, {5}}}, 14, 1, exec);
  EXPECT_EQ(table.size(), 2u);  // (0, 5, 0) and (0, 5, 1) are distinct slots
  // No re-emission of window 1 (the row does not belong to it); window 2 gets both rows.
  ASSERT_EQ(table.fire(14, 18, out), 1u);
  EXPECT_EQ(out.window.data()[0], 2);
  EXPECT_EQ(out.update.data()[0], 0);
  EXPECT_EQ(out.states.data()[0], 6u);
}

TEST(WindowTable, GlobalWindowFiresOnlyAtTheFinalWatermark) {
  HostExec exec;
  const PaneSpec panes = make_global_panes();
  WindowTable<HostExec> table(exec, make_states({StateOp::sum_i64, StateOp::min_f64}), panes,
                              KeyHasher{});
  FiredWindows<HostExec> out(exec);
  table_merge(table, {{0, 0, 0, {2, dbits(1.5)}}, {7, 0, 0, {3, dbits(-2.5)}}}, kNoWatermark, 2,
              exec);
  EXPECT_FALSE(table.may_fire(kNoWatermark, 1000000));
  EXPECT_EQ(table.fire(kNoWatermark, 1000000, out), 0u);
  table_merge(table, {{0, 0, 0, {5, dbits(-1.0)}}}, 1000000, 2, exec);
  table.evict(2000000);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_TRUE(table.may_fire(2000000, kFinalWatermark));
  ASSERT_EQ(table.fire(2000000, kFinalWatermark, out), 2u);
  EXPECT_EQ(out.key.data()[0], 0u);
  EXPECT_EQ(out.states.data()[0], 7u);
  EXPECT_EQ(bitsd(out.states.data()[out.stride + 0]), -1.0);
  EXPECT_EQ(out.key.data()[1], 7u);
  EXPECT_EQ(out.states.data()[1], 3u);
  table.evict(kFinalWatermark);
  EXPECT_EQ(table.size(), 0u);
}

TEST(WindowTable, EmptyTableFiresNothing) {
  HostExec exec;
  WindowTable<HostExec> table(exec, make_states({StateOp::sum_i64}), make_panes(10, 5),
                              KeyHasher{});
  FiredWindows<HostExec> out(exec);
  EXPECT_FALSE(table.may_fire(kNoWatermark, kFinalWatermark));
  EXPECT_EQ(table.fire(kNoWatermark, kFinalWatermark, out), 0u);
  table_merge(table, {}, 0, 1, exec);
  EXPECT_EQ(table.size(), 0u);
  table.evict(kFinalWatermark);
  EXPECT_EQ(table.size(), 0u);
}

TEST(WindowTable, MergeIntoExistingSlotsWhileTheTableGrows) {
  // 400 entries, then one batch updating all of them and adding 200 more: the batch crosses the
  // default growth threshold (half of 1024 slots), so the table rehashes inside merge. Updates of
  // the existing entries must land in their own slots.
  HostExec exec;
  const PaneSpec panes = make_panes(10, 10);
  WindowTable<HostExec> table(exec, make_states({StateOp::sum_i64}), panes, KeyHasher{});
  std::vector<MergeRow> first, second;
  for (std::uint32_t k = 0; k < 400; ++k) first.push_back({k, 0, 0, {1}});
  for (std::uint32_t k = 0; k < 600; ++k) second.push_back({k, 0, 0, {1}});
  table_merge(table, first, kNoWatermark, 1, exec);
  const std::size_t capacity_before = table.capacity();
  table_merge(table, second, kNoWatermark, 1, exec);
  EXPECT_EQ(table.size(), 600u);
  EXPECT_GT(table.capacity(), capacity_before);
  FiredWindows<HostExec> out(exec);
  ASSERT_EQ(table.fire(kNoWatermark, 10, out), 600u);
  std::size_t wrong = 0;
  for (std::uint32_t i = 0; i < 600; ++i) {
    ASSERT_EQ(out.key.data()[i], i);
    const std::uint64_t want = i < 400 ? 2 : 1;
    if (out.states.data()[i] != want) {
      if (wrong < 5)
        ADD_FAILURE() << "key " << i << ": count " << out.states.data()[i] << ", want " << want;
      ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0u) << "keys with a wrong count after a merge that grew the table";
}

// ---------------------------------------------------------------------------------------------
// Random streams against the model.

struct Stream {
  const char* name;
  PaneSpec panes;
  std::size_t keys;
  KeyDist dist;
  int batches;
  std::size_t events_per_batch;
  std::uint64_t mask = ~0ULL;
  double max_load = 0.5;
  int repeats = 1;
  bool may_grow = true;
};

std::ostream& operator<<(std::ostream& os, const Stream& s) { return os << s.name; }

/// What a stream exercised, so a test can check it covered what it claims.
struct StreamStats {
  std::size_t late = 0;      ///< events too late for every window (dropped)
  std::size_t with_cut = 0;  ///< events whose cut excluded some windows of their pane
  std::size_t updates = 0;   ///< re-emitted windows
  std::size_t fired = 0;     ///< fired rows
  std::size_t evicted = 0;   ///< entries evicted before the final watermark
  bool grew = false;
};

/// Runs batches of random events (times around a moving clock, some late, some late but
/// allowed) through merge / fire / evict on the table and on the model, comparing every fire,
/// then finishes with the final watermark.
void run_stream(const Stream& p, std::mt19937_64& rng, StreamStats& stats) {
  HostExec exec;
  const std::vector<StateOp> ops = kAllOps;
  WindowTable<HostExec> table(exec, make_states(ops), p.panes, KeyHasher{p.mask}, p.max_load);
  const std::size_t initial_capacity = table.capacity();
  RefWindows ref{p.panes, ops, {}, {}};
  FiredWindows<HostExec> out(exec);
  KeyDrawer draw(p.dist, p.keys);
  const std::int64_t unit = p.panes.global ? 10 : p.panes.slide;
  const std::int64_t span = p.panes.global ? 10 : p.panes.size;
  const std::int64_t disorder = span + p.panes.lateness + 2 * unit;
  std::int64_t clock = std::uniform_int_distribution<std::int64_t>(-10000, 10000)(rng);
  std::int64_t wm = kNoWatermark;  // the watermark of the last fire (and the events' wm_before)
  for (int b = 0; b < p.batches; ++b) {
    SCOPED_TRACE(::testing::Message() << "batch " << b << " wm " << wm);
    // Pre-aggregate the batch by (key, pane, cut): merge's precondition.
    std::map<Slot, std::vector<std::uint64_t>> batch;
    std::uniform_int_distribution<std::int64_t> offset(-disorder, 2 * unit);
    for (std::size_t e = 0; e < p.events_per_batch; ++e) {
      const std::int64_t t = clock + offset(rng);
      const auto key = static_cast<std::uint32_t>(draw(rng));
      const std::int64_t pane = ref_pane_of(p.panes, t);
      const std::uint32_t cut = ref_cut(p.panes, pane, wm);
      if (cut == kLateCut) {
        ++stats.late;
        continue;
      }
      stats.with_cut += cut > 0;
      auto [it, inserted] = batch.try_emplace(Slot{key, pane, cut});
      if (inserted) {
        for (StateOp op : ops) it->second.push_back(ref_init(op));
      }
      for (std::size_t s = 0; s < ops.size(); ++s)
        it->second[s] = ref_merge(ops[s], it->second[s], random_state_value(ops[s], rng));
    }
    std::vector<MergeRow> rows;
    for (auto& [slot, states] : batch)
      rows.push_back({std::get<0>(slot), std::get<1>(slot), std::get<2>(slot), states});
    std::shuffle(rows.begin(), rows.end(), rng);
    table_merge(table, rows, wm, static_cast<int>(ops.size()), exec);
    ref.merge(rows, wm);
    ASSERT_EQ(table.size(), ref.entries.size()) << "after merge";

    clock += std::uniform_int_distribution<std::int64_t>(0, 2 * unit)(rng);
    const std::int64_t next =
        std::max(wm, clock - std::uniform_int_distribution<std::int64_t>(0, unit)(rng));
    const std::size_t before = ref.entries.size();
    stats.updates += fire_and_compare(table, ref, wm, next, out);
    stats.fired += out.size;
    if (::testing::Test::HasFailure()) return;
    evict_and_compare(table, ref, wm, next);
    stats.evicted += before - ref.entries.size();
    if (::testing::Test::HasFailure()) return;
    wm = next;
  }
  fire_and_compare(table, ref, wm, kFinalWatermark, out);
  stats.fired += out.size;
  if (::testing::Test::HasFailure()) return;
  evict_and_compare(table, ref, wm, kFinalWatermark);
  EXPECT_EQ(table.size(), 0u);
  stats.grew = stats.grew || table.capacity() != initial_capacity;
}

class WindowStreams : public ::testing::TestWithParam<Stream> {};

TEST_P(WindowStreams, MatchBruteForceModel) {
  const Stream p = GetParam();
  SLUICE_SEEDED_RNG(rng);
  StreamStats stats;
  for (int r = 0; r < p.repeats && !HasFailure(); ++r) {
    SCOPED_TRACE(::testing::Message() << "repeat " << r);
    run_stream(p, rng, stats);
  }
  if (HasFailure()) return;
  // The streams exercised what they claim: firing, late events, cuts excluding closed windows
  // of sliding windows, re-emission after late-but-allowed events, eviction, growth.
  EXPECT_GT(stats.fired, 0u);
  if (!p.panes.global) {
    EXPECT_GT(stats.late, 0u);
    EXPECT_GT(stats.evicted, 0u);
    if (p.panes.slide < p.panes.size) {
      EXPECT_GT(stats.with_cut, 0u);
    }
    if (p.panes.lateness > 0) {
      EXPECT_GT(stats.updates, 0u);
    }
  }
  if (p.may_grow) {
    EXPECT_TRUE(stats.grew) << "premise broken: the table never grew";
  } else {
    EXPECT_FALSE(stats.grew) << "premise broken: the table grew";
  }
}

// Small streams: at most 20 * 40 = 800 entries per table, below the growth threshold of a table
// with max_load 0.9 (921 of 1024 slots), so they test merge/fire/evict semantics on their own,
// 6 fresh streams each.
#define SLUICE_SMALL_STREAM(name, panes, keys, dist, mask) \
  Stream { name, panes, keys, dist, 20, 40, mask, 0.9, 6, false }
INSTANTIATE_TEST_SUITE_P(
    Semantics, WindowStreams,
    ::testing::Values(
        SLUICE_SMALL_STREAM("tumbling10", make_panes(10, 10), 5, KeyDist::uniform, ~0ULL),
        SLUICE_SMALL_STREAM("tumbling10_offset3_late7", make_panes(10, 10, 3, 7), 8, KeyDist::hot90,
                            ~0ULL),
        SLUICE_SMALL_STREAM("sliding10by5_late4", make_panes(10, 5, 0, 4), 6, KeyDist::zipf, ~0ULL),
        SLUICE_SMALL_STREAM("sliding10by4_offsetm7_late6", make_panes(10, 4, -7, 6), 6,
                            KeyDist::uniform, ~0ULL),
        SLUICE_SMALL_STREAM("sliding7by3", make_panes(7, 3, 2, 0), 4, KeyDist::uniform, ~0ULL),
        SLUICE_SMALL_STREAM("sliding12by8_late30", make_panes(12, 8, 5, 30), 3, KeyDist::uniform,
                            ~0ULL),
        SLUICE_SMALL_STREAM("global", make_global_panes(), 40, KeyDist::zipf, ~0ULL),
        SLUICE_SMALL_STREAM("one_key", make_panes(10, 4, 0, 6), 1, KeyDist::uniform, ~0ULL),
        SLUICE_SMALL_STREAM("collisions_mask7", make_panes(10, 4, 0, 6), 20, KeyDist::uniform, 0x7),
        SLUICE_SMALL_STREAM("collisions_mask0", make_panes(10, 10, 0, 12), 20, KeyDist::uniform,
                            0x0)));
#undef SLUICE_SMALL_STREAM

// Larger streams that grow the table from its default capacity (and reuse tombstones).
INSTANTIATE_TEST_SUITE_P(
    Growth, WindowStreams,
    ::testing::Values(Stream{"grow_sliding10by4_late6_zipf", make_panes(10, 4, 0, 6), 1000,
                             KeyDist::zipf, 30, 5000},
                      Stream{"grow_tumbling_100k_keys", make_panes(10, 10, 0, 5), 100000,
                             KeyDist::uniform, 6, 60000},
                      Stream{"grow_hot90", make_panes(20, 5, 0, 10), 10000, KeyDist::hot90, 20,
                             20000},
                      Stream{"grow_collisions_parallel", make_panes(10, 4, 0, 6), 2000,
                             KeyDist::uniform, 8, 20000, 0x3fff0},
                      Stream{"grow_collisions_mask7", make_panes(10, 4, 0, 6), 300,
                             KeyDist::uniform, 10, 300, 0x7, 0.5, 3}));

}  // namespace
}  // namespace sluice::test
