// KafkaOutput: the windows a job fires, one Kafka message per (window, key) row.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "host/cli/result_writer.hpp"
#include "host/cli/run_options.hpp"
#include "host/kafka/kafka_producer.hpp"
#include "sluice/batch.hpp"

namespace sluice::cli {

/// @brief Sends each result row to a topic: the value is the row as a JSON object, as
/// `--format jsonl` writes it (the same columns, --time-format and --updates); the key is a
/// JSON object of the row's key columns (none for a query without keys), so that Kafka keeps
/// the rows of one key in one partition, in order. A sink of the job: write() is called from
/// one engine thread at a time; flush() from any thread.
class KafkaOutput {
 public:
  /// @throws Error as KafkaProducer's constructor does.
  explicit KafkaOutput(const RunOptions& options);

  /// @brief Queues one message per row; blocks while the producer's queue is full.
  /// @throws Error(io_error) once a message could not be delivered.
  void write(const Batch& batch);
  /// @brief Waits until the brokers acknowledged every row written so far.
  /// @throws Error(io_error) when one failed or they did not within a minute.
  void flush();
  /// @brief Ignores every later write (the job failed).
  void stop();
  std::uint64_t messages() const { return producer_.sent(); }
  const kafka::Endpoint& endpoint() const { return producer_.endpoint(); }

 private:
  std::mutex mutex_;
  std::ostringstream values_text_;
  std::ostringstream keys_text_;
  ResultWriter values_;
  std::optional<ResultWriter> keys_;
  kafka::KafkaProducer producer_;
  bool stopped_ = false;
};

}  // namespace sluice::cli
