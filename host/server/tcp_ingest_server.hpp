// TcpIngestServer: `sluice serve --tcp-listen`: line protocol or JSON lines over plain TCP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "host/observability/metrics_server.hpp"
#include "host/server/ingest_target.hpp"

namespace sluice::server {

/// @brief Limits and defaults of the TCP endpoint.
struct TcpIngestSettings {
  std::int64_t tick_ns = 1;             ///< the unit of line-protocol timestamps (--precision)
  int max_connections = 256;            ///< connections read at once; more wait in the accept queue
  std::size_t read_bytes = 1 << 16;     ///< read, parsed and pushed at a time per connection
  std::ostream* diagnostics = nullptr;  ///< where rejected lines are reported; null: nowhere
  std::size_t max_reported = 10;        ///< rejected lines reported per connection (all counted)
};

/// @brief Accepts connections until destroyed; each is read by a thread of its own, line by
/// line: JSON lines when its first byte that is not blank is '{', line protocol otherwise. A
/// connection's complete lines are parsed and pushed as they arrive (IngestTarget), each read at
/// most `read_bytes`; a line longer than the target's max_line_bytes is rejected and skipped to
/// its end. Rejected lines are counted and reported with the peer's address and line number.
/// The reading thread pushes before it reads on, so a job that is behind stops the reads and
/// TCP's flow control slows the sender: memory does not grow with a fast client.
class TcpIngestServer {
 public:
  /// @throws Error(io_error) when the address cannot be bound.
  TcpIngestServer(const obs::ListenAddress& address, IngestTarget& target,
                  TcpIngestSettings settings = {});
  /// @brief Stops accepting and ends every connection: what each had sent by then is parsed
  /// (a last line without a line break included) and pushed.
  ~TcpIngestServer();
  TcpIngestServer(const TcpIngestServer&) = delete;
  TcpIngestServer& operator=(const TcpIngestServer&) = delete;

  int port() const noexcept;
  /// @brief "tcp://HOST:PORT".
  std::string url() const;
  /// @brief Connections accepted so far.
  std::uint64_t connections() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::server
