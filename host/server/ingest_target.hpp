// IngestTarget: where `sluice serve`'s endpoints hand text bodies: parsed into rows coded with
// the job's dictionary and pushed into the job.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "host/io/json_lines.hpp"
#include "host/io/line_outcome.hpp"
#include "sluice/engine.hpp"

namespace sluice::server {

/// @brief How bodies map onto the job's schema.
struct IngestSettings {
  std::string time_column;  ///< receives a line-protocol point's timestamp
  std::string measurement;  ///< line protocol: only this measurement; empty: any
  std::size_t max_line_bytes = 1 << 16;
  std::size_t max_problems = 10;  ///< problems kept per body (all are counted)
};

/// @brief Parses bodies of Influx line protocol or JSON lines and pushes their rows into a job,
/// one batch per body; the rejected lines are counted in the job's malformed events. Safe to
/// call from several threads at once (each call builds its own batch). A push blocks while the
/// engine is behind, and so does the caller: that is the endpoints' backpressure.
class IngestTarget {
 public:
  /// @throws Error(invalid_argument) when the time column is not in the job's schema or is
  /// neither a timestamp nor an i64 column.
  IngestTarget(Job& job, IngestSettings settings);

  /// @brief Line protocol whose timestamps count `tick_ns` nanoseconds each; points without one
  /// take the time of the call. `first_line` numbers the body's first line.
  /// @throws Error when the job has failed.
  detail::LineOutcome write_line_protocol(std::string_view body, std::int64_t tick_ns,
                                          std::uint64_t first_line = 1);
  /// @brief One JSON object per line, its keys naming the columns.
  /// @throws Error when the job has failed.
  detail::LineOutcome write_json_lines(std::string_view body, std::uint64_t first_line = 1);

  /// @brief Counts lines rejected before they reached a parser (an over-long line of a stream).
  void count_malformed(std::uint64_t lines) { job_.count_malformed(lines); }

  /// @brief Body bytes taken so far (after decompression), whatever became of their lines.
  std::uint64_t bytes_received() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  const IngestSettings& settings() const noexcept { return settings_; }

 private:
  template <class Parse>
  detail::LineOutcome push_rows(std::string_view body, Parse&& parse);

  Job& job_;
  IngestSettings settings_;
  detail::JsonLinesParser json_;
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace sluice::server
