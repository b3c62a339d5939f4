// The software ceiling of the telemetry query: one hand-fused pass written for this query only.
#pragma once

#include <cstdint>

#include "bench/telemetry_workload.hpp"

namespace sluice::bench {

/// @brief What the hand-fused loop measured and produced (checked like an engine run).
struct CeilingResult {
  double seconds = 0;
  std::uint64_t passed = 0;
  std::uint64_t result_rows = 0;
  std::uint64_t count_sum = 0;
  double events_per_second(std::uint64_t events) const {
    return seconds > 0 ? static_cast<double>(events) / seconds : 0;
  }
};

/// @brief The telemetry query (filter status == 200 and cpu > 10, tumbling 10 s per host,
/// count, sum(cpu), max(cpu), watermark 2 s behind the largest time seen) as a single pass
/// written for it alone, on the calling thread's OpenMP team: per batch of `batch_rows`, each
/// thread filters its share of the rows into a selection vector and folds them into its own
/// open-addressing table of live (host, pane) groups; after the batch the windows the
/// watermark closed are combined across threads into result columns and erased. No engine
/// code is used; it bounds what a fused loop over these arrays can do.
CeilingResult run_fused_ceiling(const TelemetryData& data, std::size_t batch_rows);

}  // namespace sluice::bench
