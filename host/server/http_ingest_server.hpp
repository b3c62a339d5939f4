// HttpIngestServer: `sluice serve`'s HTTP endpoints: InfluxDB v1/v2 writes, JSON lines, the
// latest windows and the metrics.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "host/observability/metrics_server.hpp"
#include "host/server/ingest_target.hpp"

namespace sluice::server {

/// @brief Limits of the HTTP endpoints.
struct HttpIngestSettings {
  std::size_t max_body_bytes = std::size_t{32} << 20;  ///< after decompression; more: 413
  int threads = 16;         ///< requests served at once; more wait, unread, in the accept queue
  int read_timeout_s = 10;  ///< a client silent for this long mid-request is dropped
};

/// @brief What the server answers GET /metrics and GET /windows with (called from its threads).
struct HttpViews {
  std::function<std::string()> metrics;  ///< Prometheus text
  /// The latest fired windows as a JSON array, at most `limit` (the newest).
  std::function<std::string(std::size_t limit)> windows;
};

/// @brief Serves, until destroyed:
/// - `POST /api/v2/write?bucket=B&precision=ns|us|ms|s` and `POST /write?db=D&precision=
///   n|ns|u|us|ms|s|m|h` (InfluxDB v2 and v1): a body of line protocol, gzip allowed
///   (Content-Encoding: gzip). 204 when every line was taken; 400 naming the rejected lines
///   (the others are kept), as InfluxDB answers a partial write; 413 for a body over the limit.
/// - `POST /ingest`: JSON lines, answered the same way.
/// - `GET /windows[?limit=N]`, `GET /metrics`, `GET /health` (v2), `GET|HEAD /ping` (v1).
/// A handler pushes its body's rows before it answers, so a client whose write was answered
/// knows its rows are in the job, and a job that is behind slows its clients down.
class HttpIngestServer {
 public:
  /// @throws Error(io_error) when the address cannot be bound; Error(backend_unavailable) in a
  /// build without an HTTP library.
  HttpIngestServer(const obs::ListenAddress& address, IngestTarget& target, HttpViews views,
                   HttpIngestSettings settings = {});
  /// @brief Stops accepting, answers the requests in progress, and returns.
  ~HttpIngestServer();
  HttpIngestServer(const HttpIngestServer&) = delete;
  HttpIngestServer& operator=(const HttpIngestServer&) = delete;

  int port() const noexcept;
  /// @brief "http://HOST:PORT".
  std::string url() const;
  /// @brief Whether this build has an HTTP server.
  static bool available() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// @brief Nanoseconds per unit of an InfluxDB `precision` parameter: v2 takes ns, us, ms, s;
/// v1 also n, u, m (minutes) and h. Empty: ns.
/// @throws Error(invalid_argument) naming the value and what is accepted.
std::int64_t precision_tick_ns(std::string_view precision, bool v1);

/// @brief `text` as a JSON string literal (quotes, backslashes and control characters escaped).
std::string json_string(std::string_view text);

}  // namespace sluice::server
