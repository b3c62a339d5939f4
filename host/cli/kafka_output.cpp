// KafkaOutput: rows written as JSON lines by two ResultWriters, paired into keyed messages.
#include "host/cli/kafka_output.hpp"

#include <chrono>
#include <string_view>

namespace sluice::cli {
namespace {

OutputStyle json_style(const RunOptions& options) {
  OutputStyle style = options.style;
  style.format = OutputFormat::jsonl;
  return style;
}

/// The key columns of the result batches (after window_start and window_end).
std::vector<OutputColumn> key_columns(const RunOptions& options) {
  std::vector<OutputColumn> columns;
  for (std::size_t i = 0; i < options.keys.size(); ++i)
    columns.push_back({options.keys[i], OutputColumn::Print::value, 2 + i});
  return columns;
}

/// The next line of `text` from `at` (without its line break); moves `at` past it.
std::string_view next_line(std::string_view text, std::size_t& at) {
  const std::size_t end = text.find('\n', at);
  const std::string_view line = text.substr(at, end - at);
  at = end == std::string_view::npos ? text.size() : end + 1;
  return line;
}

/// The sink table's properties, then --kafka-option's, which win.
kafka::ClientOptions sink_client_options(const RunOptions& options) {
  kafka::ClientOptions all = options.kafka_sink_options;
  all.insert(all.end(), options.kafka_options.begin(), options.kafka_options.end());
  return all;
}

}  // namespace

KafkaOutput::KafkaOutput(const RunOptions& options)
    : values_(output_columns(options), json_style(options), options.updates),
      producer_(*options.kafka_sink, sink_client_options(options)) {
  values_.open(values_text_, "the Kafka sink");
  if (!options.keys.empty()) {
    // The keys of exactly the rows the values take: the same --updates choice.
    const UpdateRows rows =
        options.updates == UpdateRows::column ? UpdateRows::every : options.updates;
    keys_.emplace(key_columns(options), json_style(options), rows);
    keys_->open(keys_text_, "the Kafka sink's keys");
  }
}

void KafkaOutput::write(const Batch& batch) {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  values_.write(batch);
  if (keys_) keys_->write(batch);
  const std::string values = values_text_.str();
  const std::string keys = keys_ ? keys_text_.str() : std::string();
  values_text_.str({});
  keys_text_.str({});
  std::size_t value_at = 0;
  std::size_t key_at = 0;
  while (value_at < values.size()) {
    const std::string_view value = next_line(values, value_at);
    const std::string_view key = keys_ ? next_line(keys, key_at) : std::string_view();
    producer_.send(key, value);
  }
}

void KafkaOutput::flush() { producer_.flush(std::chrono::minutes(1)); }

void KafkaOutput::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
}

}  // namespace sluice::cli
