// Resident telemetry: events in device memory, the CUDA pipeline's stages called directly.
#include "bench/telemetry_resident.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "bench/device_memory.hpp"
#include "host/query_compiler.hpp"
#include "kernels/ops/window_assign.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "sluice/status.hpp"

namespace sluice::bench {

ResidentTelemetry upload_telemetry(const TelemetryData& data, const TelemetryOptions& options) {
  ResidentTelemetry out;
  out.rows = data.size();
  out.batch_rows = std::max<std::size_t>(1, options.batch_rows);
  const std::size_t n = out.rows;
  // The host columns are one allocation in the same layout (telemetry_workload.cpp).
  out.storage = copy_to_device(data.ts.data(), n * kBytesPerEvent);
  std::byte* base = out.storage.get();
  out.columns = {base, base + 8 * n, base + 12 * n, base + 16 * n};
  for (std::size_t begin = 0; begin < n; begin += out.batch_rows) {
    const std::size_t end = std::min(n, begin + out.batch_rows);
    const auto [lo, hi] = std::minmax_element(data.ts.begin() + begin, data.ts.begin() + end);
    out.batch_min_time.push_back(*lo);
    out.batch_max_time.push_back(*hi);
  }
  return out;
}

namespace {

struct FiredTally {
  std::uint64_t rows = 0;
  std::uint64_t count_sum = 0;
  std::set<std::int64_t> windows;

  void add(const detail::FiredView& fired, int count_state) {
    const std::uint64_t* counts =
        fired.states + static_cast<std::size_t>(count_state) * fired.stride;
    for (std::size_t i = 0; i < fired.size; ++i) {
      count_sum += counts[i];
      windows.insert(fired.window[i]);
    }
    rows += fired.size;
  }
};

}  // namespace

RunResult run_telemetry_resident(const ResidentTelemetry& data) {
  using detail::kFinalWatermark;
  using detail::kNoWatermark;
  const auto s0 = std::chrono::steady_clock::now();
  const Schema schema = telemetry_schema();
  StringDictionary dictionary;  // no string literals in the query; keys stay codes
  const detail::CompiledQuery query = detail::compile_query(
      schema, telemetry_query([](const Batch&) {}), dictionary, 1, PartitionSpec{});
  if (query.aggregates.empty() || query.aggregates[0].kind != AggKind::count)
    throw Error(ErrorCode::internal, "sluice-bench: the first aggregate is not count");
  const int count_state = query.aggregates[0].state;
  std::vector<std::size_t> widths;
  for (std::size_t c : query.read_columns) widths.push_back(type_width(schema.field(c).type.id));

  std::unique_ptr<detail::WorkerPipeline> pipeline = detail::make_cuda_pipeline(query.plan, 0);
  pipeline->reserve(data.batch_rows);
  const double setup_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();

  const std::size_t batches = data.batch_max_time.size();
  const std::size_t warmup = batches >= 2 ? 1 : 0;
  FiredTally tally;
  RunResult r;
  std::int64_t wm = kNoWatermark;        // after the batches so far (WatermarkTracker)
  std::int64_t fired_wm = kNoWatermark;  // of the last fire
  std::int64_t max_time = INT64_MIN;
  bool pending = false;  // a fire whose rows are still being copied out
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t b = 0; b < batches; ++b) {
    if (b == warmup) t0 = std::chrono::steady_clock::now();
    const std::size_t begin = b * data.batch_rows;
    const std::size_t rows = std::min(data.batch_rows, data.rows - begin);
    detail::ColumnSlice slice;
    slice.rows = rows;
    for (std::size_t j = 0; j < query.read_columns.size(); ++j)
      slice.columns[j] =
          static_cast<const std::byte*>(data.columns[query.read_columns[j]]) + begin * widths[j];
    detail::BatchView batch;
    batch.slices = &slice;
    batch.num_slices = 1;
    batch.rows = rows;
    batch.id = b + 1;
    batch.resident = true;
    // As detail::Worker runs a round of one worker.
    const detail::PaneSpec& panes = query.plan.aggregation.panes;
    std::int64_t first_pane = panes.pane_of(data.batch_min_time[b]);
    if (wm != kNoWatermark) first_pane = std::max(first_pane, panes.cut_bounds(wm).alive);
    const std::int64_t last_pane = std::max(first_pane, panes.pane_of(data.batch_max_time[b]));
    pipeline->begin_round(rows);
    pipeline->aggregate(batch, wm);
    pipeline->settle(first_pane, last_pane, fired_wm);
    const detail::BatchOutcome outcome = pipeline->outcome(0);
    r.passed += outcome.kept;
    r.late += outcome.late;
    // The previous fire's rows came back with this round's settle.
    if (pending) tally.add(pipeline->collect_fired(), count_state);
    pipeline->merge(fired_wm);
    // The batch's largest event time moves the watermark, never backwards.
    max_time = std::max(max_time, data.batch_max_time[b]);
    wm = std::max(wm, max_time - query.max_delay);
    pipeline->fire(fired_wm, wm, false);
    fired_wm = std::max(fired_wm, wm);
    pending = true;
    r.events_in += rows;
    if (b >= warmup) r.events_timed += rows;
    ++r.batches;
  }
  // finish(): the last fire's rows, then everything still open.
  if (pending) tally.add(pipeline->collect_fired(), count_state);
  pipeline->fire(fired_wm, kFinalWatermark, false);
  tally.add(pipeline->collect_fired(), count_state);
  const auto t1 = std::chrono::steady_clock::now();

  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.setup_seconds = setup_seconds;
  r.result_rows = tally.rows;
  r.windows = tally.windows.size();
  r.count_sum = tally.count_sum;
  return r;
}

}  // namespace sluice::bench
