// SqlConnector: what a table's WITH options say about where its rows come from or go to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::sql {

struct SqlCreateTable;

/// @brief The command a script runs under, which decides the tables it can read.
enum class SqlCommand : std::uint8_t {
  sql,    ///< `sluice sql`: files ('csv', 'filesystem')
  serve,  ///< `sluice serve --sql`: what clients write ('serve') or a Kafka topic ('kafka')
};

/// @brief A Kafka topic and its client's settings ('connector' = 'kafka').
struct SqlKafkaTable {
  std::string brokers;  ///< 'properties.bootstrap.servers'
  std::string topic;    ///< 'topic'
  std::string group;    ///< 'properties.group.id' (a source; empty: the command's default)
  /// 'format' (or 'value.format'): a source's "json", "csv" or "line"; a sink's "json".
  std::string format = "json";
  /// The other 'properties.KEY' = 'VALUE', as librdkafka's KEY = VALUE, in order.
  std::vector<std::pair<std::string, std::string>> properties;
};

/// @brief Where a table's rows come from (a source) or go to (a sink).
struct SqlConnector {
  enum class Kind : std::uint8_t {
    file,   ///< 'csv', or 'filesystem' with a 'format'
    kafka,  ///< 'kafka'
    serve,  ///< 'serve': what clients write to `sluice serve` (a source only)
  };
  Kind kind = Kind::file;
  std::string path;                         ///< file: 'path' ('-': stdin)
  std::string format = "csv";               ///< file: 'format' ("csv"; a sink also "json")
  std::optional<bool> ignore_parse_errors;  ///< file: 'csv.ignore-parse-errors'
  std::string measurement;  ///< serve, or a Kafka source of line protocol: 'measurement'
  SqlKafkaTable kafka;      ///< kafka
};

/// @brief Reads the WITH options of `table`, a source (`sink` false) or a sink of a script that
/// `command` runs.
/// @throws Error(parse_error) naming the line and column of the option at fault: an unknown
/// connector or option, a missing one, or a connector `command` cannot read or write.
SqlConnector table_connector(std::string_view script, const SqlCreateTable& table, bool sink,
                             SqlCommand command);

}  // namespace sluice::sql
