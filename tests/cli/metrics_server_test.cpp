// MetricsServer on loopback: GET /metrics answers the renderer's text, other paths 404, other
// methods 405; garbage, truncated and oversized requests are refused without harm; a port in
// use and bad addresses are named errors.
#include "host/observability/metrics_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "host/observability/prometheus_text.hpp"
#include "sluice/status.hpp"

namespace sluice::obs {
namespace {

/// Sends `request` to 127.0.0.1:port and returns what comes back until a whole response came,
/// the server closes the connection or 5 s pass (`close_write`: half-close after sending, as a
/// truncated request).
std::string send_request(int port, const std::string& request, bool close_write = false) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<std::uint16_t>(port));
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close on an oversized request before reading it all
    sent += static_cast<std::size_t>(n);
  }
  if (close_write) ::shutdown(fd, SHUT_WR);
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
    // A whole response is enough (a kept-alive connection stays open after it).
    if (const auto head = reply.find("\r\n\r\n"); head != std::string::npos) {
      const auto length = reply.find("Content-Length: ");
      if (length != std::string::npos && length < head &&
          reply.size() >= head + 4 + std::stoul(reply.substr(length + 16)))
        break;
    }
  }
  ::close(fd);
  return reply;
}

std::string get(int port, const std::string& path) {
  return send_request(port,
                      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!MetricsServer::available()) GTEST_SKIP() << "built without cpp-httplib";
  }
};

TEST_F(MetricsServerTest, ServesTheRenderersTextAtMetrics) {
  std::atomic<int> calls{0};
  MetricsServer server({"127.0.0.1", 0}, [&calls] {
    return "sluice_events_in_total " + std::to_string(++calls) + "\n";
  });
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/metrics");
  const std::string first = get(server.port(), "/metrics");
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200")) << first;
  EXPECT_NE(first.find(std::string("Content-Type: ") + kPrometheusContentType), std::string::npos)
      << first;
  EXPECT_NE(first.find("\r\n\r\nsluice_events_in_total 1\n"), std::string::npos) << first;
  // Each scrape renders anew.
  EXPECT_NE(get(server.port(), "/metrics").find("sluice_events_in_total 2\n"), std::string::npos);
}

TEST_F(MetricsServerTest, OtherPathsAndMethodsAreRefused) {
  MetricsServer server({"127.0.0.1", 0}, [] { return std::string("x 1\n"); });
  const std::string missing = get(server.port(), "/nope");
  EXPECT_TRUE(missing.starts_with("HTTP/1.1 404")) << missing;
  EXPECT_NE(missing.find("/metrics"), std::string::npos) << missing;
  const std::string post = send_request(server.port(),
                                        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                        "Connection: close\r\n\r\nab");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405")) << post;
  EXPECT_NE(post.find("Allow: GET"), std::string::npos) << post;
}

TEST_F(MetricsServerTest, GarbageTruncatedAndOversizedRequestsDoNoHarm) {
  MetricsServer server({"127.0.0.1", 0}, [] { return std::string("x 1\n"); });
  std::string garbage;
  for (int i = 0; i < 3000; ++i) garbage += static_cast<char>((i * 131 + 7) % 256);
  const std::string g = send_request(server.port(), garbage + "\r\n\r\n");
  EXPECT_FALSE(g.starts_with("HTTP/1.1 200")) << g;
  const std::string t = send_request(server.port(), "GET /metr", /*close_write=*/true);
  EXPECT_FALSE(t.starts_with("HTTP/1.1 200")) << t;
  const std::string huge_header =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  const std::string h = send_request(server.port(), huge_header);
  EXPECT_FALSE(h.starts_with("HTTP/1.1 200")) << h.substr(0, 200);
  const std::string body = send_request(server.port(),
                                        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                        "100000000\r\n\r\n" +
                                            std::string(1 << 16, 'b'));
  EXPECT_FALSE(body.starts_with("HTTP/1.1 200")) << body.substr(0, 200);
  // And the server still answers.
  EXPECT_TRUE(get(server.port(), "/metrics").starts_with("HTTP/1.1 200"));
}

TEST_F(MetricsServerTest, AnErrorOfTheRendererIsA500) {
  MetricsServer server({"127.0.0.1", 0},
                       []() -> std::string { throw Error(ErrorCode::internal, "broken"); });
  const std::string r = get(server.port(), "/metrics");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 500")) << r;
  EXPECT_NE(r.find("broken"), std::string::npos) << r;
}

TEST_F(MetricsServerTest, APortInUseIsANamedError) {
  MetricsServer first({"127.0.0.1", 0}, [] { return std::string(); });
  try {
    MetricsServer second({"127.0.0.1", first.port()}, [] { return std::string(); });
    FAIL() << "bound a port in use";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
  }
}

TEST(ListenAddress, ParsesHostPortAndPortAlone) {
  const ListenAddress a = parse_listen_address("0.0.0.0:9100");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 9100);
  const ListenAddress b = parse_listen_address("9100");
  EXPECT_EQ(b.host, "127.0.0.1");
  EXPECT_EQ(b.port, 9100);
  const ListenAddress c = parse_listen_address("[::1]:0");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 0);
  for (const char* bad : {"", ":9100", "host:", "host:x", "65536", "-1", "1.2.3.4:99999", "9 1"}) {
    try {
      parse_listen_address(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace sluice::obs
