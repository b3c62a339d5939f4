// RunOptions: the flags of `sluice run`, parsed into engine configuration and query parts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/cli/broadcast_file.hpp"
#include "host/cli/result_writer.hpp"
#include "host/io/csv_reader.hpp"
#include "host/kafka/kafka_client.hpp"
#include "host/observability/metrics_server.hpp"
#include "host/sql/sql_plan.hpp"
#include "sluice/aggregate.hpp"
#include "sluice/duration.hpp"
#include "sluice/engine.hpp"
#include "sluice/expr.hpp"
#include "sluice/query.hpp"
#include "sluice/schema.hpp"
#include "sluice/window.hpp"

namespace sluice::cli {

/// @brief What a run says on stderr besides errors and malformed rows.
enum class Verbosity : std::uint8_t {
  quiet,    ///< nothing
  normal,   ///< the closing summary; progress on a terminal
  verbose,  ///< also the setup, each checkpoint, and more counters in the summary
};

/// @brief One output column of a query that chooses them (SQL's SELECT list): the result
/// column it shows and its name in the output.
struct SelectedColumn {
  std::string source;
  std::string name;
};

/// @brief Everything `sluice run` was asked to do; each field is one flag (`sluice sql` fills
/// the query's fields from its script).
struct RunOptions {
  std::string command = "run";              ///< the subcommand, for messages: run or sql
  std::string input;                        ///< --input: a CSV file, or "-" for stdin
  std::string output = "-";                 ///< --output: a file, or "-" for stdout
  OutputStyle style;                        ///< --format, --time-format (global_window: --window)
  UpdateRows updates = UpdateRows::column;  ///< --updates (separate: skip, and update_output)
  std::string update_output;                ///< --update-output (--updates separate)
  std::string late_output;                  ///< --late-output (empty: late rows are counted)
  Schema schema;                            ///< --schema (empty until inferred without it)
  std::string schema_origin = "--schema";   ///< what gave the schema (sql: its CREATE TABLE)
  bool infer_schema = false;                ///< no --schema: infer it from the input
  std::string type_overrides;               ///< --types (with infer_schema)
  bool explain = false;                     ///< --explain
  std::string time_column;                  ///< --time
  Duration max_delay{0};                    ///< --max-delay: the watermark's max out-of-orderness
  Duration allowed_lateness{0};             ///< --allowed-lateness
  std::optional<Expr> where;                ///< --where
  std::vector<std::string> keys;            ///< --key
  WindowSpec window;                        ///< --window
  TriggerSpec trigger;                      ///< --trigger
  std::vector<AggregateSpec> aggregates;    ///< --agg (sql: also those HAVING alone names)
  std::optional<Expr> having;               ///< --having (sql: HAVING), over the result columns
  /// sql: the output columns (result column, name), in order; empty: every result column.
  std::vector<SelectedColumn> select;
  std::vector<BroadcastFile> broadcasts;                     ///< --broadcast
  detail::OnMalformed on_error = detail::OnMalformed::skip;  ///< --on-error
  std::optional<Duration> batch_timeout;                 ///< --batch-timeout (default: per input)
  std::size_t read_block = std::size_t{16} << 20;        ///< --read-block
  std::string checkpoint_dir;                            ///< --checkpoint-dir (empty: none)
  Duration checkpoint_every = std::chrono::seconds(10);  ///< --checkpoint-every
  bool resume = false;                                   ///< --resume
  std::optional<obs::ListenAddress> metrics_listen;      ///< --metrics-listen
  std::optional<kafka::Endpoint> kafka_sink;  ///< --kafka-sink: every window row as a message
  kafka::ClientOptions kafka_options;         ///< --kafka-option: librdkafka properties
  /// sql: the Kafka sink table's 'properties.*' (before kafka_options, which win).
  kafka::ClientOptions kafka_sink_options;
  EngineConfig engine;  ///< --workers, --partition, --balance, --backend, --batch-rows
  Verbosity verbosity = Verbosity::normal;  ///< --quiet, --verbose
  bool help = false;                        ///< --help
};

class Flags;

/// @brief The query's flags (--schema or --types, --time, --window, --agg, --max-delay,
/// --allowed-lateness, --trigger, --where, --key, --having, --broadcast, --explain) into `o`.
/// @throws UsageError naming the flag at fault.
void parse_query_flags(const Flags& flags, RunOptions& o);
/// @brief The flags `run` and `sql` share, once the query's parts are known: output, engine,
/// batching, checkpoints, metrics, verbosity (a flag not in `flags`' specs is never given).
/// @throws UsageError naming the flag at fault.
void parse_common_flags(const Flags& flags, RunOptions& o);

/// @brief Parses the arguments that follow "run".
/// @throws UsageError naming the flag at fault.
RunOptions parse_run_options(std::span<char* const> args);

/// @brief The arguments that follow "sql": -e QUERY or -f FILE.sql, and the flags of
/// `sluice run` that the script does not replace (output, engine, batching, checkpoints).
/// The script's tables and query fill the rest.
/// @throws UsageError naming the flag at fault, or the script's line and column.
RunOptions parse_sql_options(std::span<char* const> args);

/// @brief The text of the script file `path`. @throws UsageError naming `flag` if unreadable.
std::string read_script_file(std::string_view flag, const std::string& path);

/// @brief sql::plan_sql(script, command). @throws UsageError with its message.
sql::SqlPlan plan_script(std::string_view script, sql::SqlCommand command);

/// @brief Fills `o` from a planned script: the query, its input file, its output (INSERT INTO a
/// file or Kafka table), and from `flags` what the script leaves to them (--on-error,
/// --trigger, --allowed-lateness, then parse_common_flags).
/// @throws UsageError for a flag that contradicts the script, or one at fault.
void apply_sql_plan(const sql::SqlPlan& plan, const Flags& flags, RunOptions& o);

/// @brief The query the options describe, with `sink` receiving the windows; broadcast input i
/// (options.broadcasts[i]) has the schema of broadcast_rows[i].
Query make_query(const RunOptions& options, BatchSink sink,
                 const std::vector<Batch>& broadcast_rows = {});

/// @brief Checks what depends on the schema (--time-format iso needs a timestamp time column).
/// @throws UsageError.
void check_schema(const RunOptions& options);

/// @brief The input columns the query reads: the time column, the keys, every column the
/// expressions (--where, --agg inputs, an on: trigger) name, broadcast keys; in that order.
std::vector<std::string> columns_read(const RunOptions& options);

/// @brief How the output writes each result column: the window bounds, the keys, then the
/// aggregates (min, max, first and last of an f32 column as f32).
std::vector<OutputColumn> output_columns(const RunOptions& options);

/// @brief The text of `sluice run --help`.
const char* run_usage();
/// @brief The text of `sluice sql --help`.
const char* sql_usage();

/// @brief Prints the plan --explain shows (schema, columns read, query, output) of options whose
/// schema is known, reading `input` (live).
void print_plan(const RunOptions& options, const std::string& input);

/// @brief Runs the job the options describe (both subcommands end here).
/// @return the exit status. @throws UsageError or Error.
int execute_run(RunOptions options);

}  // namespace sluice::cli
