// IngestTarget: where `sluice serve`'s endpoints hand text bodies: parsed into rows coded with
// the job's dictionary and pushed into the job.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "host/io/json_lines.hpp"
#include "host/io/line_outcome.hpp"
#include "host/io/line_protocol.hpp"
#include "sluice/engine.hpp"

namespace sluice::server {

/// @brief How bodies map onto the job's schema.
struct IngestSettings {
  std::string time_column;  ///< receives a line-protocol point's timestamp
  std::string measurement;  ///< line protocol: only this measurement; empty: any
  std::size_t max_line_bytes = 1 << 16;
  std::size_t max_problems = 10;  ///< problems kept per body (all are counted)
};

/// @brief Starts the job from the first body of a server whose schema is inferred: returns
/// the job (which must outlive the target), or nullptr with `problem` saying why this body
/// cannot start it (the body is then rejected, and the next one tried).
using JobStarter =
    std::function<Job*(std::string_view body, detail::TextFormat format, std::string& problem)>;

/// @brief Parses bodies of Influx line protocol or JSON lines and pushes their rows into a job,
/// one batch per body; the rejected lines are counted in the job's malformed events. Safe to
/// call from several threads at once (each call builds its own batch). A push blocks while the
/// engine is behind, and so does the caller: that is the endpoints' backpressure.
class IngestTarget {
 public:
  /// @throws Error(invalid_argument) when the time column is not in the job's schema or is
  /// neither a timestamp nor an i64 column.
  IngestTarget(Job& job, IngestSettings settings);
  /// @brief A target whose job `start` makes from the first body it accepts (one at a time).
  /// The bodies before are rejected line by line, counted as malformed once the job runs: a
  /// malformed line with its own reason, any other with start's problem; blank lines, comments
  /// and points of another measurement are skipped, as the job's parsers skip them.
  IngestTarget(JobStarter start, IngestSettings settings);

  /// @brief The job, or nullptr before it started.
  Job* job() const noexcept { return job_.load(std::memory_order_acquire); }

  /// @brief Line protocol whose timestamps count `tick_ns` nanoseconds each; points without one
  /// take the time of the call. `first_line` numbers the body's first line.
  /// @throws Error when the job has failed.
  detail::LineOutcome write_line_protocol(std::string_view body, std::int64_t tick_ns,
                                          std::uint64_t first_line = 1);
  /// @brief One JSON object per line, its keys naming the columns.
  /// @throws Error when the job has failed.
  detail::LineOutcome write_json_lines(std::string_view body, std::uint64_t first_line = 1);

  /// @brief Counts lines rejected before they reached a parser (an over-long line of a stream).
  void count_malformed(std::uint64_t lines);

  /// @brief Body bytes taken so far (after decompression), whatever became of their lines.
  std::uint64_t bytes_received() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  const IngestSettings& settings() const noexcept { return settings_; }

 private:
  template <class Parse>
  detail::LineOutcome push_rows(Job& job, std::string_view body, Parse&& parse);
  /// The job, started from `body` if it was not; nullptr (every line of the body rejected in
  /// `outcome`) when `body` cannot start it.
  Job* job_for(std::string_view body, detail::TextFormat format, std::uint64_t first_line,
               detail::LineOutcome& outcome);
  /// Makes the parsers of `job`'s schema. @throws Error for a bad time column.
  void bind(Job& job);

  std::atomic<Job*> job_{nullptr};
  IngestSettings settings_;
  JobStarter start_;
  std::mutex start_mutex_;
  std::optional<detail::JsonLinesParser> json_;  ///< set before job_
  /// Before the job: parsers of the time column alone, which tell a malformed line (and a
  /// point of another measurement) from one the schema was not known for.
  std::optional<detail::LineProtocolParser> probe_points_;
  std::optional<detail::JsonLinesParser> probe_json_;
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> malformed_before_start_{0};
};

}  // namespace sluice::server
