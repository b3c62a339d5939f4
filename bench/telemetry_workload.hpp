// The telemetry workload of sluice-bench: generated events, the query, and one timed run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sluice/sluice.hpp"

namespace sluice::bench {

/// @brief Where the events come from while the clock runs.
enum class FeedMode : std::uint8_t {
  /// Host memory pushed through Engine/Job (pinned memory for the GPU backend): the path an
  /// application takes. Bounded by memcpy (CPU) or the pinned host-to-device copy (GPU).
  host_fed,
  /// Device memory, read in place by the GPU pipeline's kernels (no Engine, no copy-in).
  /// Bounded by device memory bandwidth. GPU backend only.
  resident,
};
const char* to_string(FeedMode mode) noexcept;

/// @brief Options of `sluice-bench telemetry`; the command line maps onto these one-to-one.
struct TelemetryOptions {
  Backend backend = Backend::cpu;
  FeedMode mode = FeedMode::host_fed;
  std::uint64_t events = 20'000'000;
  std::uint32_t keys = 100'000;  ///< distinct hosts, "host-000000" ...
  int workers = 1;
  int threads = 0;  ///< OpenMP threads per worker; 0 = cores / workers
  std::size_t batch_rows = std::size_t{1} << 20;  ///< engine micro-batch = pushed batch size
  int repeat = 3;
  std::uint64_t time_rate = 1'000;  ///< events per second of event time (1 per ms)
  std::uint64_t seed = 42;
  bool ordered = true;    ///< EngineConfig::ordered_results
  int round_batches = 1;  ///< EngineConfig::round_batches
  /// The threshold read from broadcast state (`cpu > limits.max_cpu`, a row of max_cpu 10 per
  /// host) instead of the constant: the same results, at the cost of one lookup per event.
  bool broadcast = false;
  /// Query::trigger (e.g. every:10ms): early firings cost their rows; the checksum reads the
  /// final ones.
  TriggerSpec trigger;
  /// Also keep only hosts that match this LIKE pattern (`and host like PATTERN`); empty: none.
  std::string like;
  std::string json;
  std::string dump;  ///< write the generated columns here (raw little-endian arrays) when set  ///<
                     ///< write a JSON record here when not empty
};

/// Bytes of the columns the query reads, per event: ts 8 + host 4 + cpu 4 + status 4.
inline constexpr std::size_t kBytesPerEvent = 20;
/// Watermark delay of the query; the generator's out-of-order jitter stays below it.
inline constexpr std::int64_t kMaxDelayMs = 2000;
/// Largest backward jitter of a timestamp, in ms.
inline constexpr std::int64_t kJitterMs = 2000;

/// @brief Host memory the generated columns live in.
enum class HostMemory : std::uint8_t {
  pageable,  ///< operator new
  pinned,    ///< page-locked (cudaMallocHost); needs the CUDA backend built
};

/// @brief Columnar events, generated once, shared by every repetition. The four columns are
/// views into one allocation that `storage` owns.
struct TelemetryData {
  std::span<std::int64_t> ts;      ///< timestamp[ms]: increasing, minus up to kJitterMs
  std::span<std::uint32_t> host;   ///< codes 0..keys-1 of "host-%06d"
  std::span<float> cpu;            ///< [0, 100)
  std::span<std::int32_t> status;  ///< 200 (about 90%), 404 or 500
  std::uint64_t passing = 0;       ///< rows with status == 200 and cpu > 10
  std::uint32_t keys = 0;
  HostMemory memory = HostMemory::pageable;
  std::shared_ptr<std::byte> storage;
  std::size_t size() const noexcept { return ts.size(); }
};

/// @brief The stream's schema: ts timestamp[ms], host string, cpu f32, status i32.
Schema telemetry_schema();

/// @brief "host-000042".
std::string host_name(std::uint32_t code);

/// @brief Generates the events into `memory` (deterministic for a seed, whatever the memory;
/// parallel over OpenMP threads; the cost does not depend on the number of keys).
/// @throws Error(backend_unavailable) for pinned memory without the CUDA backend or a GPU.
/// @brief Writes the columns to `dir` (created if needed) as raw little-endian arrays, ts.i64,
/// host.u32 (codes of "host-000000"...), cpu.f32 and status.i32, with meta.json describing them
/// and the query, for other systems to read exactly the same events.
/// @throws Error(io_error) when a file cannot be written.
void dump_telemetry(const TelemetryData& data, const TelemetryOptions& options,
                    const std::string& dir);

TelemetryData generate_telemetry(const TelemetryOptions& options,
                                 HostMemory memory = HostMemory::pageable);

/// @brief The query, its results handed to `sink` (not empty):
/// filter(status == 200 and cpu > 10) . key_by(host) . event_time(ts, 2s) . tumbling(10s)
///   . aggregate(count, sum(cpu), max(cpu))
/// With `broadcast`, the threshold is `limits.max_cpu`, looked up by host (see
/// TelemetryOptions::broadcast); with a `like` pattern, the filter also has host like it.
Query telemetry_query(BatchSink sink, bool broadcast = false, TriggerSpec trigger = {},
                      const std::string& like = {});

/// @brief Bytes per event of the columns the compiled query reads (each read column's width),
/// taken from the query compiler rather than written down by hand. 20 for this query.
std::size_t read_bytes_per_event();

/// @brief What one timed run measured and produced.
struct RunResult {
  double seconds = 0;  ///< host-fed: first push to finish() returning; resident: see below
  std::uint64_t events_in = 0;
  std::uint64_t events_timed = 0;  ///< events processed while the clock ran (rate numerator)
  double setup_seconds = 0;        ///< untimed preparation (job start, dictionary, pipeline)
  std::uint64_t passed = 0;        ///< events_in - events_filtered (from Metrics)
  std::uint64_t late = 0;
  std::uint64_t result_rows = 0;  ///< (window, key) rows emitted
  std::uint64_t update_rows = 0;  ///< early firings (Query::trigger), besides result_rows
  std::uint64_t windows = 0;      ///< distinct windows emitted
  std::uint64_t count_sum = 0;    ///< sum of the count aggregate over all result rows
  double cpu_sum = 0;             ///< sum of sum(cpu) over all result rows
  double cpu_max = 0;             ///< largest max(cpu)
  std::uint64_t batches = 0;
  // Across ranks (every figure summed over the ranks).
  int ranks = 1;
  std::uint64_t exchange_bytes = 0;  ///< sent between ranks
  std::uint64_t partial_bytes = 0;   ///< of which partials
  double round_seconds = 0;          ///< workers' time in rounds
  double exchange_seconds = 0;       ///< of which in the exchange's collectives
  /// Metrics' histograms (host-fed runs; empty for resident ones): each worker's rounds, and
  /// the emission latency of the fired rows (flat out, so queueing behind earlier batches
  /// included).
  Histogram round_duration;
  Histogram emission_latency;
  double events_per_second() const {
    return seconds > 0 ? static_cast<double>(events_timed) / seconds : 0;
  }
};

/// @brief Starts the telemetry query on `engine`, interns the host names into the job's
/// dictionary, wraps the data into batches (untimed; pinned data stays pinned), then times
/// pushing every batch and finish(). Every event is timed (events_timed = events_in). Across
/// ranks each rank pushes batches rank, rank + ranks, ... (so every round holds consecutive
/// batches) and the figures are the job's over all ranks (collective).
/// @throws Error from the engine.
RunResult run_telemetry(const Engine& engine, const TelemetryData& data,
                        const TelemetryOptions& options);

}  // namespace sluice::bench
