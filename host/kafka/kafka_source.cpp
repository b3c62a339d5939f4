// KafkaSource over librdkafka's high-level consumer: gather per partition, push, commit behind
// the fired watermark.
#include "host/kafka/kafka_source.hpp"

#include <algorithm>
#include <exception>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "host/io/csv_reader.hpp"
#include "host/io/json_lines.hpp"
#include "host/io/line_protocol.hpp"
#include "sluice/status.hpp"

#if SLUICE_HAVE_RDKAFKA
#include "host/kafka/rdkafka_handle.hpp"
#endif

namespace sluice::kafka {

ValueFormat parse_value_format(std::string_view text) {
  if (text == "json") return ValueFormat::json;
  if (text == "csv") return ValueFormat::csv;
  if (text == "line") return ValueFormat::line_protocol;
  throw Error(ErrorCode::invalid_argument,
              "'" + std::string(text) + "': expected json, csv or line (InfluxDB line protocol)");
}

#if SLUICE_HAVE_RDKAFKA

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();

/// A message timestamp (ms since the epoch) in ticks of the time column.
std::int64_t ticks_of_ms(std::int64_t ms, const DataType& type) {
  if (type.id != TypeId::timestamp) return ms;
  switch (type.unit) {
    case TimeUnit::ns:
      return ms * 1'000'000;
    case TimeUnit::us:
      return ms * 1'000;
    case TimeUnit::ms:
      return ms;
    case TimeUnit::s:
      return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  }
  return ms;
}

std::string csv_header(const Schema& schema) {
  std::string header;
  for (std::size_t i = 0; i < schema.size(); ++i) {
    if (i > 0) header += ',';
    const std::string& name = schema.field(i).name;
    if (name.find_first_of(",\"\r\n") == std::string::npos) {
      header += name;
      continue;
    }
    header += '"';
    for (const char c : name) header += c == '"' ? std::string("\"\"") : std::string(1, c);
    header += '"';
  }
  return header + '\n';
}

}  // namespace

struct KafkaSource::Impl {
  /// What a partition gathered since its last push.
  struct Partition {
    std::optional<BatchBuilder> builder;
    std::vector<std::int64_t> times;  ///< message_time: one per row
    std::string csv;                  ///< CSV: the values, each ending with a line break
    std::int64_t first_offset = -1;   ///< of the first message gathered; -1: none
    std::int64_t next_offset = -1;
    bool at_end = false;  ///< read to its end (until_end)
  };

  Impl(Job& j, KafkaSourceSettings settings)
      : job(j),
        s(std::move(settings)),
        diagnostics(s.diagnostics != nullptr ? *s.diagnostics : std::cerr),
        tracker(s.commit_rule) {}

  Job& job;
  KafkaSourceSettings s;
  std::ostream& diagnostics;
  std::string where;  ///< "kafka BROKERS/TOPIC", for messages
  std::size_t time_index = 0;
  DataType time_type;
  Schema value_schema;  ///< what values are parsed into: the schema, less the time column when
                        ///< it comes from the message timestamp (JSON, CSV)
  bool value_has_time = true;
  std::optional<detail::JsonLinesParser> json;
  std::optional<detail::LineProtocolParser> line;
  std::string header;  ///< CSV
  rdk::Handle consumer;
  CommitTracker tracker;
  std::map<std::int32_t, Partition> partitions;  ///< assigned
  bool assigned_once = false;
  bool closing = false;
  bool gathering = false;
  Clock::time_point gather_start;
  std::size_t gathered_rows = 0;
  std::uint64_t pending_malformed = 0;
  std::uint64_t reported = 0;
  Clock::time_point last_commit = Clock::now();
  std::exception_ptr callback_error;
  std::atomic<std::uint64_t> messages{0}, bytes{0}, rows{0}, malformed{0}, commits{0};

  void report(std::int32_t partition, std::int64_t offset, std::uint64_t line_number,
              const std::string& message) {
    if (reported++ >= s.max_reported) return;
    diagnostics << where << " partition " << partition << " offset " << offset;
    if (line_number > 1) diagnostics << " line " << line_number;
    diagnostics << ": " << message << '\n';
    if (reported == s.max_reported)
      diagnostics << where << ": further malformed lines are counted, not shown\n";
  }

  void reject(std::int32_t partition, std::int64_t offset, const std::string& message) {
    report(partition, offset, 1, message);
    ++pending_malformed;
    malformed.fetch_add(1, std::memory_order_relaxed);
  }

  BatchBuilder make_builder() const {
    BatchBuilder full = job.make_builder();
    if (value_has_time) return full;
    std::vector<DictionaryPtr> dictionaries;
    for (std::size_t i = 0; i < job.schema().size(); ++i)
      if (i != time_index) dictionaries.push_back(full.dictionary(i));
    return BatchBuilder(value_schema, std::move(dictionaries));
  }

  void take(const rd_kafka_message_t& m) {
    if (m.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (const auto it = partitions.find(m.partition); it != partitions.end())
          it->second.at_end = true;
        return;
      }
      const std::string why = rd_kafka_message_errstr(&m);
      if (m.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m.err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
          m.err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
          m.err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
          m.err == RD_KAFKA_RESP_ERR__FATAL)
        throw Error(ErrorCode::io_error, where + ": " + why);
      diagnostics << where << ": " << why << " (retrying)\n";  // transient: librdkafka retries
      return;
    }
    const auto it = partitions.find(m.partition);
    if (it == partitions.end()) return;  // revoked meanwhile
    Partition& p = it->second;
    p.at_end = false;
    messages.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(m.len, std::memory_order_relaxed);
    if (!gathering) {
      gathering = true;
      gather_start = Clock::now();
    }
    if (p.first_offset < 0) p.first_offset = m.offset;
    p.next_offset = m.offset + 1;
    if (m.payload == nullptr) return reject(m.partition, m.offset, "a message without a value");
    const std::string_view value(static_cast<const char*>(m.payload), m.len);
    std::int64_t time = 0;
    if (s.message_time) {
      rd_kafka_timestamp_type_t type;
      const std::int64_t ms = rd_kafka_message_timestamp(&m, &type);
      if (ms < 0) return reject(m.partition, m.offset, "the message has no timestamp");
      time = ticks_of_ms(ms, time_type);
    }
    if (s.format == ValueFormat::csv) {
      p.csv.append(value);
      if (value.empty() || value.back() != '\n') p.csv += '\n';
      ++gathered_rows;
      return;
    }
    if (!p.builder) p.builder.emplace(make_builder());
    detail::LineOutcome outcome;
    if (json) {
      outcome = json->parse(value, *p.builder);
    } else {
      const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
      outcome = line->parse(value, *p.builder, 1, now_ns);
    }
    if (s.message_time) p.times.insert(p.times.end(), outcome.rows, time);
    gathered_rows += outcome.rows;
    for (const detail::LineProblem& problem : outcome.problems)
      report(m.partition, m.offset, problem.line, problem.message);
    pending_malformed += outcome.malformed;
    malformed.fetch_add(outcome.malformed, std::memory_order_relaxed);
  }

  /// The parsed rows with the time column of the message timestamps.
  Batch with_message_times(const Batch& parsed, std::vector<std::int64_t> times) const {
    auto keep =
        std::make_shared<std::pair<Batch, std::vector<std::int64_t>>>(parsed, std::move(times));
    std::vector<const void*> columns;
    std::vector<DictionaryPtr> dictionaries;
    for (std::size_t i = 0; i < job.schema().size(); ++i) {
      if (i == time_index) {
        columns.push_back(keep->second.data());
        dictionaries.push_back(nullptr);
        continue;
      }
      const std::size_t from = value_has_time || i < time_index ? i : i - 1;
      columns.push_back(parsed.column(from).data);
      dictionaries.push_back(parsed.dictionary(from));
    }
    return Batch::wrap(job.schema(), std::move(columns), parsed.rows(), std::move(dictionaries),
                       keep);
  }

  std::int64_t push(const Batch& batch, std::int32_t partition) {
    if (batch.rows() == 0) return kNoTime;
    const std::span<const std::int64_t> times = batch.values<std::int64_t>(time_index);
    const std::int64_t max_time = *std::max_element(times.begin(), times.end());
    job.push(batch, s.first_source + partition);
    rows.fetch_add(batch.rows(), std::memory_order_relaxed);
    return max_time;
  }

  std::int64_t push_csv(Partition& p, std::int32_t partition) {
    std::istringstream in(header + p.csv);
    std::ostringstream problems;
    const std::string name = where + " partition " + std::to_string(partition) + " offsets " +
                             std::to_string(p.first_offset) + "-" +
                             std::to_string(p.next_offset - 1) + " (line 1: the first record)";
    detail::CsvReader reader(in, name, value_schema, job.dictionary(),
                             {.on_malformed = detail::OnMalformed::skip,
                              .max_reported = s.max_reported,
                              .diagnostics = &problems,
                              .block_bytes = std::max<std::size_t>(in.str().size(), 1)});
    std::int64_t max_time = kNoTime;
    Batch batch;
    while (reader.next(batch)) max_time = std::max(max_time, push(batch, partition));
    // Lines are numbered from the header; the messages' first record is line 1 of the name.
    std::istringstream lines(problems.str());
    for (std::string text; std::getline(lines, text);) {
      if (text.find(": skipped ") != std::string::npos) continue;  // the reader's summary
      if (reported++ < s.max_reported) diagnostics << text << '\n';
    }
    pending_malformed += reader.malformed();
    malformed.fetch_add(reader.malformed(), std::memory_order_relaxed);
    return max_time;
  }

  /// Pushes what every partition gathered and records the chunks.
  void push_gathered() {
    for (auto& [id, p] : partitions) {
      if (p.first_offset < 0) continue;
      std::int64_t max_time = kNoTime;
      if (s.format == ValueFormat::csv) {
        if (!p.csv.empty()) max_time = push_csv(p, id);
        p.csv.clear();
      } else if (p.builder && p.builder->rows() > 0) {
        const Batch parsed = p.builder->finish();
        max_time =
            push(s.message_time ? with_message_times(parsed, std::move(p.times)) : parsed, id);
      }
      tracker.record(id, p.next_offset, max_time);
      p.builder.reset();  // a fresh one next time: the job's dictionary may have changed
      p.times.clear();
      p.first_offset = -1;
    }
    if (pending_malformed > 0) job.count_malformed(pending_malformed);
    pending_malformed = 0;
    gathering = false;
    gathered_rows = 0;
  }

  /// Commits `offsets` (partition, next offset to read). @return false when the commit failed.
  bool commit(const std::vector<std::pair<std::int32_t, std::int64_t>>& offsets,
              std::string* failure) {
    if (offsets.empty()) return true;
    rdk::PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& [partition, offset] : offsets)
      rd_kafka_topic_partition_list_add(list.get(), s.from.topic.c_str(), partition)->offset =
          offset;
    const rd_kafka_resp_err_t err = rd_kafka_commit(consumer.get(), list.get(), 0);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      commits.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    *failure = rd_kafka_err2str(err);
    return false;
  }

  /// Flushes the job and the sinks, then commits what the windows fired so far cover.
  void commit_due() {
    // Read before the flush: every round that reached this watermark was dispatched before the
    // flush, so once it returns the windows it fired are at the sinks.
    const std::int64_t fired = job.metrics().watermark;
    job.flush();
    if (s.before_commit) s.before_commit();
    std::string failure;
    if (!commit(tracker.advance(fired), &failure))
      diagnostics << where << ": committing offsets failed (" << failure
                  << "); they are committed with the next ones\n";
    last_commit = Clock::now();
  }

  /// The partitions of `assigned` with messages left to read hold the watermark until their
  /// first rows come (Job::expect_source), so that a partition whose messages arrive after the
  /// others' does not find its events late; empty and fully read ones hold nothing back.
  void expect_waiting(const rd_kafka_topic_partition_list_t* assigned) {
    rdk::PartitionList positions(rd_kafka_topic_partition_list_copy(assigned));
    if (rd_kafka_committed(consumer.get(), positions.get(), 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return;  // not known: the partitions hold the watermark from their first rows on
    bool from_end = false;
    for (const auto& [key, value] : s.options)
      if (key == "auto.offset.reset")
        from_end = value == "latest" || value == "largest" || value == "end";
    for (int i = 0; i < positions->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = positions->elems[i];
      std::int64_t low = 0;
      std::int64_t high = 0;
      if (rd_kafka_query_watermark_offsets(consumer.get(), p.topic, p.partition, &low, &high,
                                           10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        continue;
      const std::int64_t start = p.offset >= 0 ? p.offset : from_end ? high : low;
      if (high > start) job.expect_source(s.first_source + p.partition);
    }
  }

  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list) {
    const bool cooperative =
        std::string_view(rd_kafka_rebalance_protocol(consumer.get())) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < list->cnt; ++i) partitions[list->elems[i].partition] = Partition{};
      assigned_once = true;
      expect_waiting(list);
      if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_assign(consumer.get(), list));
      else
        rd_kafka_assign(consumer.get(), list);
      return;
    }
    // Revoked (or lost): what was read is pushed, and what its windows cover committed, while
    // the partitions are still ours; the next owner reads on from there.
    if (!closing && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      try {
        push_gathered();
        commit_due();
      } catch (...) {
        if (!callback_error) callback_error = std::current_exception();
      }
    }
    for (int i = 0; i < list->cnt; ++i) {
      tracker.forget(list->elems[i].partition);
      partitions.erase(list->elems[i].partition);
    }
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_unassign(consumer.get(), list));
    else
      rd_kafka_assign(consumer.get(), nullptr);
  }

  bool read_to_end() const {
    if (!assigned_once || partitions.empty()) return false;
    for (const auto& [id, p] : partitions)
      if (!p.at_end) return false;
    return true;
  }
};

KafkaSource::KafkaSource(Job& job, KafkaSourceSettings settings)
    : impl_(std::make_unique<Impl>(job, std::move(settings))) {
  Impl& m = *impl_;
  const KafkaSourceSettings& s = m.s;
  m.where = "kafka " + s.from.brokers + "/" + s.from.topic;
  const Schema& schema = job.schema();
  const auto t = schema.find(s.time_column);
  if (!t)
    throw Error(ErrorCode::unknown_column,
                "the time column '" + s.time_column + "' is not in the schema");
  m.time_index = *t;
  m.time_type = schema.field(*t).type;
  if (m.time_type.id != TypeId::timestamp && m.time_type.id != TypeId::i64)
    throw Error(ErrorCode::type_mismatch,
                "the time column '" + s.time_column + "' must be a timestamp or i64 column");
  if (s.message_time && s.format == ValueFormat::csv)
    throw Error(ErrorCode::invalid_argument,
                "CSV values carry their time column: the message timestamp is for JSON and line "
                "protocol values");
  m.value_schema = schema;
  if (s.message_time && s.format == ValueFormat::json) {
    std::vector<Field> fields = schema.fields();
    fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(*t));
    m.value_schema = Schema(std::move(fields));
    m.value_has_time = false;
  }
  switch (s.format) {
    case ValueFormat::json:
      m.json.emplace(m.value_schema, detail::JsonLinesOptions{.max_problems = s.max_reported,
                                                              .max_line_bytes = s.max_line_bytes});
      break;
    case ValueFormat::line_protocol:
      m.line.emplace(schema, detail::LineProtocolOptions{.measurement = s.measurement,
                                                         .time_column = s.time_column,
                                                         .tick_ns = s.line_tick_ns,
                                                         .max_problems = s.max_reported,
                                                         .max_line_bytes = s.max_line_bytes});
      break;
    case ValueFormat::csv:
      m.header = csv_header(schema);
      break;
  }
  // Offsets are stored and committed by the source alone, behind the windows; the first read
  // of a group starts at the beginning of each partition.
  rdk::Config conf = rdk::make_config(
      s.from.brokers, {{"group.id", s.group}, {"auto.offset.reset", "earliest"}}, s.options);
  rdk::set_property(conf.get(), "enable.auto.commit", "false");
  rdk::set_property(conf.get(), "enable.auto.offset.store", "false");
  rdk::set_property(conf.get(), "enable.partition.eof", s.until_end ? "true" : "false");
  rd_kafka_conf_set_opaque(conf.get(), &m);
  rd_kafka_conf_set_rebalance_cb(
      conf.get(), [](rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list,
                     void* opaque) { static_cast<Impl*>(opaque)->rebalance(err, list); });
  m.consumer = rdk::make_client(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_poll_set_consumer(m.consumer.get());
  rdk::PartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), s.from.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(m.consumer.get(), topics.get()))
    throw Error(ErrorCode::io_error, m.where + ": cannot subscribe: " + rd_kafka_err2str(err));
}

KafkaSource::~KafkaSource() {
  if (!impl_ || !impl_->consumer) return;
  impl_->closing = true;
  rd_kafka_consumer_close(impl_->consumer.get());
}

void KafkaSource::run() {
  Impl& m = *impl_;
  struct Done {
    std::atomic<bool>& done;
    ~Done() { done.store(true, std::memory_order_release); }
  } mark{done_};
  const auto gather = std::chrono::duration_cast<std::chrono::milliseconds>(m.s.gather);
  while (!stop_.load(std::memory_order_relaxed)) {
    int wait_ms = 100;
    if (m.gathering) {
      const auto left = gather - std::chrono::duration_cast<std::chrono::milliseconds>(
                                     Clock::now() - m.gather_start);
      wait_ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 100));
    }
    rd_kafka_message_t* message = rd_kafka_consumer_poll(m.consumer.get(), wait_ms);
    if (message != nullptr) {
      const std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
          message, rd_kafka_message_destroy);
      m.take(*message);
    }
    if (m.callback_error) std::rethrow_exception(std::exchange(m.callback_error, nullptr));
    const auto now = Clock::now();
    if (m.gathering && (m.gathered_rows >= m.s.batch_rows || now - m.gather_start >= m.s.gather))
      m.push_gathered();
    if (now - m.last_commit >= m.s.commit_interval) m.commit_due();
    if (m.s.until_end && m.read_to_end()) break;
  }
  m.push_gathered();
}

void KafkaSource::commit_all() {
  Impl& m = *impl_;
  m.push_gathered();
  std::string failure;
  if (!m.commit(m.tracker.drain(), &failure))
    throw Error(ErrorCode::io_error, m.where + ": committing the offsets read failed: " + failure);
  m.closing = true;
  rd_kafka_consumer_close(m.consumer.get());
  m.consumer.reset();
}

KafkaSourceCounters KafkaSource::counters() const noexcept {
  const Impl& m = *impl_;
  return {m.messages.load(std::memory_order_relaxed), m.bytes.load(std::memory_order_relaxed),
          m.rows.load(std::memory_order_relaxed), m.malformed.load(std::memory_order_relaxed),
          m.commits.load(std::memory_order_relaxed)};
}

#else  // no librdkafka

struct KafkaSource::Impl {};

KafkaSource::KafkaSource(Job&, KafkaSourceSettings) {
  throw Error(ErrorCode::invalid_argument,
              "this build has no Kafka client (librdkafka, Debian's librdkafka-dev, was not "
              "found when it was configured)");
}
KafkaSource::~KafkaSource() = default;
void KafkaSource::run() { done_.store(true, std::memory_order_release); }
void KafkaSource::commit_all() {}
KafkaSourceCounters KafkaSource::counters() const noexcept { return {}; }

#endif

}  // namespace sluice::kafka
