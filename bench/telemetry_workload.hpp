// The telemetry workload of sluice-bench: generated events, the query, and one timed run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sluice/sluice.hpp"

namespace sluice::bench {

/// @brief Options of `sluice-bench telemetry`; the command line maps onto these one-to-one.
struct TelemetryOptions {
  Backend backend = Backend::cpu;
  std::uint64_t events = 20'000'000;
  std::uint32_t keys = 100'000;  ///< distinct hosts, "host-000000" ...
  int workers = 1;
  int threads = 0;  ///< OpenMP threads per worker; 0 = cores / workers
  std::size_t batch_rows = std::size_t{1} << 20;  ///< engine micro-batch = pushed batch size
  int repeat = 3;
  std::uint64_t time_rate = 100'000;  ///< events per second of event time
  std::uint64_t seed = 42;
  std::string json;  ///< write a JSON record here when not empty
};

/// Bytes of the columns the query reads, per event: ts 8 + host 4 + cpu 4 + status 4.
inline constexpr std::size_t kBytesPerEvent = 20;
/// Watermark delay of the query; the generator's out-of-order jitter stays below it.
inline constexpr std::int64_t kMaxDelayMs = 2000;
/// Largest backward jitter of a timestamp, in ms.
inline constexpr std::int64_t kJitterMs = 1000;

/// @brief Columnar events, generated once, shared by every repetition.
struct TelemetryData {
  std::vector<std::int64_t> ts;      ///< timestamp[ms]: increasing, minus up to kJitterMs
  std::vector<std::uint32_t> host;   ///< codes 0..keys-1 of "host-%06d"
  std::vector<float> cpu;            ///< [0, 100)
  std::vector<std::int32_t> status;  ///< 200 (about 90%), 404 or 500
  std::uint64_t passing = 0;         ///< rows with status == 200
  std::uint32_t keys = 0;
};

/// @brief The stream's schema: ts timestamp[ms], host string, cpu f32, status i32.
Schema telemetry_schema();

/// @brief "host-000042".
std::string host_name(std::uint32_t code);

/// @brief Generates the events (deterministic for a seed; parallel over OpenMP threads).
TelemetryData generate_telemetry(const TelemetryOptions& options);

/// @brief What one timed run measured and produced.
struct RunResult {
  double seconds = 0;  ///< first push to finish() returning
  std::uint64_t events_in = 0;
  std::uint64_t passed = 0;  ///< events_in - events_filtered (from Metrics)
  std::uint64_t late = 0;
  std::uint64_t result_rows = 0;  ///< (window, key) rows emitted
  std::uint64_t windows = 0;      ///< distinct windows emitted
  std::uint64_t count_sum = 0;    ///< sum of the count aggregate over all result rows
  std::uint64_t batches = 0;
  double events_per_second() const { return seconds > 0 ? events_in / seconds : 0; }
};

/// @brief Starts the telemetry query on `engine`, interns the host names into the job's
/// dictionary, wraps the data into batches (untimed), then times pushing every batch and
/// finish().
/// @throws Error from the engine.
RunResult run_telemetry(const Engine& engine, const TelemetryData& data,
                        const TelemetryOptions& options);

}  // namespace sluice::bench
