// The CUDA pipeline through the engine's real stages (ingest, dispatch, worker rounds, emission)
// against the host pipeline on the same stream, for every fold path; stateless projection.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.hpp"
#include "host/rounds_driver.hpp"
#include "kernels/filter_project.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

/// The pipeline under test: CUDA on device 0 (HostExec's in the on-host build).
std::unique_ptr<detail::WorkerPipeline> make_device_pipeline(const detail::PipelinePlan& plan) {
  if constexpr (kOnDevice) return detail::make_cuda_pipeline(plan, 0);
  return detail::make_host_pipeline(plan);
}

/// Sets SLUICE_CUDA_PREAGG for the pipelines made while it lives.
class FoldPathScope {
 public:
  explicit FoldPathScope(const char* path) { setenv("SLUICE_CUDA_PREAGG", path, 1); }
  ~FoldPathScope() { unsetenv("SLUICE_CUDA_PREAGG"); }
  FoldPathScope(const FoldPathScope&) = delete;
  FoldPathScope& operator=(const FoldPathScope&) = delete;
};

struct Case {
  const char* name;
  WindowSpec window;
  Duration lateness;
  std::uint32_t keys;
  std::size_t batch_rows;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

class PipelineGpu : public GpuTestWithParam<Case> {};

/// Every window of the host pipeline, with the same values (float sums within 1e-9: the device
/// adds in any order; first/last exactly, through the pair combines), the same late events,
/// for each fold path of the device.
TEST_P(PipelineGpu, SameWindowsAsTheHostPipeline) {
  const Case c = GetParam();
  SLUICE_GPU_RNG(rng);
  const Schema schema = telemetry_schema();
  const Columns cols = make_columns(test_size(400'000, 60'000), c.keys, rng);
  const DictionaryPtr dict = host_dictionary(c.keys);
  const Query query = rounds_query(c.window, c.lateness,
                                   {count(), sum(col("cpu")), max(col("cpu")), min(col("status")),
                                    avg(col("cpu")), first(col("cpu")), last(col("status"))});
  const detail::CompiledQuery compiled =
      detail::compile_query(schema, query, *dict, 1, PartitionSpec{});
  const auto no_syncs = [] { return std::uint64_t{0}; };
  const std::unique_ptr<detail::WorkerPipeline> host = detail::make_host_pipeline(compiled.plan);
  const RoundsRun want = run_rounds(*host, no_syncs, compiled, schema, dict, cols, c.batch_rows);
  ASSERT_GT(want.rows, 0u);
  for (const char* path : {"auto", "block", "global", "portable"}) {
    SCOPED_TRACE(path);
    const FoldPathScope scope(path);
    const std::unique_ptr<detail::WorkerPipeline> device = make_device_pipeline(compiled.plan);
    const RoundsRun got = run_rounds(*device, no_syncs, compiled, schema, dict, cols, c.batch_rows);
    EXPECT_EQ(got.rows, want.rows);
    EXPECT_EQ(got.late, want.late);
    expect_same_finals(got.finals, want.finals);
    EXPECT_EQ(device->state_size(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, PipelineGpu,
    ::testing::Values(Case{"tumbling_few_keys", WindowSpec::tumbling(10s), 0s, 100, 65536},
                      Case{"tumbling_late_many_keys", WindowSpec::tumbling(10s), 20s, 50000, 30000},
                      Case{"sliding", WindowSpec::sliding(10s, 2s), 4s, 300, 8191},
                      Case{"global", WindowSpec::global(), 0s, 1000, 100000}),
    [](const auto& info) { return std::string(info.param.name); });

class PipelineGpuStateless : public GpuTest {};

/// A stateless query: the kept rows and every output column equal the host pipeline's.
TEST_F(PipelineGpuStateless, ProjectMatchesTheHost) {
  SLUICE_GPU_RNG(rng);
  const Schema schema = telemetry_schema();
  const Columns cols = make_columns(test_size(300'001, 30'001), 500, rng);
  const DictionaryPtr dict = host_dictionary(500);
  Query query;
  query.filter(col("cpu") > lit(20) && col("status") == lit(200))
      .map("double_cpu", col("cpu") * lit(2))
      .map("next_status", col("status") + lit(1))
      .map("busy", col("cpu") > lit(50))
      .project({"ts", "host", "double_cpu", "next_status", "busy"})
      .sink([](const Batch&) {});
  const detail::CompiledQuery compiled =
      detail::compile_query(schema, query, *dict, 1, PartitionSpec{});
  const auto host = detail::make_host_pipeline(compiled.plan);
  const auto device = make_device_pipeline(compiled.plan);
  for (std::size_t first = 0, n = 0; first < cols.ts.size(); first += n) {
    n = std::min<std::size_t>(1 + rng() % 70000, cols.ts.size() - first);
    detail::ColumnSlice slice;
    const void* all[] = {cols.ts.data() + first, cols.host.data() + first, cols.cpu.data() + first,
                         cols.status.data() + first};
    for (std::size_t r = 0; r < compiled.read_columns.size(); ++r)
      slice.columns[r] = all[compiled.read_columns[r]];
    slice.rows = n;
    detail::BatchView view;
    view.slices = &slice;
    view.num_slices = 1;
    view.rows = n;
    view.id = first + 1;
    std::vector<std::uint32_t> kept_host, kept_device;
    const detail::ProjectedView want = host->project(view, kept_host);
    const detail::ProjectedView& got = device->project(view, kept_device);
    ASSERT_EQ(kept_device, kept_host) << "batch at " << first;
    ASSERT_EQ(got.rows, want.rows);
    ASSERT_EQ(got.columns.size(), want.columns.size());
    for (std::size_t j = 0; j < want.columns.size(); ++j) {
      const std::size_t width = detail::value_width(
          compiled.plan.programs[static_cast<std::size_t>(compiled.plan.outputs_begin) + j].result);
      EXPECT_EQ(std::memcmp(got.columns[j], want.columns[j], want.rows * width), 0)
          << "column " << j << " of the batch at " << first;
    }
  }
}

}  // namespace
}  // namespace sluice::test
