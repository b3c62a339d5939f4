// Tests of the host's fused pre-aggregation (host/fused_aggregate.hpp): its lists, repeats
// merged, hold the brute-force groups of the batch, whatever the threads, slices and table size.
#include "kernels/host/fused_aggregate.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "aggregation_fixture.hpp"
#include "kernels/host/time_range.hpp"

namespace sluice::test {
namespace {

using detail::HostAggregator;

/// A batch of `count` slices holding `rows` rows in all.
detail::BatchView view_of(const detail::ColumnSlice* slices, std::size_t count, std::size_t rows) {
  detail::BatchView v;
  v.slices = slices;
  v.num_slices = static_cast<int>(count);
  v.rows = rows;
  return v;
}

/// The groups in the aggregator's lists, repeats merged; checks each row's hash and partition.
std::map<GroupKey, RefStates> groups_of_lists(const AggQuery& q, const detail::GroupRowLists& l,
                                              int row_words) {
  std::map<GroupKey, RefStates> out;
  const int k = q.spec().key_words;
  for (int producer = 0; producer < l.producers; ++producer)
    for (int part = 0; part < l.partitions; ++part) {
      const std::size_t list = static_cast<std::size_t>(producer) * l.partitions + part;
      for (std::size_t i = 0; i < l.rows[list]; ++i) {
        const std::uint64_t* r = l.data[list] + i * static_cast<std::size_t>(row_words);
        Key key{0, 0};
        for (int j = 0; j < k; ++j) key[j] = r[3 + j];
        EXPECT_EQ(r[0], ref_key_hash(key.data(), k, q.spec().hasher.mask));
        EXPECT_EQ(detail::state_partition(r[0], l.partitions), part);
        const auto pane = static_cast<std::int64_t>(r[1]);
        EXPECT_LE(l.first_pane, pane);
        EXPECT_GE(l.last_pane, pane);
        fold_group(q, out, key, pane, static_cast<std::uint32_t>(r[2]), r + 3 + k, 1);
      }
    }
  return out;
}

struct Case {
  std::size_t rows;
  std::size_t keys;
  KeyDist dist;
  int key_columns;
  bool filter;
  std::size_t table_groups;
  AggShape shape = AggShape::all;
};

class HostAggregate : public ::testing::TestWithParam<Case> {};

TEST_P(HostAggregate, ListsHoldTheBruteForceGroups) {
  const Case c = GetParam();
  SLUICE_SEEDED_RNG(rng);
  const int before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (const auto& [name, window] : agg_windows()) {
      SCOPED_TRACE(name + ", " + std::to_string(threads) + " threads");
      const AggQuery q = make_agg_query(window, c.key_columns, c.filter,
                                        std::chrono::milliseconds(0), KeyHasher{}, c.shape);
      const auto& plan = q.compiled.plan;
      // Out of order by up to 300 ms, so that late events and cuts show at the watermark.
      const AggEvents e = random_events(c.rows, c.keys, c.dist, 5000, 300, rng);
      // The batch in slices of random lengths.
      std::vector<detail::ColumnSlice> slices;
      for (std::size_t at = 0; at < e.size();) {
        const std::size_t n = std::min(e.size() - at, 1 + static_cast<std::size_t>(rng() % 5000));
        slices.push_back(slice_of(e, q, at, n));
        at += n;
      }
      const detail::BatchView batch = view_of(slices.data(), slices.size(), e.size());
      for (std::int64_t wm :
           {kNoWatermark, std::int64_t{5000} + static_cast<std::int64_t>(c.rows / 2)}) {
        HostAggregator agg(q.spec(), {plan.code.data(), plan.programs.data()}, plan.input_types, 4,
                           c.table_groups);
        EXPECT_EQ(agg.row_path(),
                  c.shape != AggShape::all && (c.key_columns == 1 || c.key_columns == 3));
        std::vector<std::uint32_t> late;
        const std::size_t kept = agg.add_batch(batch, wm, late);
        RefGroups ref;
        ref_aggregate(e, q, 0, e.size(), wm, ref);
        EXPECT_EQ(kept, ref.kept);
        EXPECT_EQ(late, ref.late);  // in row order
        expect_same_groups(q, groups_of_lists(q, agg.lists(), agg.row_words()), ref.groups);
        agg.clear();
        const detail::GroupRowLists empty = agg.lists();
        for (int l = 0; l < empty.producers * empty.partitions; ++l) EXPECT_EQ(empty.rows[l], 0u);
      }
    }
  }
  omp_set_num_threads(before);
}

// The fold measures each slice's event-time range over all its rows (filtered or late ones too),
// as the separate pass does, whatever the threads.
TEST(HostAggregateTimes, EachSliceRangeAsTheSeparatePassAndBruteForceGiveIt) {
  SLUICE_SEEDED_RNG(rng);
  const int before = omp_get_max_threads();
  for (const AggShape shape : {AggShape::all, AggShape::one_float_input}) {
    const AggQuery q = make_agg_query(WindowSpec::tumbling(std::chrono::milliseconds(100)),
                                      shape == AggShape::all ? 2 : 3, true,
                                      std::chrono::milliseconds(0), KeyHasher{}, shape);
    const auto& plan = q.compiled.plan;
    ASSERT_GE(plan.time_column, 0);
    for (std::size_t rows :
         {std::size_t{0}, std::size_t{1}, std::size_t{1025}, std::size_t{70001}}) {
      const AggEvents e = random_events(rows, 50, KeyDist::zipf, 5000, 2000, rng);
      std::vector<detail::ColumnSlice> slices;
      std::vector<std::pair<std::size_t, std::size_t>> bounds;
      for (std::size_t at = 0; at < e.size() && slices.size() < detail::kMaxSlices;) {
        const std::size_t left = e.size() - at;
        const std::size_t n = slices.size() + 1 == detail::kMaxSlices
                                  ? left
                                  : std::min(left, 1 + static_cast<std::size_t>(rng() % 9000));
        slices.push_back(slice_of(e, q, at, n));
        bounds.emplace_back(at, n);
        at += n;
      }
      const detail::BatchView batch = view_of(slices.data(), slices.size(), e.size());
      detail::SliceTimes scanned;
      detail::scan_slice_times(batch, plan.time_column,
                               plan.input_types[static_cast<std::size_t>(plan.time_column)],
                               scanned);
      for (std::size_t sl = 0; sl < bounds.size(); ++sl) {
        const auto [at, n] = bounds[sl];
        const auto ts = e.ts.begin() + static_cast<std::ptrdiff_t>(at);
        EXPECT_EQ(scanned.min[sl], *std::min_element(ts, ts + static_cast<std::ptrdiff_t>(n)));
        EXPECT_EQ(scanned.max[sl], *std::max_element(ts, ts + static_cast<std::ptrdiff_t>(n)));
      }
      for (int threads : {1, 2, 3}) {
        SCOPED_TRACE(std::to_string(rows) + " rows, " + std::to_string(threads) + " threads");
        omp_set_num_threads(threads);
        HostAggregator agg(q.spec(), {plan.code.data(), plan.programs.data()}, plan.input_types, 4,
                           8192, plan.time_column);
        std::vector<std::uint32_t> late;
        agg.add_batch(batch, 5000 + static_cast<std::int64_t>(rows / 2), late);
        for (int sl = 0; sl < detail::kMaxSlices; ++sl) {
          EXPECT_EQ(agg.slice_times().min[sl], scanned.min[sl]) << "slice " << sl;
          EXPECT_EQ(agg.slice_times().max[sl], scanned.max[sl]) << "slice " << sl;
        }
        // The next batch (its first slice alone) keeps nothing of this one's ranges.
        if (batch.num_slices == 0) continue;
        const detail::BatchView first = view_of(slices.data(), 1, slices[0].rows);
        agg.clear();
        agg.add_batch(first, kNoWatermark, late);
        EXPECT_EQ(agg.slice_times().min[0], scanned.min[0]);
        EXPECT_EQ(agg.slice_times().max[0], scanned.max[0]);
        for (int sl = 1; sl < detail::kMaxSlices; ++sl) {
          EXPECT_EQ(agg.slice_times().min[sl], INT64_MAX) << "slice " << sl;
          EXPECT_EQ(agg.slice_times().max[sl], INT64_MIN) << "slice " << sl;
        }
      }
    }
  }
  omp_set_num_threads(before);
}

// A batch whose small keys seldom find their group in the thread's cache turns the cache off
// for the next batch, which then folds through the hash table alone: the same groups.
TEST(HostAggregateCache, TheBatchAfterOneWhereTheCacheMissedFoldsWithoutIt) {
  SLUICE_SEEDED_RNG(rng);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  for (const AggShape shape : {AggShape::one_float_input, AggShape::one_int_input}) {
    const AggQuery q = make_agg_query(WindowSpec::tumbling(std::chrono::milliseconds(100000)), 1,
                                      false, std::chrono::milliseconds(0), KeyHasher{}, shape);
    const auto& plan = q.compiled.plan;
    HostAggregator agg(q.spec(), {plan.code.data(), plan.programs.data()}, plan.input_types, 4);
    ASSERT_TRUE(agg.row_path());
    for (int b = 0; b < 3; ++b) {
      SCOPED_TRACE("batch " + std::to_string(b));
      // Batch 0: every key once (no cache hit); later ones: keys repeat.
      AggEvents e = random_events(b == 0 ? 3000 : 20011, 3000, KeyDist::uniform, 5000, 0, rng);
      for (std::size_t i = 0; i < e.size(); ++i)
        e.k[i] = b == 0 ? static_cast<std::int64_t>(i) : static_cast<std::int64_t>(rng() % 3000);
      const detail::ColumnSlice slice = slice_of(e, q, 0, e.size());
      const detail::BatchView batch = view_of(&slice, 1, e.size());
      std::vector<std::uint32_t> late;
      agg.clear();
      agg.add_batch(batch, kNoWatermark, late);
      RefGroups ref;
      ref_aggregate(e, q, 0, e.size(), kNoWatermark, ref);
      expect_same_groups(q, groups_of_lists(q, agg.lists(), agg.row_words()), ref.groups);
    }
  }
  omp_set_num_threads(before);
}

INSTANTIATE_TEST_SUITE_P(
    SizesKeysAndTables, HostAggregate,
    ::testing::Values(Case{0, 1, KeyDist::uniform, 1, false, 8192},
                      Case{1, 1, KeyDist::uniform, 1, true, 8192},
                      Case{31, 3, KeyDist::uniform, 2, false, 8192},
                      Case{5000, 100, KeyDist::zipf, 1, true, 8192},
                      Case{5000, 1, KeyDist::uniform, 0, false, 8192},
                      Case{40001, 2000, KeyDist::hot90, 2, true, 64},
                      Case{100003, 50000, KeyDist::uniform, 1, false, 1024},
                      // One key column and one input: the row path.
                      Case{1, 1, KeyDist::uniform, 3, false, 8192, AggShape::one_float_input},
                      Case{5003, 17, KeyDist::zipf, 3, true, 8192, AggShape::one_float_input},
                      Case{40001, 2000, KeyDist::hot90, 1, true, 64, AggShape::one_int_input},
                      Case{100003, 50000, KeyDist::uniform, 1, false, 1024,
                           AggShape::one_float_input}));

}  // namespace
}  // namespace sluice::test
