// MetricsServer over cpp-httplib (optional at build time: SLUICE_HAVE_HTTPLIB).
#include "host/observability/metrics_server.hpp"

#include <charconv>
#include <memory>

#include "host/observability/prometheus_text.hpp"
#include "sluice/status.hpp"

#ifdef SLUICE_HAVE_HTTPLIB
#include "host/observability/http_listener.hpp"
#endif

namespace sluice::obs {

ListenAddress parse_listen_address(std::string_view text) {
  ListenAddress a;
  std::string_view port = text;
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    a.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']')
      a.host = a.host.substr(1, a.host.size() - 2);  // [::1]:9100
    if (a.host.empty())
      throw Error(ErrorCode::invalid_argument,
                  "listen address '" + std::string(text) + "': the host before ':' is empty");
  }
  int value = -1;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535)
    throw Error(ErrorCode::invalid_argument, "listen address '" + std::string(text) +
                                                 "': the port must be a number in 0..65535");
  a.port = value;
  return a;
}

#ifdef SLUICE_HAVE_HTTPLIB

struct MetricsServer::Impl {
  httplib::Server server;
  std::unique_ptr<HttpListener> listener;  ///< last: stops before the server goes
};

MetricsServer::MetricsServer(const ListenAddress& address, std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
  httplib::Server& s = impl_->server;
  // Scrapes are few and short: two threads answer them.
  s.new_task_queue = [] { return new httplib::ThreadPool(2); };
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.set_payload_max_length(64 * 1024);
  s.Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(render(), kPrometheusContentType);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("metrics unavailable: ") + e.what() + '\n', "text/plain");
    }
  });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Sluice: metrics at /metrics\n", "text/plain");
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404)
      res.set_content("no such path: " + req.path + " (metrics are at /metrics)\n", "text/plain");
  });
  const auto refuse = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET");
    res.set_content("only GET is served here\n", "text/plain");
  };
  s.Post(".*", refuse);
  s.Put(".*", refuse);
  s.Delete(".*", refuse);
  s.Patch(".*", refuse);
  impl_->listener = std::make_unique<HttpListener>(s, address);
}

MetricsServer::~MetricsServer() = default;

int MetricsServer::port() const noexcept { return impl_->listener->port(); }

std::string MetricsServer::url() const { return impl_->listener->base_url() + "/metrics"; }

bool MetricsServer::available() noexcept { return true; }

#else

struct MetricsServer::Impl {};

MetricsServer::MetricsServer(const ListenAddress&, std::function<std::string()>) {
  throw Error(ErrorCode::backend_unavailable,
              "this build has no HTTP server: install cpp-httplib (Debian: libcpp-httplib-dev) "
              "and configure again");
}

MetricsServer::~MetricsServer() = default;
int MetricsServer::port() const noexcept { return 0; }
std::string MetricsServer::url() const { return {}; }
bool MetricsServer::available() noexcept { return false; }

#endif

}  // namespace sluice::obs
