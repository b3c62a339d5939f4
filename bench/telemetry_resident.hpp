// The telemetry workload with its events in device memory, driven through the GPU pipeline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/telemetry_workload.hpp"

namespace sluice::bench {

/// @brief The generated events copied once into the memory of CUDA device 0, plus what a
/// source would have told the engine about each batch (its largest event time).
struct ResidentTelemetry {
  std::shared_ptr<std::byte> storage;        ///< device memory: ts | host | cpu | status
  std::vector<const void*> columns;          ///< device pointer of each schema column
  std::vector<std::int64_t> batch_min_time;  ///< per batch of `batch_rows` rows
  std::vector<std::int64_t> batch_max_time;
  std::size_t rows = 0;
  std::size_t batch_rows = 0;
};

/// @brief Copies `data` to device 0 (untimed) and computes each batch's largest event time.
/// @throws Error(backend_unavailable) without the CUDA backend; Error(out_of_memory).
ResidentTelemetry upload_telemetry(const TelemetryData& data, const TelemetryOptions& options);

/// @brief One run of the query over the device-resident events, without Engine or Job: the
/// query is compiled with detail::compile_query and run by detail::make_cuda_pipeline(plan, 0),
/// driven as detail::Worker drives a single worker's rounds of one batch each: begin_round,
/// aggregate(batch, watermark before it), settle, the previous fire's rows collected, merge,
/// then fire(fired watermark, watermark after it); at the end fire(.., kFinalWatermark).
/// Batch 0 is a warm-up (processed, not timed) when there are at least two batches; the clock
/// runs from after it to the last collect_fired(). Results are tallied from the fired rows in
/// host memory (the count state), not decoded into WindowResults.
/// @throws Error from the pipeline.
RunResult run_telemetry_resident(const ResidentTelemetry& data);

}  // namespace sluice::bench
