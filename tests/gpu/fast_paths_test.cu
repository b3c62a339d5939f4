// The CUDA fast paths of reduce_partials (kernels/cuda/hash_preaggregate.cuh) against the
// portable operator on HostExec and the sort-and-fold reference.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "host/cuda_probe.hpp"
#include "kernels/cuda/hash_preaggregate.cuh"
#include "kernels/partials_reference.hpp"

namespace sluice::test {
namespace {

using detail::CudaExec;
using detail::CudaPreaggregation;
using detail::CudaPreaggregator;

#define SLUICE_SKIP_WITHOUT_GPU()                                                         \
  do {                                                                                    \
    std::string why_;                                                                     \
    if (!detail::cuda_device_available(&why_)) GTEST_SKIP() << "no usable GPU: " << why_; \
  } while (0)

/// Copies host rows into device partials.
void to_device(CudaExec& exec, const HostRows& rows, Partials<CudaExec>& out) {
  HostExec host;
  Partials<HostExec> staged(host, rows.key_words, rows.state_words);
  to_partials(rows, staged);
  out.resize_discard(rows.size());
  const PartialsView s = staged.view();
  const PartialsView d = out.view();
  const std::size_t n = rows.size();
  exec.copy_from_host(d.hash, s.hash, n * 8);
  for (int j = 0; j < rows.key_words; ++j)
    exec.copy_from_host(d.keys + j * d.stride, s.keys + j * s.stride, n * 8);
  exec.copy_from_host(d.pane, s.pane, n * 8);
  exec.copy_from_host(d.cut, s.cut, n * 4);
  for (int k = 0; k < rows.state_words; ++k)
    exec.copy_from_host(d.states + k * d.stride, s.states + k * s.stride, n * 8);
  exec.synchronize();
}

/// Reads device partials back.
HostRows from_device(CudaExec& exec, const PartialsView& d) {
  HostExec host;
  Partials<HostExec> staged(host, d.key_words, d.state_words);
  staged.resize_discard(d.size);
  const PartialsView s = staged.view();
  const std::size_t n = d.size;
  exec.copy_to_host(s.hash, d.hash, n * 8);
  for (int j = 0; j < d.key_words; ++j)
    exec.copy_to_host(s.keys + j * s.stride, d.keys + j * d.stride, n * 8);
  exec.copy_to_host(s.pane, d.pane, n * 8);
  exec.copy_to_host(s.cut, d.cut, n * 4);
  for (int k = 0; k < d.state_words; ++k)
    exec.copy_to_host(s.states + k * s.stride, d.states + k * d.stride, n * 8);
  return from_view(staged.view());
}

/// Fills every column of `p` (up to its capacity) with 0xA5 bytes, so rows an operator claims
/// to have written but did not show up as garbage.
void poison(CudaExec& exec, Partials<CudaExec>& p, std::size_t rows) {
  p.resize_discard(rows);
  const PartialsView v = p.view();
  const std::size_t n = v.stride;
  exec.fill_bytes(v.hash, 0xA5, n * 8);
  exec.fill_bytes(v.keys, 0xA5, n * 8 * v.key_words);
  exec.fill_bytes(v.pane, 0xA5, n * 8);
  exec.fill_bytes(v.cut, 0xA5, n * 4);
  exec.fill_bytes(v.states, 0xA5, n * 8 * v.state_words);
}

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

void expect_same_groups(const std::vector<Group>& got, const std::vector<Group>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t g = 0; g < want.size(); ++g) {
    ASSERT_EQ(got[g].key, want[g].key) << "group " << g;
    ASSERT_EQ(got[g].pane, want[g].pane) << "group " << g;
    ASSERT_EQ(got[g].cut, want[g].cut) << "group " << g;
    ASSERT_EQ(got[g].hash, want[g].hash) << "group " << g;
    for (std::size_t s = 0; s < kAllOps.size(); ++s)
      ASSERT_TRUE(state_matches(kAllOps[s], got[g].states[s], want[g].states[s]))
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
  SLUICE_SKIP_WITHOUT_GPU();
  const RowsParams p = GetParam();
  SLUICE_SEEDED_RNG(rng);
  const HostRows rows = random_rows(p, rng);
  const std::vector<Group> want = reference(rows);
  const std::vector<Group> host = groups_of(portable(rows));
  expect_same_groups(host, want);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, p.key_words, states), out(exec, p.key_words, states);
  to_device(exec, rows, in);
  CudaPreaggregator preaggregate(exec);
  for (CudaPreaggregation path : {CudaPreaggregation::block_then_hash, CudaPreaggregation::hash,
                                  CudaPreaggregation::sort, CudaPreaggregation::automatic}) {
    SCOPED_TRACE(name_of(path));
    preaggregate.set_mode(path);
    poison(exec, out, rows.size());
    preaggregate(exec, in.view(), make_states(kAllOps), out);
    const HostRows got = from_device(exec, out.view());
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
  SLUICE_SKIP_WITHOUT_GPU();
  SLUICE_SEEDED_RNG(rng);
  const RowsParams p{kLarge, 3, KeyDist::hot90, 1};
  const HostRows rows = random_rows(p, rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 1, states), tiles(exec, 1, states);
  to_device(exec, rows, in);
  detail::Buffer<unsigned long long, CudaExec> counter(exec, 1);
  poison(exec, tiles, rows.size());
  detail::block_preaggregate(exec, in.view(), make_states(kAllOps), tiles, counter.data());
  // 3 keys x 9 panes x 3 cuts: at most 81 groups per block of 4096 rows, none spilled.
  const std::size_t blocks = (rows.size() + 4095) / 4096;
  EXPECT_LE(tiles.size(), blocks * 81);
  EXPECT_GT(tiles.size(), 0u);
  // Merged within blocks only: grouping the block rows again gives the reference.
  expect_same_groups(groups_of(portable(from_device(exec, tiles.view()))), reference(rows));
}

TEST(FastPreaggregation, FullBlockTablesPassRowsThrough) {
  SLUICE_SKIP_WITHOUT_GPU();
  SLUICE_SEEDED_RNG(rng);
  // Every row its own group: the shared tables overflow and rows pass through unchanged.
  const HostRows rows = random_rows(RowsParams{100003, 10000000, KeyDist::uniform, 2}, rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 2, states), tiles(exec, 2, states);
  to_device(exec, rows, in);
  detail::Buffer<unsigned long long, CudaExec> counter(exec, 1);
  poison(exec, tiles, rows.size());
  detail::block_preaggregate(exec, in.view(), make_states(kAllOps), tiles, counter.data());
  expect_same_groups(groups_of(portable(from_device(exec, tiles.view()))), reference(rows));
}

TEST(FastPreaggregation, HashTableIsCleanAfterEachCall) {
  SLUICE_SKIP_WITHOUT_GPU();
  SLUICE_SEEDED_RNG(rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 2, states), out(exec, 2, states);
  detail::HashAggregateTable table(exec);
  detail::Buffer<unsigned long long, CudaExec> counter(exec, 1);
  for (std::size_t n : {200000u, 31u, 0u, 1000u, 1u, 20000u, 200000u}) {
    SCOPED_TRACE(::testing::Message() << n << " rows");
    const HostRows rows = random_rows(RowsParams{n, 1 + n / 3, KeyDist::zipf, 2}, rng);
    to_device(exec, rows, in);
    poison(exec, out, n);
    detail::hash_aggregate(exec, in.view(), make_states(kAllOps), out, table, counter.data());
    expect_same_groups(groups_of(from_device(exec, out.view())), reference(rows));
  }
}

TEST(FastPreaggregation, AutomaticChoiceFollowsTheGroupCount) {
  SLUICE_SKIP_WITHOUT_GPU();
  SLUICE_SEEDED_RNG(rng);
  const int states = static_cast<int>(kAllOps.size());
  CudaExec exec;
  Partials<CudaExec> in(exec, 1, states), out(exec, 1, states);
  CudaPreaggregator preaggregate(exec);
  preaggregate.set_mode(CudaPreaggregation::automatic);
  auto run = [&](const RowsParams& p) {
    const HostRows rows = random_rows(p, rng);
    to_device(exec, rows, in);
    preaggregate(exec, in.view(), make_states(kAllOps), out);
    expect_same_groups(groups_of(from_device(exec, out.view())), reference(rows));
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
