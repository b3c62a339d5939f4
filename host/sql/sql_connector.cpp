// The WITH options of a table read into a SqlConnector, each checked where it is written.
#include "host/sql/sql_connector.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "host/sql/sql_ast.hpp"
#include "host/sql/sql_lexer.hpp"

namespace sluice::sql {
namespace {

constexpr std::string_view kProperties = "properties.";

/// The options of one table, checked against what its connector takes.
class ConnectorReader {
 public:
  ConnectorReader(std::string_view script, const SqlCreateTable& table, bool sink,
                  SqlCommand command)
      : script_(script), table_(table), sink_(sink), command_(command) {}

  SqlConnector read() {
    const SqlOption* kind = find("connector");
    if (kind == nullptr)
      fail(table_.options.empty() ? table_.offset : table_.options_offset,
           "table '" + table_.name + "' needs WITH (" + connector_hint() + ")");
    if (kind->value == "csv" || kind->value == "filesystem") {
      file(*kind);
    } else if (kind->value == "kafka") {
      kafka(*kind);
    } else if (kind->value == "serve") {
      serve(*kind);
    } else {
      fail(kind->value_offset,
           "unknown connector '" + kind->value + "' (connectors: " +
               (command_ == SqlCommand::serve && !sink_ ? "'serve', 'kafka'"
                                                        : "'csv', 'filesystem', 'kafka'") +
               ")");
    }
    return std::move(c_);
  }

 private:
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    error_at(script_, offset, message);
  }

  const SqlOption* find(std::string_view key) const {
    for (const SqlOption& o : table_.options)
      if (o.key == key) return &o;
    return nullptr;
  }

  std::string connector_hint() const {
    if (sink_) return "'connector' = 'csv', 'path' = 'FILE'";
    if (command_ == SqlCommand::serve)
      return "'connector' = 'serve') or WITH ('connector' = 'kafka', 'topic' = 'T', "
             "'properties.bootstrap.servers' = 'HOST:PORT'";
    return "'connector' = 'csv', 'path' = 'FILE'";
  }

  /// Fails on any option other than 'connector' and `known` (a '.'-ended entry: a prefix).
  void only(std::initializer_list<std::string_view> known) const {
    for (const SqlOption& o : table_.options) {
      if (o.key == "connector") continue;
      bool ok = false;
      for (std::string_view k : known)
        ok = ok || o.key == k ||
             (k.ends_with('.') && o.key.starts_with(k) && o.key.size() > k.size());
      if (ok) continue;
      std::string list = "'connector'";
      for (std::string_view k : known)
        list += ", '" + std::string(k) + (k.ends_with('.') ? "*'" : "'");
      fail(o.key_offset, "unknown option '" + o.key + "' (options: " + list + ")");
    }
  }

  void file(const SqlOption& kind) {
    if (command_ == SqlCommand::serve && !sink_)
      fail(kind.value_offset,
           "sluice serve reads what clients write ('connector' = 'serve') or a Kafka topic "
           "('connector' = 'kafka'); a file is read by sluice sql");
    only({"path", "format", "csv.ignore-parse-errors"});
    const SqlOption* path = find("path");
    const SqlOption* format = find("format");
    if (const SqlOption* o = find("csv.ignore-parse-errors")) {
      if (o->value != "true" && o->value != "false")
        fail(o->value_offset, "'csv.ignore-parse-errors' is 'true' or 'false'");
      c_.ignore_parse_errors = o->value == "true";
    }
    if (path != nullptr && path->value.empty()) fail(path->value_offset, "'path' is empty");
    if (kind.value == "filesystem" && format == nullptr)
      fail(kind.value_offset, "the filesystem connector needs 'format' = 'csv'");
    if (format != nullptr) c_.format = format->value;
    if (format != nullptr && c_.format != "csv" && (!sink_ || c_.format != "json"))
      fail(format->value_offset, "unknown format '" + c_.format + "' (" +
                                     (sink_ ? "formats: 'csv', 'json'" : "a source reads 'csv'") +
                                     ")");
    if (path == nullptr)
      fail(table_.offset, "table '" + table_.name + "' needs 'path' = 'FILE' (or '-')");
    c_.kind = SqlConnector::Kind::file;
    c_.path = path->value;
  }

  void kafka(const SqlOption& kind) {
    if (command_ == SqlCommand::sql && !sink_)
      fail(kind.value_offset,
           "a 'kafka' source table is read by sluice serve --sql FILE (sluice sql reads files)");
    if (sink_) {
      only({"topic", "format", "value.format", "properties."});
    } else {
      only({"topic", "format", "value.format", "measurement", "properties."});
    }
    c_.kind = SqlConnector::Kind::kafka;
    SqlKafkaTable& k = c_.kafka;
    const SqlOption* topic = find("topic");
    if (topic == nullptr) fail(kind.value_offset, "a 'kafka' table needs 'topic' = 'TOPIC'");
    if (topic->value.empty()) fail(topic->value_offset, "'topic' is empty");
    // Kafka's rule for topic names.
    const bool legal = topic->value.size() <= 249 &&
                       std::all_of(topic->value.begin(), topic->value.end(), [](char ch) {
                         return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' ||
                                ch == '_' || ch == '-';
                       });
    if (!legal)
      fail(topic->value_offset,
           "'topic' '" + topic->value +
               "' is no Kafka topic name (up to 249 ASCII letters, digits, '.', '_' and '-')");
    k.topic = topic->value;
    const SqlOption* format = find("format");
    if (const SqlOption* value = find("value.format")) {
      if (format != nullptr)
        fail(value->key_offset, "'format' and 'value.format' say the same: give one");
      format = value;
    }
    if (format != nullptr) {
      k.format = format->value;
      const bool known =
          k.format == "json" || (!sink_ && (k.format == "csv" || k.format == "line"));
      if (!known)
        fail(format->value_offset,
             "unknown format '" + k.format + "' (" +
                 (sink_ ? std::string("a Kafka sink writes 'json'")
                        : std::string("a Kafka source reads 'json', 'csv' or 'line'")) +
                 ")");
    }
    if (const SqlOption* m = find("measurement")) {
      if (k.format != "line")
        fail(m->key_offset, "'measurement' picks line-protocol points: it needs 'format' = 'line'");
      c_.measurement = m->value;
    }
    bool has_brokers = false;
    for (const SqlOption& o : table_.options) {
      if (!o.key.starts_with(kProperties)) continue;
      const std::string key = o.key.substr(kProperties.size());
      if (o.value.empty()) fail(o.value_offset, "'" + o.key + "' is empty");
      if (key == "bootstrap.servers") {
        k.brokers = o.value;
        has_brokers = true;
      } else if (key == "group.id") {
        if (sink_)
          fail(o.key_offset,
               "a sink has no consumer group: 'properties.group.id' "
               "belongs to a source");
        k.group = o.value;
      } else {
        k.properties.emplace_back(key, o.value);
      }
    }
    if (!has_brokers)
      fail(kind.value_offset,
           "a 'kafka' table needs 'properties.bootstrap.servers' = 'HOST:PORT[,HOST:PORT...]'");
  }

  void serve(const SqlOption& kind) {
    if (sink_)
      fail(kind.value_offset,
           "a 'serve' table is what clients write: a source, not a sink (windows go to a "
           "'csv', 'filesystem' or 'kafka' table, or to --output)");
    if (command_ != SqlCommand::serve)
      fail(kind.value_offset, "a 'serve' table is read by sluice serve --sql FILE");
    only({"measurement"});
    c_.kind = SqlConnector::Kind::serve;
    if (const SqlOption* m = find("measurement")) c_.measurement = m->value;
  }

  std::string_view script_;
  const SqlCreateTable& table_;
  bool sink_;
  SqlCommand command_;
  SqlConnector c_;
};

}  // namespace

SqlConnector table_connector(std::string_view script, const SqlCreateTable& table, bool sink,
                             SqlCommand command) {
  return ConnectorReader(script, table, sink, command).read();
}

}  // namespace sluice::sql
