// TcpIngestServer over POSIX sockets: an accepting thread and a thread per connection.
#include "host/server/tcp_ingest_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#include "sluice/status.hpp"

namespace sluice::server {
namespace {

/// "HOST:PORT" of a connected peer.
std::string peer_name(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    port = ntohs(a.sin_port);
    return std::string(host) + ':' + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    port = ntohs(a.sin6_port);
  }
  return '[' + std::string(host) + "]:" + std::to_string(port);
}

/// A socket bound to `address` and listening; its port in `port`.
int listen_on(const obs::ListenAddress& address, int& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(address.port);
  const std::string where = address.host + ':' + service;
  if (const int rc = ::getaddrinfo(address.host.c_str(), service.c_str(), &hints, &found); rc != 0)
    throw Error(ErrorCode::io_error, "cannot listen on " + where + ": " + ::gai_strerror(rc));
  int fd = -1;
  int error = 0;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      error = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0)
    throw Error(ErrorCode::io_error, "cannot listen on " + where + ": " + std::strerror(error));
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                           : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  return fd;
}

/// Whether `fd` can be read (or `stop_fd` became readable: then `stopped`) within `ms`.
bool wait_readable(int fd, int stop_fd, bool& stopped, int ms = -1) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  while (::poll(fds, 2, ms) < 0) {
    if (errno != EINTR)
      throw Error(ErrorCode::io_error, std::string("poll: ") + std::strerror(errno));
  }
  stopped = (fds[1].revents & POLLIN) != 0;
  return fds[0].revents != 0;
}

enum class Format : std::uint8_t { unknown, line_protocol, json_lines };

}  // namespace

struct TcpIngestServer::Impl {
  IngestTarget& target;
  TcpIngestSettings settings;
  std::string host;
  int port = 0;
  int listen_fd = -1;
  int stop_pipe[2] = {-1, -1};
  std::thread acceptor;
  std::mutex mutex;
  std::condition_variable ended;  ///< a connection ended, or stop
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Connection> connections;  ///< guarded by mutex
  int active = 0;                     ///< guarded by mutex
  bool stopping = false;              ///< guarded by mutex
  std::atomic<std::uint64_t> accepted{0};
  std::mutex report_mutex;

  Impl(IngestTarget& t, TcpIngestSettings s) : target(t), settings(s) {}

  void report(const std::string& peer, const detail::LineOutcome& outcome, std::size_t& reported) {
    if (settings.diagnostics == nullptr) return;
    const std::lock_guard lock(report_mutex);
    for (const detail::LineProblem& p : outcome.problems) {
      if (reported >= settings.max_reported) break;
      ++reported;
      *settings.diagnostics << "tcp " << peer << " line " << p.line << ": " << p.message << '\n';
    }
  }

  /// Parses and pushes the complete lines at the front of `pending` (all of it when `final`),
  /// numbering them from `line`.
  void take_lines(std::string& pending, bool final, Format& format, std::uint64_t& line,
                  bool& skipping, const std::string& peer, std::uint64_t& rejected,
                  std::size_t& reported) {
    const std::size_t max_line = target.settings().max_line_bytes;
    if (skipping) {
      // The rest of an over-long line: dropped up to its end.
      const std::size_t end = pending.find('\n');
      if (end == std::string::npos) {
        pending.clear();
        return;
      }
      pending.erase(0, end + 1);
      ++line;
      skipping = false;
    }
    std::size_t complete = final ? pending.size() : pending.rfind('\n');
    if (complete == std::string::npos) {
      if (pending.size() > max_line) {
        detail::LineOutcome outcome;
        outcome.reject(line, "line longer than " + std::to_string(max_line) + " bytes", 1);
        target.count_malformed(1);
        ++rejected;
        report(peer, outcome, reported);
        pending.clear();
        skipping = true;
      }
      return;
    }
    if (!final) ++complete;  // the line break
    const std::string_view text(pending.data(), complete);
    if (format == Format::unknown) {
      const std::size_t first = text.find_first_not_of(" \t\r\n");
      if (first == std::string_view::npos) {
        line += static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
        pending.erase(0, complete);
        return;
      }
      format = text[first] == '{' ? Format::json_lines : Format::line_protocol;
    }
    const detail::LineOutcome outcome =
        format == Format::json_lines ? target.write_json_lines(text, line)
                                     : target.write_line_protocol(text, settings.tick_ns, line);
    rejected += outcome.malformed;
    report(peer, outcome, reported);
    line += static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
    pending.erase(0, complete);
  }

  void serve_connection(int fd, const std::string& peer) {
    std::string pending;
    std::vector<char> chunk(settings.read_bytes);
    Format format = Format::unknown;
    std::uint64_t line = 1;
    std::uint64_t rejected = 0;
    std::size_t reported = 0;
    bool skipping = false;
    bool stopped = false;
    try {
      for (;;) {
        if (!stopped) {
          wait_readable(fd, stop_pipe[0], stopped);
          // On stop: what has arrived is read without waiting, then the connection ends.
          if (stopped) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        }
        const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the end, an error, or (stopped) nothing more arrived
        pending.append(chunk.data(), static_cast<std::size_t>(n));
        take_lines(pending, false, format, line, skipping, peer, rejected, reported);
      }
      if (!pending.empty() && !skipping)
        take_lines(pending, true, format, line, skipping, peer, rejected, reported);
    } catch (const std::exception& e) {
      if (settings.diagnostics != nullptr) {
        const std::lock_guard lock(report_mutex);
        *settings.diagnostics << "tcp " << peer << ": connection dropped: " << e.what() << '\n';
      }
    }
    if (rejected > reported && settings.diagnostics != nullptr) {
      const std::lock_guard lock(report_mutex);
      *settings.diagnostics << "tcp " << peer << ": " << rejected << " lines rejected in all ("
                            << reported << " reported)\n";
    }
    ::close(fd);
  }

  void accept_loop() {
    for (;;) {
      {
        std::unique_lock lock(mutex);
        ended.wait(lock, [&] { return stopping || active < settings.max_connections; });
        if (stopping) return;
        // Join the connections that ended.
        for (auto it = connections.begin(); it != connections.end();) {
          if (it->done) {
            it->thread.join();
            it = connections.erase(it);
          } else {
            ++it;
          }
        }
      }
      bool stopped = false;
      if (!wait_readable(listen_fd, stop_pipe[0], stopped) || stopped) {
        if (stopped) return;
        continue;
      }
      sockaddr_storage addr{};
      socklen_t length = sizeof addr;
      const int fd =
          ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &length, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE)  // out of descriptors: wait for one to free
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      accepted.fetch_add(1, std::memory_order_relaxed);
      const std::lock_guard lock(mutex);
      ++active;
      Connection& c = connections.emplace_back();
      c.thread = std::thread([this, fd, &c, peer = peer_name(addr)] {
        serve_connection(fd, peer);
        const std::lock_guard done_lock(mutex);
        --active;
        c.done = true;
        ended.notify_all();
      });
    }
  }
};

TcpIngestServer::TcpIngestServer(const obs::ListenAddress& address, IngestTarget& target,
                                 TcpIngestSettings settings)
    : impl_(std::make_unique<Impl>(target, settings)) {
  if (settings.max_connections < 1 || settings.read_bytes == 0)
    throw Error(ErrorCode::invalid_argument,
                "TcpIngestServer: max_connections and read_bytes must be positive");
  impl_->host = address.host;
  impl_->listen_fd = listen_on(address, impl_->port);
  if (::pipe2(impl_->stop_pipe, O_CLOEXEC) != 0) {
    ::close(impl_->listen_fd);
    throw Error(ErrorCode::io_error, std::string("pipe: ") + std::strerror(errno));
  }
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

TcpIngestServer::~TcpIngestServer() {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->ended.notify_all();
  const char byte = 1;
  while (::write(impl_->stop_pipe[1], &byte, 1) < 0 && errno == EINTR) {
  }
  impl_->acceptor.join();
  for (Impl::Connection& c : impl_->connections) c.thread.join();
  ::close(impl_->listen_fd);
  ::close(impl_->stop_pipe[0]);
  ::close(impl_->stop_pipe[1]);
}

int TcpIngestServer::port() const noexcept { return impl_->port; }

std::string TcpIngestServer::url() const {
  const bool v6 = impl_->host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? '[' + impl_->host + ']' : impl_->host) + ':' +
         std::to_string(impl_->port);
}

std::uint64_t TcpIngestServer::connections() const noexcept {
  return impl_->accepted.load(std::memory_order_relaxed);
}

}  // namespace sluice::server
