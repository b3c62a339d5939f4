// SqlPlan: a SQL script checked against its tables and turned into the parts of a Query.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/sql/sql_connector.hpp"
#include "sluice/aggregate.hpp"
#include "sluice/duration.hpp"
#include "sluice/expr.hpp"
#include "sluice/schema.hpp"
#include "sluice/window.hpp"

namespace sluice::sql {

/// @brief One output column: the result column it shows (window_start, window_end, a key or an
/// aggregate's result name) and the name it goes by.
struct SqlOutput {
  std::string source;
  std::string name;
};

/// @brief What a script's query asks for, in the engine's terms: the same parts `sluice run`
/// takes from its flags.
struct SqlPlan {
  std::string table;  ///< the table the query reads
  /// Its connector: a file (`input`), a Kafka topic or what clients write to `sluice serve`.
  SqlConnector::Kind input_kind = SqlConnector::Kind::file;
  std::string input;               ///< a file table's 'path' ('-': stdin)
  bool fail_on_malformed = false;  ///< 'csv.ignore-parse-errors' = 'false'
  SqlKafkaTable input_kafka;       ///< a Kafka table's topic and settings
  std::string measurement;         ///< 'measurement' of a 'serve' or line-protocol table
  /// The event time is the Kafka message's timestamp: the WATERMARK column is
  /// `METADATA FROM 'timestamp'`.
  bool message_time = false;
  Schema schema;            ///< its columns
  std::string time_column;  ///< its WATERMARK column
  Duration max_delay{0};    ///< its WATERMARK delay
  WindowSpec window;
  std::optional<Expr> where;
  std::vector<std::string> keys;  ///< GROUP BY columns besides the window bounds
  /// The aggregates of the SELECT list, then those only HAVING names (not output).
  std::vector<AggregateSpec> aggregates;
  std::optional<Expr> having;  ///< over the result columns
  std::vector<SqlOutput> outputs;
  std::string output;         ///< INSERT INTO a file table: its 'path' (empty: none)
  std::string output_format;  ///< INSERT INTO a file table: its 'format' ("csv" or "json")
  std::optional<SqlKafkaTable> output_kafka;  ///< INSERT INTO a Kafka table
  /// INSERT INTO: the sink table ends with a BOOLEAN column `update` (after the selected
  /// ones), which marks re-emitted windows.
  bool sink_update_column = false;
  bool explain = false;  ///< EXPLAIN
};

/// @brief Parses and checks a script: CREATE TABLE statements and one query (SELECT, EXPLAIN
/// SELECT or INSERT INTO t SELECT), whose tables `command` must be able to read and write.
/// @throws Error(parse_error | unknown_column | type_mismatch | invalid_argument) whose message
/// names line and column and shows the line with a caret.
SqlPlan plan_sql(std::string_view script, SqlCommand command = SqlCommand::sql);

}  // namespace sluice::sql
