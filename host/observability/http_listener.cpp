// HttpListener over cpp-httplib (compiled only where SLUICE_HAVE_HTTPLIB is defined).
#ifdef SLUICE_HAVE_HTTPLIB

#include "host/observability/http_listener.hpp"

#include <sys/socket.h>

#include <chrono>

#include "sluice/status.hpp"

namespace sluice::obs {

HttpListener::HttpListener(httplib::Server& server, const ListenAddress& address)
    : server_(server), host_(address.host) {
  server_.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  if (address.port == 0) {
    port_ = server_.bind_to_any_port(address.host);
  } else {
    port_ = server_.bind_to_port(address.host, address.port) ? address.port : -1;
  }
  if (port_ < 0)
    throw Error(ErrorCode::io_error, "cannot listen on " + address.host + ':' +
                                         std::to_string(address.port) +
                                         " (address in use, or not an address of this machine)");
  thread_ = std::thread([this] {
    server_.listen_after_bind();
    listening_ended_ = true;
  });
  // stop() only stops a server that runs: wait until it does (or failed to), so that a
  // listener destroyed at once does not start listening after its stop().
  while (!server_.is_running() && !listening_ended_)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
}

HttpListener::~HttpListener() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

std::string HttpListener::base_url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return "http://" + (v6 ? '[' + host_ + ']' : host_) + ':' + std::to_string(port_);
}

}  // namespace sluice::obs

#endif
