// Tests of the portable pre-aggregation table (table/group_table.hpp) against brute force.
#include "kernels/table/group_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "aggregation_fixture.hpp"
#include "kernels/exec/host_exec.hpp"
#include "partials_reference.hpp"

namespace sluice::test {
namespace {

using detail::AggregationCounters;
using detail::GroupTable;

using Params = FoldCase;

class GroupTableEvents : public ::testing::TestWithParam<Params> {};

/// One table folds two batches (the second with a later watermark, so some of its events are
/// late) and is compacted; its groups equal the brute-force fold of both batches. Compacting
/// empties it: a second round gives only its own groups.
TEST_P(GroupTableEvents, FoldsEventsLikeBruteForce) {
  const Params p = GetParam();
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  for (const auto& [name, window] : agg_windows()) {
    SCOPED_TRACE(name);
    const AggQuery q = make_agg_query(window, p.key_columns, p.filter);
    const auto& plan = q.compiled.plan;
    const detail::ProgramSetView programs{plan.code.data(), plan.programs.data()};
    const AggEvents e = random_events(p.rows, p.keys, p.dist, 1000, 40, rng);
    GroupTable<HostExec> table(exec, q.spec().key_words, q.spec().states);
    Partials<HostExec> out(exec, q.spec().key_words, q.spec().states.count);
    for (int round = 0; round < 2; ++round) {
      const std::size_t half = p.rows / 2;
      const std::int64_t wm1 = round == 0 ? kNoWatermark : 1000 + static_cast<std::int64_t>(half);
      const std::int64_t wm2 = 1000 + static_cast<std::int64_t>(half) - 60;
      table.reserve(p.rows);
      std::vector<std::uint32_t> late(p.rows + 1);
      AggregationCounters c1, c2;
      table.add_events(inputs_of(slice_of(e, q, 0, half), q), half, programs, q.spec(), wm1, &c1,
                       late.data());
      table.add_events(inputs_of(slice_of(e, q, half, p.rows - half), q), p.rows - half, programs,
                       q.spec(), wm2, &c2, late.data() + half);
      unsigned long long count = 0;
      table.compact(out, &count);
      RefGroups ref1, ref2;
      ref_aggregate(e, q, 0, half, wm1, ref1);
      ref_aggregate(e, q, half, p.rows - half, wm2, ref2);
      for (const auto& [k, states] : ref2.groups)
        fold_group(q, ref1.groups, std::get<0>(k), std::get<1>(k), std::get<2>(k), states.data(),
                   1);
      EXPECT_EQ(c1.kept, ref1.kept);
      EXPECT_EQ(c2.kept, ref2.kept);
      ASSERT_EQ(c1.late, ref1.late.size());
      ASSERT_EQ(c2.late, ref2.late.size());
      std::vector<std::uint32_t> got1(late.begin(),
                                      late.begin() + static_cast<std::ptrdiff_t>(c1.late));
      std::vector<std::uint32_t> got2(late.begin() + static_cast<std::ptrdiff_t>(half),
                                      late.begin() + static_cast<std::ptrdiff_t>(half + c2.late));
      std::sort(got1.begin(), got1.end());
      std::sort(got2.begin(), got2.end());
      EXPECT_EQ(got1, ref1.late);
      EXPECT_EQ(got2, ref2.late);
      expect_same_groups(q, groups_of(q, out.view(), count), ref1.groups);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SizesKeysAndSkew, GroupTableEvents,
                         ::testing::Values(Params{0, 1, KeyDist::uniform, 1, false},
                                           Params{1, 1, KeyDist::uniform, 1, true},
                                           Params{31, 5, KeyDist::uniform, 2, false},
                                           Params{1000, 100, KeyDist::zipf, 1, true},
                                           Params{1000, 1, KeyDist::uniform, 0, false},
                                           Params{20003, 5000, KeyDist::hot90, 2, true},
                                           Params{100003, 100000, KeyDist::uniform, 1, false}));

TEST(GroupTable, KeysThatShareAHashStayApart) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  // Hashes narrowed to two bits: every probe compares keys by value.
  const AggQuery q = make_agg_query(WindowSpec::tumbling(std::chrono::milliseconds(50)), 2, false,
                                    std::chrono::milliseconds(0), KeyHasher{0x3});
  const auto& plan = q.compiled.plan;
  const AggEvents e = random_events(5000, 300, KeyDist::uniform, 0, 20, rng);
  GroupTable<HostExec> table(exec, q.spec().key_words, q.spec().states);
  table.reserve(e.size());
  std::vector<std::uint32_t> late(e.size());
  AggregationCounters c;
  table.add_events(inputs_of(slice_of(e, q, 0, e.size()), q), e.size(),
                   {plan.code.data(), plan.programs.data()}, q.spec(), kNoWatermark, &c,
                   late.data());
  Partials<HostExec> out(exec, q.spec().key_words, q.spec().states.count);
  unsigned long long count = 0;
  table.compact(out, &count);
  RefGroups ref;
  ref_aggregate(e, q, 0, e.size(), kNoWatermark, ref);
  expect_same_groups(q, groups_of(q, out.view(), count), ref.groups);
}

/// Partial rows from several senders: add_partials folds repeats of a group into one row.
TEST(GroupTable, PartialsFoldIntoUniqueGroups) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  for (const RowsParams& rp :
       {RowsParams{0, 1, KeyDist::uniform, 1}, RowsParams{1, 1, KeyDist::uniform, 1},
        RowsParams{1000, 10, KeyDist::zipf, 2}, RowsParams{50000, 20000, KeyDist::uniform, 1},
        RowsParams{3000, 200, KeyDist::hot90, 2, 0x7}}) {
    SCOPED_TRACE(::testing::Message() << rp);
    const HostRows rows = random_rows(rp, rng);
    const detail::StateSpec spec = make_states(kAllOps);
    Partials<HostExec> in(exec, rp.key_words, rows.state_words);
    to_partials(rows, in);
    GroupTable<HostExec> table(exec, rp.key_words, spec);
    table.reserve(rows.size());
    table.add_partials(in.view(), nullptr);
    Partials<HostExec> out(exec, rp.key_words, rows.state_words);
    unsigned long long count = 0;
    table.compact(out, &count);
    std::map<std::tuple<Key, std::int64_t, std::uint32_t>, std::vector<std::uint64_t>> want, got;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows.cut[i] == kLateCut) continue;
      auto& acc = want[{rows.key(i), rows.pane[i], rows.cut[i]}];
      if (acc.empty())
        for (StateOp op : kAllOps) acc.push_back(ref_init(op));
      for (std::size_t s = 0; s < kAllOps.size(); ++s)
        acc[s] = ref_merge(kAllOps[s], acc[s], rows.state(i, static_cast<int>(s)));
    }
    const PartialsView v = out.view();
    for (std::size_t i = 0; i < count; ++i) {
      Key k{0, 0};
      for (int j = 0; j < rp.key_words; ++j) k[j] = v.key(j, i);
      auto [it, fresh] = got.try_emplace({k, v.pane[i], v.cut[i]});
      ASSERT_TRUE(fresh) << "group " << i << " appears twice";
      for (std::size_t s = 0; s < kAllOps.size(); ++s)
        it->second.push_back(v.state(static_cast<int>(s), i));
    }
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [key, states] : want) {
      auto it = got.find(key);
      ASSERT_NE(it, got.end());
      for (std::size_t s = 0; s < kAllOps.size(); ++s)
        EXPECT_TRUE(state_matches(kAllOps[s], it->second[s], states[s]));
    }
  }
}

}  // namespace
}  // namespace sluice::test
