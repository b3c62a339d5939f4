// The Prometheus text exposition of a job's metrics (what GET /metrics answers).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "sluice/engine.hpp"
#include "sluice/types.hpp"

namespace sluice::obs {

/// @brief What the exposition says besides the job's Metrics.
struct ExpositionContext {
  std::string backend = "cpu";  ///< sluice_info's label
  std::string version;          ///< sluice_info's label
  int rank = 0;
  int ranks = 1;
  /// The unit of a timestamp time column: the watermark's lag behind `now` is then exported.
  std::optional<TimeUnit> time_unit;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  /// Bytes the command read from its input, when it reads one.
  std::optional<std::uint64_t> input_bytes;
};

/// @brief The text exposition format (version 0.0.4) of `m`: counters (sluice_*_total),
/// gauges (watermark, its lag, live state, dictionary) and histograms (round duration,
/// emission latency), each with HELP and TYPE, in seconds and bytes.
std::string prometheus_text(const Metrics& m, const ExpositionContext& context);

/// @brief The Content-Type of prometheus_text()'s answer.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace sluice::obs
