// The CUDA fused fold (kernels/cuda/fused_aggregate.cuh): every path (block tables, global,
// portable) against the brute-force fold and against HostExec's portable pass, outputs poisoned.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.hpp"
#include "kernels/aggregation_fixture.hpp"
#include "kernels/cuda/fused_aggregate.cuh"
#include "kernels/table/group_table.hpp"

namespace sluice::test {
namespace {

using detail::AggregationCounters;
using detail::CudaExec;
using detail::CudaFoldPath;
using detail::GroupTable;

const char* path_name(CudaFoldPath p) {
  switch (p) {
    case CudaFoldPath::block:
      return "block";
    case CudaFoldPath::global:
      return "global";
    case CudaFoldPath::portable:
      return "portable";
  }
  return "?";
}

/// A query's compiled programs in an executor's memory.
template <class Exec>
struct DevicePrograms {
  DevicePrograms(Exec& exec, const detail::PipelinePlan& plan)
      : code(upload(exec, plan.code)), programs(upload(exec, plan.programs)) {}
  detail::ProgramSetView view() const { return {code.data(), programs.data()}; }
  ExecBuffer<detail::Instr, Exec> code;
  ExecBuffer<detail::ProgramRef, Exec> programs;
};

/// Rows [first, first + n) of the events' read columns in an executor's memory.
template <class Exec>
struct DeviceColumns {
  DeviceColumns(Exec& exec, const AggEvents& e, const AggQuery& q, std::size_t first,
                std::size_t n) {
    const detail::ColumnSlice s = slice_of(e, q, first, n);
    const auto& types = q.compiled.plan.input_types;
    for (std::size_t c = 0; c < types.size(); ++c) {
      const std::size_t bytes = n * detail::column_width(types[c]);
      columns.emplace_back(exec, bytes + 1);
      exec.copy_from_host(columns.back().data(), s.columns[c], bytes);
    }
    in.count = static_cast<int>(types.size());
    for (int c = 0; c < in.count; ++c) {
      in.data[c] = columns[static_cast<std::size_t>(c)].data();
      in.type[c] = types[static_cast<std::size_t>(c)];
    }
  }
  std::vector<ExecBuffer<std::byte, Exec>> columns;
  detail::InputColumns in;
};

/// The groups of host rows, repeats merged.
std::map<GroupKey, RefStates> groups_of_rows(const AggQuery& q, const HostRows& rows) {
  std::map<GroupKey, RefStates> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows.hash[i], ref_key_hash(rows.key(i).data(), rows.key_words, q.spec().hasher.mask));
    fold_group(q, out, rows.key(i), rows.pane[i], rows.cut[i],
               rows.states.data() + i * static_cast<std::size_t>(rows.state_words), 1);
  }
  return out;
}

/// What one fold of two batches gave: the table's groups after compaction, the counters and
/// late rows of each batch (sorted).
struct FoldRun {
  std::map<GroupKey, RefStates> groups;
  AggregationCounters counters[2];
  std::vector<std::uint32_t> late[2];
};

/// Folds rows [0, half) at wm1 and [half, n) at wm2 into one table (by `path` on CudaExec, by
/// the portable pass on HostExec) and compacts it into poisoned partials.
template <class Exec>
FoldRun fold_two_batches(Exec& exec, const AggQuery& q, const AggEvents& e, std::int64_t wm1,
                         std::int64_t wm2, CudaFoldPath path) {
  const std::size_t n = e.size();
  const std::size_t half = n / 2;
  const DevicePrograms<Exec> programs(exec, q.compiled.plan);
  GroupTable<Exec> table(exec, q.spec().key_words, q.spec().states);
  table.reserve(n);
  auto counters = poisoned_buffer<AggregationCounters>(exec, 2);
  exec.fill_bytes(counters.data(), 0, 2 * sizeof(AggregationCounters));
  auto late = poisoned_buffer<std::uint32_t>(exec, n + 1);
  const std::size_t first[2] = {0, half};
  const std::size_t rows[2] = {half, n - half};
  const std::int64_t wm[2] = {wm1, wm2};
  for (int b = 0; b < 2; ++b) {
    const DeviceColumns<Exec> columns(exec, e, q, first[b], rows[b]);
    if constexpr (std::is_same_v<Exec, CudaExec>) {
      detail::fold_events_cuda(exec, table, columns.in, rows[b], programs.view(), q.spec(), wm[b],
                               counters.data() + b, late.data() + first[b], path);
    } else {
      table.add_events(columns.in, rows[b], programs.view(), q.spec(), wm[b], counters.data() + b,
                       late.data() + first[b]);
    }
    exec.synchronize();  // the columns are freed at the end of the iteration
  }
  Partials<Exec> out(exec, q.spec().key_words, q.spec().states.count);
  out.resize_discard(table.row_capacity());
  poison_partials(exec, out.view());
  auto count = poisoned_buffer<unsigned long long>(exec, 1);
  table.compact(out, count.data());
  FoldRun run;
  const std::vector<AggregationCounters> c = download(exec, counters.data(), 2);
  PartialsView v = out.view();
  v.size = static_cast<std::size_t>(download(exec, count.data(), 1)[0]);
  EXPECT_LE(v.size, n);
  run.groups = groups_of_rows(q, download_rows(exec, v));
  for (int b = 0; b < 2; ++b) {
    run.counters[b] = c[static_cast<std::size_t>(b)];
    EXPECT_LE(run.counters[b].late, rows[b]);
    run.late[b] = download(exec, late.data() + first[b],
                           std::min<std::size_t>(run.counters[b].late, rows[b]));
    std::sort(run.late[b].begin(), run.late[b].end());
  }
  return run;
}

/// The brute-force fold of the same two batches.
FoldRun reference_fold(const AggQuery& q, const AggEvents& e, std::int64_t wm1, std::int64_t wm2) {
  const std::size_t half = e.size() / 2;
  RefGroups r[2];
  ref_aggregate(e, q, 0, half, wm1, r[0]);
  ref_aggregate(e, q, half, e.size() - half, wm2, r[1]);
  FoldRun run;
  run.groups = r[0].groups;
  for (const auto& [k, states] : r[1].groups)
    fold_group(q, run.groups, std::get<0>(k), std::get<1>(k), std::get<2>(k), states.data(), 1);
  for (int b = 0; b < 2; ++b) {
    run.counters[b].kept = r[b].kept;
    run.counters[b].late = r[b].late.size();
    run.late[b] = r[b].late;
  }
  return run;
}

void expect_same_run(const AggQuery& q, const FoldRun& got, const FoldRun& want) {
  for (int b = 0; b < 2; ++b) {
    EXPECT_EQ(got.counters[b].kept, want.counters[b].kept) << "batch " << b << " kept";
    EXPECT_EQ(got.counters[b].late, want.counters[b].late) << "batch " << b << " late";
    EXPECT_EQ(got.late[b], want.late[b]) << "batch " << b << " late rows";
  }
  expect_same_groups(q, got.groups, want.groups);
}

using Params = FoldCase;

class CudaFold : public GpuTestWithParam<Params> {};

/// Every window geometry, every path: the groups, counters and late rows of the brute-force
/// fold and of HostExec's portable pass. The values (quarters and small integers) sum exactly
/// in any order, so even float sums compare exactly.
TEST_P(CudaFold, EveryPathMatchesBruteForceAndTheHost) {
  const Params p = GetParam();
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  HostExec host;
  const std::size_t n = test_size(p.rows, p.small_rows);
  for (const auto& [name, window] : agg_windows()) {
    SCOPED_TRACE(name);
    const AggQuery q = make_agg_query(window, p.key_columns, p.filter);
    const AggEvents e = random_events(n, p.keys, p.dist, 1000, 40, rng);
    const auto wm2 = static_cast<std::int64_t>(1000 + n / 2) - 60;
    const FoldRun want = reference_fold(q, e, kNoWatermark, wm2);
    const FoldRun on_host = fold_two_batches(host, q, e, kNoWatermark, wm2, CudaFoldPath::portable);
    expect_same_run(q, on_host, want);
    for (CudaFoldPath path : {CudaFoldPath::block, CudaFoldPath::global, CudaFoldPath::portable}) {
      SCOPED_TRACE(path_name(path));
      expect_same_run(q, fold_two_batches(exec, q, e, kNoWatermark, wm2, path), want);
      if (!kOnDevice) break;  // HostExec has one path
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SizesKeysAndSkew, CudaFold,
                         ::testing::Values(Params{0, 1, KeyDist::uniform, 1, false, 0},
                                           Params{1, 1, KeyDist::uniform, 1, true, 1},
                                           Params{511, 5, KeyDist::uniform, 2, false, 511},
                                           Params{512, 3, KeyDist::hot90, 1, true, 512},
                                           Params{513, 1, KeyDist::uniform, 0, false, 513},
                                           Params{100003, 100, KeyDist::zipf, 1, true, 20003},
                                           Params{300007, 200000, KeyDist::uniform, 2, false,
                                                  40009},
                                           Params{200003, 5000, KeyDist::hot90, 1, false, 30011}));

class CudaFoldCases : public GpuTest {};

/// One key, one pane: every lane of every warp hits one slot (the warp-aggregated combine).
TEST_F(CudaFoldCases, OneHotGroupCountsEveryEvent) {
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  const AggQuery q =
      make_agg_query(WindowSpec::tumbling(std::chrono::milliseconds(1'000'000)), 1, false);
  const std::size_t n = test_size(1'000'003, 100'003);
  AggEvents e = random_events(n, 1, KeyDist::uniform, 1000, 0, rng);
  for (std::size_t i = 0; i < n; ++i) e.ts[i] = 1000 + static_cast<std::int64_t>(i % 1000);
  const FoldRun want = reference_fold(q, e, kNoWatermark, kNoWatermark);
  ASSERT_EQ(want.groups.size(), 1u);
  for (CudaFoldPath path : {CudaFoldPath::block, CudaFoldPath::global}) {
    SCOPED_TRACE(path_name(path));
    expect_same_run(q, fold_two_batches(exec, q, e, kNoWatermark, kNoWatermark, path), want);
  }
}

/// Keys sharing a two-bit hash: every probe of both tables compares keys by value.
TEST_F(CudaFoldCases, KeysThatShareAHashStayApart) {
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  const AggQuery q = make_agg_query(WindowSpec::tumbling(std::chrono::milliseconds(50)), 2, false,
                                    std::chrono::milliseconds(0), KeyHasher{0x3});
  const AggEvents e = random_events(test_size(20000, 5000), 300, KeyDist::uniform, 0, 20, rng);
  const FoldRun want = reference_fold(q, e, kNoWatermark, kNoWatermark);
  for (CudaFoldPath path : {CudaFoldPath::block, CudaFoldPath::global}) {
    SCOPED_TRACE(path_name(path));
    expect_same_run(q, fold_two_batches(exec, q, e, kNoWatermark, kNoWatermark, path), want);
  }
}

/// A block table holds a power of two of slots within its budget.
TEST(CudaFoldShape, BlockTableSlotsFitTheBudget) {
  EXPECT_EQ(detail::block_table_slots(1, 3, 0), 0u);
  for (int k : {0, 1, 4}) {
    for (int s : {1, 3, 8}) {
      const std::size_t slots = detail::block_table_slots(k, s, 96 * 1024);
      const std::size_t per = 8 * static_cast<std::size_t>(3 + k + s) + 4;
      ASSERT_GE(slots, 32u);
      EXPECT_EQ(slots & (slots - 1), 0u);
      EXPECT_LE(slots * per, 96u * 1024);
      EXPECT_GT(2 * slots * per, 96u * 1024);
    }
  }
}

#if !defined(SLUICE_GPU_TESTS_ON_HOST)
/// Block tables from four events per group on.
TEST(CudaFoldShape, PathFollowsEventsPerGroup) {
  EXPECT_EQ(detail::cuda_fold_path_after(1000, 250), CudaFoldPath::block);
  EXPECT_EQ(detail::cuda_fold_path_after(1000, 251), CudaFoldPath::global);
  EXPECT_EQ(detail::cuda_fold_path_after(1000, 1), CudaFoldPath::block);
  EXPECT_EQ(detail::cuda_fold_path_after(1000, 1000), CudaFoldPath::global);
}

/// The folder starts on block tables, follows the rounds it folded, and SLUICE_CUDA_PREAGG
/// fixes a path or is rejected.
TEST_F(CudaFoldCases, FolderFollowsItsRoundsUnlessFixed) {
  SLUICE_GPU_RNG(rng);
  DevExec exec;
  unsetenv("SLUICE_CUDA_PREAGG");
  const AggQuery q = make_agg_query(WindowSpec::tumbling(std::chrono::milliseconds(10)), 1, false);
  const AggEvents e = random_events(1000, 10, KeyDist::uniform, 1000, 0, rng);
  const DevicePrograms<CudaExec> programs(exec, q.compiled.plan);
  const DeviceColumns<CudaExec> columns(exec, e, q, 0, e.size());
  GroupTable<CudaExec> table(exec, q.spec().key_words, q.spec().states);
  table.reserve(4 * e.size());
  auto counters = poisoned_buffer<AggregationCounters>(exec, 1);
  exec.fill_bytes(counters.data(), 0, sizeof(AggregationCounters));
  auto late = poisoned_buffer<std::uint32_t>(exec, e.size());
  detail::EventFolder<CudaExec> folder(exec);
  EXPECT_EQ(folder.path(), CudaFoldPath::block);
  const auto round = [&](std::size_t groups) {
    folder(table, columns.in, e.size(), programs.view(), q.spec(), kNoWatermark, counters.data(),
           late.data());
    folder.observe_groups(groups);
    exec.synchronize();
  };
  round(900);
  EXPECT_EQ(folder.path(), CudaFoldPath::global);
  round(10);
  EXPECT_EQ(folder.path(), CudaFoldPath::block);
  setenv("SLUICE_CUDA_PREAGG", "global", 1);
  EXPECT_EQ(detail::EventFolder<CudaExec>(exec).path(), CudaFoldPath::global);
  setenv("SLUICE_CUDA_PREAGG", "portable", 1);
  detail::EventFolder<CudaExec> fixed(exec);
  fixed.observe_groups(1);
  EXPECT_EQ(fixed.path(), CudaFoldPath::portable);
  setenv("SLUICE_CUDA_PREAGG", "fastest", 1);
  EXPECT_THROW(detail::EventFolder<CudaExec>{exec}, Error);
  unsetenv("SLUICE_CUDA_PREAGG");
}
#endif

}  // namespace
}  // namespace sluice::test
