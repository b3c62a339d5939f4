// MetricsServer: an HTTP endpoint that answers GET /metrics with a job's Prometheus text.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sluice::obs {

/// @brief Where to listen: "HOST:PORT", or "PORT" alone (on 127.0.0.1). Port 0 picks a free one.
struct ListenAddress {
  std::string host = "127.0.0.1";
  int port = 0;
};

/// @brief Parses "HOST:PORT" or "PORT" (0..65535).
/// @throws Error(invalid_argument) naming `text` and what is wrong.
ListenAddress parse_listen_address(std::string_view text);

/// @brief Serves GET /metrics (and GET / with a pointer to it) from a thread of its own until
/// destroyed; other paths answer 404, other methods 405. Each request calls `render` for the
/// body (called from the server's threads: it must be safe to call concurrently with the job).
class MetricsServer {
 public:
  /// @brief Binds and starts serving. @throws Error(io_error) when the address cannot be bound;
  /// Error(backend_unavailable) in a build without an HTTP library.
  MetricsServer(const ListenAddress& address, std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// @brief The port bound (the one picked when 0 was asked for).
  int port() const noexcept;
  /// @brief "http://HOST:PORT/metrics".
  std::string url() const;
  /// @brief Whether this build has an HTTP server (cpp-httplib found at build time).
  static bool available() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::obs
