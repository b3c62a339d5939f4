// ServeOptions: the flags of `sluice serve`: a query as `run` takes it, and where it listens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "host/cli/run_options.hpp"
#include "host/kafka/kafka_source.hpp"
#include "host/observability/metrics_server.hpp"

namespace sluice::cli {

/// @brief Everything `sluice serve` was asked to do.
struct ServeOptions {
  RunOptions run;  ///< the query, the engine and the outputs, as `run` takes them (no --input)
  /// --listen: the HTTP endpoints (writes, /windows, /metrics); "off": none.
  std::optional<obs::ListenAddress> http = obs::ListenAddress{"127.0.0.1", 8086};
  std::optional<obs::ListenAddress> tcp;               ///< --tcp-listen (line protocol, JSON lines)
  std::string measurement;                             ///< --measurement (empty: every one)
  std::int64_t tcp_tick_ns = 1;                        ///< --precision of TCP line protocol
  std::size_t max_body_bytes = std::size_t{32} << 20;  ///< --max-body
  std::size_t max_line_bytes = std::size_t{1} << 16;   ///< --max-line
  int max_connections = 256;                           ///< --max-connections (TCP)
  int http_threads = 16;                               ///< --http-threads
  std::size_t windows_kept = 1000;                     ///< --windows-kept (GET /windows)
  Duration source_idle_timeout{0};                     ///< --source-idle-timeout (0: never)
  /// --kafka-source (with --kafka-group, --kafka-format, --kafka-time, --kafka-until-end,
  /// --kafka-commit-interval; --kafka-option is RunOptions::kafka_options). The settings
  /// that depend on the job (time column, commit rule) are filled in when it starts.
  std::optional<kafka::KafkaSourceSettings> kafka_source;
};

/// @brief Parses the arguments that follow "serve".
/// @throws UsageError naming the flag at fault.
ServeOptions parse_serve_options(std::span<char* const> args);

/// @brief The text of `sluice serve --help`.
const char* serve_usage();

/// @brief Runs the server the options describe until SIGINT or SIGTERM, then drains the job.
/// @return the exit status. @throws UsageError or Error.
int execute_serve(ServeOptions options);

}  // namespace sluice::cli
