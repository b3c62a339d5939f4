// HttpIngestServer over cpp-httplib (optional at build time: SLUICE_HAVE_HTTPLIB).
#include "host/server/http_ingest_server.hpp"

#include <charconv>
#include <cstdio>
#include <exception>

#include "sluice/status.hpp"

#ifdef SLUICE_HAVE_HTTPLIB
#include "host/observability/http_listener.hpp"
#endif

namespace sluice::server {

std::int64_t precision_tick_ns(std::string_view precision, bool v1) {
  if (precision.empty() || precision == "ns" || (v1 && precision == "n")) return 1;
  if (precision == "us" || (v1 && precision == "u")) return 1'000;
  if (precision == "ms") return 1'000'000;
  if (precision == "s") return 1'000'000'000;
  if (v1 && precision == "m") return 60'000'000'000;
  if (v1 && precision == "h") return 3'600'000'000'000;
  throw Error(ErrorCode::invalid_argument,
              "precision '" + std::string(precision) + "': expected " +
                  (v1 ? "n, ns, u, us, ms, s, m or h" : "ns, us, ms or s"));
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char code[8];
          std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned>(c));
          out += code;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

#ifdef SLUICE_HAVE_HTTPLIB

namespace {

/// The dialect of a write endpoint: how it names its precision and shapes its errors.
enum class Dialect : std::uint8_t { influx_v2, influx_v1, json_lines };

/// "N of M lines rejected: line 3: ...; line 7: ..." for a partial write.
std::string rejection_text(const detail::LineOutcome& outcome) {
  std::string text = std::to_string(outcome.malformed) + " of " +
                     std::to_string(outcome.malformed + outcome.rows + outcome.ignored) + " line" +
                     (outcome.malformed + outcome.rows + outcome.ignored == 1 ? "" : "s") +
                     " rejected";
  for (std::size_t i = 0; i < outcome.problems.size(); ++i) {
    text += i == 0 ? ": " : "; ";
    text += "line " + std::to_string(outcome.problems[i].line) + ": " + outcome.problems[i].message;
  }
  if (outcome.problems.size() < outcome.malformed) text += "; ...";
  return text;
}

/// The error body of `dialect`: InfluxDB v2's {"code","message"}, v1's {"error"}, or ours.
std::string error_body(Dialect dialect, std::string_view code, const std::string& message,
                       const detail::LineOutcome* outcome = nullptr) {
  switch (dialect) {
    case Dialect::influx_v2: {
      std::string body = "{\"code\":" + json_string(code) + ",\"message\":" + json_string(message);
      if (outcome != nullptr && !outcome->problems.empty())
        body += ",\"line\":" + std::to_string(outcome->problems.front().line);
      return body + "}";
    }
    case Dialect::influx_v1:
      return "{\"error\":" + json_string(message) + "}";
    case Dialect::json_lines:
      break;
  }
  std::string body = "{\"error\":" + json_string(message);
  if (outcome != nullptr) {
    body += ",\"accepted\":" + std::to_string(outcome->rows) +
            ",\"rejected\":" + std::to_string(outcome->malformed) + ",\"problems\":[";
    for (std::size_t i = 0; i < outcome->problems.size(); ++i)
      body += std::string(i ? "," : "") + "{\"line\":" + std::to_string(outcome->problems[i].line) +
              ",\"message\":" + json_string(outcome->problems[i].message) + "}";
    body += "]";
  }
  return body + "}";
}

void answer(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json; charset=utf-8");
}

}  // namespace

struct HttpIngestServer::Impl {
  IngestTarget& target;
  HttpViews views;
  HttpIngestSettings settings;
  httplib::Server server;
  std::unique_ptr<obs::HttpListener> listener;  ///< last: stops before the rest goes

  Impl(IngestTarget& t, HttpViews v, HttpIngestSettings s)
      : target(t), views(std::move(v)), settings(s) {}

  /// Reads the (decompressed) body up to the limit. False, with the answer made, when it
  /// cannot be had.
  bool read_body(Dialect dialect, const httplib::Request& req, const httplib::ContentReader& reader,
                 httplib::Response& res, std::string& body) const {
    // A body announced too large is refused unread (the library would not read it either).
    bool too_large = false;
    if (const std::string length = req.get_header_value("Content-Length"); !length.empty()) {
      std::uint64_t announced = 0;
      const auto [end, ec] =
          std::from_chars(length.data(), length.data() + length.size(), announced);
      too_large = ec == std::errc() && announced > settings.max_body_bytes;
    }
    const bool read = !too_large && reader([&](const char* data, std::size_t size) {
      if (body.size() + size > settings.max_body_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, size);
      return true;
    });
    if (read && !too_large) return true;
    res.set_header("Connection", "close");  // the rest of the body stays unread
    if (too_large) {
      answer(res, 413,
             error_body(dialect, "request too large",
                        "the body is larger than " + std::to_string(settings.max_body_bytes) +
                            " bytes (after decompression; see --max-body)"));
    } else {
      answer(res, 400,
             error_body(dialect, "invalid",
                        "the body could not be read (cut short, or not the gzip it claims "
                        "to be)"));
    }
    return false;
  }

  void write(Dialect dialect, const httplib::Request& req, httplib::Response& res,
             const httplib::ContentReader& reader) {
    std::int64_t tick_ns = 1;
    if (dialect != Dialect::json_lines) {
      try {
        tick_ns =
            precision_tick_ns(req.get_param_value("precision"), dialect == Dialect::influx_v1);
      } catch (const Error& e) {
        answer(res, 400, error_body(dialect, "invalid", e.what()));
        return;
      }
    }
    std::string body;
    if (!read_body(dialect, req, reader, res, body)) return;
    detail::LineOutcome outcome;
    try {
      outcome = dialect == Dialect::json_lines ? target.write_json_lines(body)
                                               : target.write_line_protocol(body, tick_ns);
    } catch (const std::exception& e) {
      answer(res, 503,
             error_body(dialect, "unavailable", std::string("the job failed: ") + e.what()));
      return;
    }
    if (outcome.malformed == 0) {
      res.status = 204;
      return;
    }
    answer(res, 400,
           error_body(dialect, "invalid", "partial write: " + rejection_text(outcome), &outcome));
  }
};

HttpIngestServer::HttpIngestServer(const obs::ListenAddress& address, IngestTarget& target,
                                   HttpViews views, HttpIngestSettings settings)
    : impl_(std::make_unique<Impl>(target, std::move(views), settings)) {
  httplib::Server& s = impl_->server;
  Impl* impl = impl_.get();
  const int threads = settings.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_read_timeout(settings.read_timeout_s, 0);
  s.set_write_timeout(settings.read_timeout_s, 0);
  s.set_payload_max_length(settings.max_body_bytes);
  const auto writer = [impl](Dialect dialect) {
    return [impl, dialect](const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader& reader) {
      impl->write(dialect, req, res, reader);
    };
  };
  s.Post("/api/v2/write", writer(Dialect::influx_v2));
  s.Post("/write", writer(Dialect::influx_v1));
  s.Post("/ingest", writer(Dialect::json_lines));
  s.Get("/windows", [impl](const httplib::Request& req, httplib::Response& res) {
    std::size_t limit = 1000;
    if (req.has_param("limit")) {
      const std::string text = req.get_param_value("limit");
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        answer(res, 400,
               error_body(Dialect::json_lines, "",
                          "limit '" + text + "': expected a count of windows"));
        return;
      }
    }
    answer(res, 200, impl->views.windows(limit));
  });
  s.Get("/metrics", [impl](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(impl->views.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("metrics unavailable: ") + e.what() + '\n', "text/plain");
    }
  });
  s.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    answer(res, 200, R"({"name":"sluice","status":"pass","message":"ready for writes"})");
  });
  s.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404)
      answer(res, 404,
             error_body(Dialect::json_lines, "",
                        "no such path: " + req.path +
                            " (writes: POST /api/v2/write, /write, /ingest; reads: GET "
                            "/windows, /metrics, /health, /ping)"));
  });
  impl_->listener = std::make_unique<obs::HttpListener>(s, address);
}

HttpIngestServer::~HttpIngestServer() = default;
int HttpIngestServer::port() const noexcept { return impl_->listener->port(); }
std::string HttpIngestServer::url() const { return impl_->listener->base_url(); }
bool HttpIngestServer::available() noexcept { return true; }

#else

struct HttpIngestServer::Impl {};

HttpIngestServer::HttpIngestServer(const obs::ListenAddress&, IngestTarget&, HttpViews,
                                   HttpIngestSettings) {
  throw Error(ErrorCode::backend_unavailable,
              "this build has no HTTP server: install cpp-httplib (Debian: libcpp-httplib-dev) "
              "and configure again");
}

HttpIngestServer::~HttpIngestServer() = default;
int HttpIngestServer::port() const noexcept { return 0; }
std::string HttpIngestServer::url() const { return {}; }
bool HttpIngestServer::available() noexcept { return false; }

#endif

}  // namespace sluice::server
