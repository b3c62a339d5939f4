// The CUDA fast paths of reduce_partials (kernels/cuda/hash_preaggregate.cuh) against the
// portable operator on HostExec and the sort-and-fold reference.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "gpu_test_util.hpp"
#include "kernels/cuda/hash_preaggregate.cuh"
#include "kernels/partials_reference.hpp"

namespace sluice::test {
namespace {

using detail::CudaExec;
using detail::CudaPreaggregation;
using detail::CudaPreaggregator;

/// The rows as groups sorted by (key, pane, cut); fails on a repeated group.
std::vector<Group> groups_of(const HostRows& got) {
  std::vector<Group> groups;
  for (std::size_t i = 0; i < got.size(); ++i) {
    Group g{got.key(i), got.pane[i], got.cut[i], got.hash[i], {}};
    for (int s = 0; s < got.state_words; ++s) g.states.push_back(got.state(i, s));
    groups.push_back(std::move(g));
  }
  std::sort(groups.begin(), groups.end(), group_less);
  return groups;
}

/// The reference groups, with the magnitudes of their float sums (their rounding scale).
std::vector<GroupOf<RefState>> want_groups(const HostRows& rows) {
  return reference<RefState>(rows);
}

void expect_same_groups(const std::vector<Group>& got, const std::vector<GroupOf<RefState>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t g = 0; g < want.size(); ++g) {
    ASSERT_EQ(got[g].key, want[g].key) << "group " << g;
    ASSERT_EQ(got[g].pane, want[g].pane) << "group " << g;
    ASSERT_EQ(got[g].cut, want[g].cut) << "group " << g;
    ASSERT_EQ(got[g].hash, want[g].hash) << "group " << g;
    for (std::size_t s = 0; s < kAllOps.size(); ++s)
      ASSERT_TRUE(state_close(kAllOps[s], got[g].states[s], want[g].states.value[s],
                              want[g].states.magnitude[s]))
          << "group " << g << " state " << s;
  }
}

/// Rows of equal keys must be adjacent (KeyTable::find_or_insert's precondition).
void expect_keys_adjacent(const HostRows& got) {
  std::map<Key, std::size_t> last_seen;
  for (std::size_t i = 0; i < got.size(); ++i) {
    auto [it, fresh] = last_seen.try_emplace(got.key(i), i);
    if (!fresh) ASSERT_EQ(it->second, i - 1) << "key of row " << i << " also at row " << it->second;
    it->second = i;
  }
}

/// The portable operator on the host executor.
HostRows portable(const HostRows& rows) {
  HostExec host;
  Partials<HostExec> in(host, rows.key_words, rows.state_words);
  Partials<HostExec> out(host, rows.key_words, rows.state_words);
  detail::ReduceScratch<HostExec> scratch(host);
  to_partials(rows, in);
  reduce_partials(host, in.view(), make_states(kAllOps), out, scratch);
  return from_view(out.view());
}

const char* name_of(CudaPreaggregation path) {
  switch (path) {
    case CudaPreaggregation::automatic:
      return "auto";
    case CudaPreaggregation::block_then_hash:
      return "block";
    case CudaPreaggregation::hash:
      return "hash";
    case CudaPreaggregation::sort:
      return "sort";
  }
  return "?";
}

class FastPreaggregation : public ::testing::TestWithParam<RowsParams> {};

TEST_P(FastPreaggregation, EveryPathAgreesWithThePortableOperator) {
  SLUICE_REQUIRE_GPU();
  const RowsParams p = GetParam();
  SLUICE_GPU_RNG(rng);
  const HostRows rows = random_rows(p, rng);
  const std::vector<GroupOf<RefState>> want = want_groups(rows);
  const std::vector<Group> host = groups_of(portable(rows));
  expect_same_groups(host, want);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, p.key_words, states), out(exec, p.key_words, states);
  upload_rows(exec, rows, in);
  CudaPreaggregator preaggregate(exec);
  for (CudaPreaggregation path : {CudaPreaggregation::block_then_hash, CudaPreaggregation::hash,
                                  CudaPreaggregation::sort, CudaPreaggregation::automatic}) {
    SCOPED_TRACE(name_of(path));
    preaggregate.set_mode(path);
    out.resize_discard(rows.size());
    poison_partials(exec, out.view());
    preaggregate(exec, in.view(), make_states(kAllOps), out);
    const HostRows got = download_rows(exec, out.view());
    expect_keys_adjacent(got);
    expect_same_groups(groups_of(got), want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    SizesKeysSkew, FastPreaggregation,
    ::testing::Values(
        RowsParams{0, 1, KeyDist::uniform, 1}, RowsParams{1, 1, KeyDist::uniform, 2},
        RowsParams{31, 1, KeyDist::uniform, 1}, RowsParams{31, 100, KeyDist::zipf, 2},
        RowsParams{1000, 1, KeyDist::uniform, 1}, RowsParams{1000, 100, KeyDist::zipf, 1},
        RowsParams{1000, 100000, KeyDist::uniform, 2}, RowsParams{kLarge, 1, KeyDist::uniform, 1},
        RowsParams{kLarge, 100, KeyDist::zipf, 2}, RowsParams{kLarge, 100000, KeyDist::uniform, 1},
        RowsParams{kLarge, 100000, KeyDist::zipf, 2},
        RowsParams{10000000, 100, KeyDist::uniform, 1},
        RowsParams{10000000, 10000000, KeyDist::uniform, 1},
        RowsParams{10000000, 10000000, KeyDist::zipf, 2},
        // Forced hash collisions: order_by_key falls back to the portable order.
        RowsParams{1000, 100, KeyDist::uniform, 2, 0x7},
        RowsParams{20000, 5000, KeyDist::zipf, 1, 0x7},
        RowsParams{20000, 1000, KeyDist::uniform, 2, 0x0}));

TEST(FastPreaggregation, BlockTablesFoldFewKeysWithinEachBlock) {
  SLUICE_REQUIRE_GPU();
  SLUICE_GPU_RNG(rng);
  const RowsParams p{kLarge, 3, KeyDist::hot90, 1};
  const HostRows rows = random_rows(p, rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 1, states), tiles(exec, 1, states);
  upload_rows(exec, rows, in);
  detail::Buffer<unsigned long long, CudaExec> counter(exec, 1);
  tiles.resize_discard(rows.size());
  poison_partials(exec, tiles.view());
  detail::block_preaggregate(exec, in.view(), make_states(kAllOps), tiles, counter.data());
  // 3 keys x 9 panes x 3 cuts: at most 81 groups per block of 4096 rows, none spilled.
  const std::size_t blocks = (rows.size() + 4095) / 4096;
  EXPECT_LE(tiles.size(), blocks * 81);
  EXPECT_GT(tiles.size(), 0u);
  // Merged within blocks only: grouping the block rows again gives the reference.
  expect_same_groups(groups_of(portable(download_rows(exec, tiles.view()))), want_groups(rows));
}

TEST(FastPreaggregation, FullBlockTablesPassRowsThrough) {
  SLUICE_REQUIRE_GPU();
  SLUICE_GPU_RNG(rng);
  // Every row its own group: the shared tables overflow and rows pass through unchanged.
  const HostRows rows = random_rows(RowsParams{100003, 10000000, KeyDist::uniform, 2}, rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 2, states), tiles(exec, 2, states);
  upload_rows(exec, rows, in);
  detail::Buffer<unsigned long long, CudaExec> counter(exec, 1);
  tiles.resize_discard(rows.size());
  poison_partials(exec, tiles.view());
  detail::block_preaggregate(exec, in.view(), make_states(kAllOps), tiles, counter.data());
  expect_same_groups(groups_of(portable(download_rows(exec, tiles.view()))), want_groups(rows));
}

TEST(FastPreaggregation, HashTableIsCleanAfterEachCall) {
  SLUICE_REQUIRE_GPU();
  SLUICE_GPU_RNG(rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 2, states), out(exec, 2, states);
  detail::HashAggregateTable table(exec);
  detail::Buffer<unsigned long long, CudaExec> counter(exec, 1);
  for (std::size_t n : {200000u, 31u, 0u, 1000u, 1u, 20000u, 200000u}) {
    SCOPED_TRACE(::testing::Message() << n << " rows");
    const HostRows rows = random_rows(RowsParams{n, 1 + n / 3, KeyDist::zipf, 2}, rng);
    upload_rows(exec, rows, in);
    out.resize_discard(n);
    poison_partials(exec, out.view());
    detail::hash_aggregate(exec, in.view(), make_states(kAllOps), out, table, counter.data());
    expect_same_groups(groups_of(download_rows(exec, out.view())), want_groups(rows));
  }
}

TEST(FastPreaggregation, AutomaticChoiceFollowsTheGroupCount) {
  SLUICE_REQUIRE_GPU();
  SLUICE_GPU_RNG(rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 1, states), out(exec, 1, states);
  CudaPreaggregator preaggregate(exec);
  preaggregate.set_mode(CudaPreaggregation::automatic);
  auto run = [&](const RowsParams& p) {
    const HostRows rows = random_rows(p, rng);
    upload_rows(exec, rows, in);
    preaggregate(exec, in.view(), make_states(kAllOps), out);
    expect_same_groups(groups_of(download_rows(exec, out.view())), want_groups(rows));
  };
  run(RowsParams{100000, 2, KeyDist::uniform, 1});
  EXPECT_EQ(preaggregate.last_path(), CudaPreaggregation::block_then_hash);
  run(RowsParams{100000, 2, KeyDist::uniform, 1});
  EXPECT_EQ(preaggregate.last_path(), CudaPreaggregation::block_then_hash);
  run(RowsParams{100000, 100000, KeyDist::uniform, 1});  // decided by the previous batch
  EXPECT_EQ(preaggregate.last_path(), CudaPreaggregation::block_then_hash);
  run(RowsParams{100000, 100000, KeyDist::uniform, 1});
  EXPECT_EQ(preaggregate.last_path(), CudaPreaggregation::hash);
}

}  // namespace
}  // namespace sluice::test
