// What `sluice run`, `sql` and `serve` share to set a job up and to report on it: the engine,
// the outputs the query's sinks write, and the closing summary.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/cli/kafka_output.hpp"
#include "host/cli/result_writer.hpp"
#include "host/cli/run_options.hpp"
#include "sluice/engine.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {

/// @brief Whether `code` is an error in what the user asked for (exit status 2) rather than a
/// failure while running it.
bool is_usage_error(ErrorCode code);

/// @brief The engine of `config`. @throws UsageError for a configuration at fault, Error else.
Engine make_engine(const EngineConfig& config);

/// @brief Where a job writes: the windows (to --output unless it is empty, and to --kafka-sink);
/// the updates apart (--updates separate); late events; and, for `serve`, a copy of every
/// window row as JSON (GET /windows).
struct Outputs {
  ResultWriter windows;
  std::unique_ptr<KafkaOutput> kafka;
  std::optional<ResultWriter> updates;
  std::optional<ResultWriter> late;
  std::optional<ResultWriter> recent;  ///< set by its user; every window row, as JSON lines

  /// @throws Error when the Kafka sink's producer cannot be made.
  explicit Outputs(const RunOptions& options);
  /// @brief Ignores every later write (the job failed: its windows are not results).
  void stop();
};

/// @brief Starts (or, with --resume, resumes) the job the options describe, its sinks writing
/// `outputs`. @throws UsageError for a query at fault, Error else.
Job start_job(const Engine& engine, const RunOptions& options, Outputs& outputs,
              const std::vector<Batch>& broadcast_rows);

/// @brief The closing line on stderr (and with `verbose` a second one): events, windows,
/// events/s, backend, workers, ranks.
void print_summary(const std::string& who, const Engine& engine, const Metrics& m, bool verbose);

}  // namespace sluice::cli
