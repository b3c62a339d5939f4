// Endpoint and client-option parsing; whether the build has librdkafka.
#include "host/kafka/kafka_client.hpp"

#include "sluice/status.hpp"

namespace sluice::kafka {

Endpoint parse_endpoint(std::string_view text) {
  const std::size_t slash = text.rfind('/');
  if (slash == std::string_view::npos)
    throw Error(ErrorCode::invalid_argument,
                "'" + std::string(text) + "': expected BROKERS/TOPIC, e.g. 127.0.0.1:9092/events");
  Endpoint e{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  if (e.brokers.empty())
    throw Error(ErrorCode::invalid_argument,
                "'" + std::string(text) + "': no brokers before the '/' of BROKERS/TOPIC");
  if (e.topic.empty() || e.topic.size() > 249)
    throw Error(ErrorCode::invalid_argument, "'" + std::string(text) + "': a topic name of 1 to " +
                                                 "249 characters is needed after the '/'");
  for (const char c : e.topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      throw Error(ErrorCode::invalid_argument,
                  "topic '" + e.topic + "': Kafka topic names hold ASCII letters, digits, '.', " +
                      "'_' and '-' only");
  }
  return e;
}

std::pair<std::string, std::string> parse_client_option(std::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw Error(ErrorCode::invalid_argument,
                "'" + std::string(text) + "': expected KEY=VALUE, e.g. security.protocol=ssl");
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

bool available() noexcept {
#if SLUICE_HAVE_RDKAFKA
  return true;
#else
  return false;
#endif
}

}  // namespace sluice::kafka
