// KafkaSource: a consumer-group member whose messages become the rows of a job, each partition a
// source of the watermark, offsets committed once the windows they feed are written.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "host/kafka/commit_tracker.hpp"
#include "host/kafka/kafka_client.hpp"
#include "sluice/duration.hpp"
#include "sluice/engine.hpp"

namespace sluice::kafka {

/// @brief How message values are read.
enum class ValueFormat : std::uint8_t {
  json,           ///< JSON lines: one object per line, its keys naming the columns
  csv,            ///< CSV records, the schema's columns in schema order, no header
  line_protocol,  ///< InfluxDB line protocol
};

/// @brief Parses "json", "csv" or "line". @throws Error(invalid_argument) naming the text.
ValueFormat parse_value_format(std::string_view text);

/// @brief KafkaSource settings; every field but `from` and `time_column` has a default.
struct KafkaSourceSettings {
  Endpoint from;
  std::string group = "sluice";  ///< consumer group (group.id): members share the partitions
  ClientOptions options;         ///< librdkafka properties, applied after Sluice's defaults
  ValueFormat format = ValueFormat::json;
  std::string time_column;  ///< the schema's event-time column
  /// The event time is the message's timestamp (its CreateTime or LogAppendTime, in ms,
  /// converted to the time column's unit) rather than a field of the value. Not with CSV.
  bool message_time = false;
  std::string measurement;        ///< line protocol: only this measurement; empty: any
  std::int64_t line_tick_ns = 1;  ///< line protocol: nanoseconds per timestamp unit
  std::size_t max_line_bytes = 1 << 16;
  std::size_t max_reported = 10;        ///< malformed messages reported one by one; then counted
  std::ostream* diagnostics = nullptr;  ///< where they are reported; nullptr = std::cerr
  /// Stop once every assigned partition has been read to its end (a bounded read, as of a
  /// file); else read until stop().
  bool until_end = false;
  /// Rows of a partition are pushed as one batch once this many are gathered, or once the
  /// first of them waited `gather`.
  std::size_t batch_rows = 1 << 16;
  Duration gather = std::chrono::milliseconds(20);
  /// How often offsets are committed (each time: the job flushed, `before_commit` run, then
  /// every offset whose windows are out committed).
  Duration commit_interval = std::chrono::seconds(1);
  /// Makes what the sinks were handed durable before offsets are committed (a Kafka sink's
  /// flush); may throw, which fails the read.
  std::function<void()> before_commit;
  CommitRule commit_rule;
  int first_source = 0;  ///< partition p pushes as source first_source + p
};

/// @brief What a KafkaSource did so far (safe to read from any thread).
struct KafkaSourceCounters {
  std::uint64_t messages = 0;   ///< messages read
  std::uint64_t bytes = 0;      ///< their value bytes
  std::uint64_t rows = 0;       ///< rows pushed
  std::uint64_t malformed = 0;  ///< rows (lines, records, messages) rejected
  std::uint64_t commits = 0;    ///< offset commits made
};

/// @brief Joins consumer group `group` on topic `from.topic` and pushes the rows of each message
/// into a job. Each partition is a source of the watermark (so disorder between partitions does
/// not make events late); a partition's rows are pushed in offset order. Offsets are committed
/// only once every window the rows before them feed has reached the sinks (CommitRule), so a
/// restart after a crash reads again what was not written; the last commit() after the job
/// finished commits everything read. Malformed lines are counted in the job's malformed events
/// and reported with their partition and offset; the other rows of the message are kept.
class KafkaSource {
 public:
  /// @throws Error(invalid_argument) for settings or librdkafka properties at fault (the time
  /// column not in the schema, CSV with message_time), Error(io_error) when the consumer cannot
  /// be made.
  KafkaSource(Job& job, KafkaSourceSettings settings);
  ~KafkaSource();
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  /// @brief Reads, pushes and commits on the calling thread until stop() or, with until_end,
  /// until every assigned partition was read to its end; what was gathered is pushed first.
  /// @throws Error when the topic does not exist, the client fails for good, or the job fails.
  void run();
  /// @brief Makes run() return soon; safe from any thread (and a signal handler's thread).
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  /// @brief run() has returned.
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }
  /// @brief After the job finished (every window fired and the sinks flushed): commits every
  /// offset read and leaves the group. @throws Error(io_error) when the commit fails.
  void commit_all();
  KafkaSourceCounters counters() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
};

}  // namespace sluice::kafka
