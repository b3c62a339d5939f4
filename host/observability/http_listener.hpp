// HttpListener: runs a configured cpp-httplib server on a thread of its own (include only where
// SLUICE_HAVE_HTTPLIB is defined).
#pragma once

#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>

#include "host/observability/metrics_server.hpp"

namespace sluice::obs {

/// @brief Binds `server` (its routes and settings made) to `address` with SO_REUSEADDR but
/// without the library's default SO_REUSEPORT (so a second job on the same port fails instead
/// of sharing its requests), and serves from a thread of its own until destroyed. `server`
/// must outlive the listener.
class HttpListener {
 public:
  /// @throws Error(io_error) naming the address when it cannot be bound.
  HttpListener(httplib::Server& server, const ListenAddress& address);
  /// @brief Stops accepting, lets the requests in progress end, and joins the thread.
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  /// @brief The port bound (the one picked when 0 was asked for).
  int port() const noexcept { return port_; }
  /// @brief "http://HOST:PORT" (an IPv6 host in brackets).
  std::string base_url() const;

 private:
  httplib::Server& server_;
  std::string host_;
  int port_ = -1;
  std::thread thread_;
  std::atomic<bool> listening_ended_{false};
};

}  // namespace sluice::obs
