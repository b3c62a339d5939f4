// What Sluice's Kafka clients (host/kafka) share: where they connect and how they are configured.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::kafka {

/// @brief A topic and the brokers that serve it, written "BROKERS/TOPIC" on the command line
/// ("127.0.0.1:9092,10.0.0.2:9092/telemetry").
struct Endpoint {
  std::string brokers;  ///< bootstrap servers, comma-separated HOST:PORT
  std::string topic;
};

/// @brief Parses "BROKERS/TOPIC": the topic after the last '/', the brokers before it.
/// @throws Error(invalid_argument) naming what is missing or a topic Kafka would refuse
/// (empty, over 249 characters, or with characters other than ASCII letters, digits, '.', '_'
/// and '-').
Endpoint parse_endpoint(std::string_view text);

/// @brief librdkafka configuration properties (`--kafka-option KEY=VALUE`: security, timeouts,
/// ...), applied after Sluice's own defaults, so that they win.
using ClientOptions = std::vector<std::pair<std::string, std::string>>;

/// @brief Parses one "KEY=VALUE". @throws Error(invalid_argument) without '=' or a key.
std::pair<std::string, std::string> parse_client_option(std::string_view text);

/// @brief Whether this build has the Kafka clients (librdkafka was found when it was
/// configured).
bool available() noexcept;

}  // namespace sluice::kafka
