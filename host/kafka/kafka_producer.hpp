// KafkaProducer: messages to one topic, with delivery confirmed before a flush returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "host/kafka/kafka_client.hpp"

namespace sluice::kafka {

/// @brief Produces keyed messages to one topic (librdkafka; acks from every in-sync replica,
/// idempotent, so a retried send is not duplicated). Partitions are chosen by the hash of the
/// key (librdkafka's default partitioner, as the Java client's murmur2 for non-empty keys).
/// send() may be called from one thread at a time; flush() from any.
class KafkaProducer {
 public:
  /// @throws Error(invalid_argument) for a configuration librdkafka refuses (naming the
  /// property), Error(io_error) when the client cannot be made.
  KafkaProducer(const Endpoint& to, const ClientOptions& options);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  /// @brief Queues one message (copied; an empty key is sent as none). Blocks while
  /// librdkafka's queue is full (queue.buffering.max.messages, .kbytes): the backpressure of a
  /// slow cluster.
  /// @throws Error(io_error) once a message failed for good, naming the first failure.
  void send(std::string_view key, std::string_view value);
  /// @brief Waits until every message sent so far is acknowledged by the brokers.
  /// @throws Error(io_error) when one failed, or when `timeout` passed first.
  void flush(std::chrono::milliseconds timeout);

  std::uint64_t sent() const noexcept;       ///< messages queued
  std::uint64_t delivered() const noexcept;  ///< messages the brokers acknowledged
  const Endpoint& endpoint() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::kafka
