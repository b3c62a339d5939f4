// Parsing of the `sluice run` flags into RunOptions, its usage text and the query it builds.
#include "host/cli/run_options.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "host/cli/cli_options.hpp"
#include "host/sql/sql_plan.hpp"

namespace sluice::cli {
namespace {

/// The flags of `sluice run` alone: the input and the query, which a script gives `sluice sql`.
constexpr FlagSpec kQueryFlags[] = {
    {"--input"},     {"--schema"}, {"--time"},           {"--max-delay"},
    {"--where"},     {"--key"},    {"--window"},         {"--agg"},
    {"--broadcast"}, {"--types"},  {"--explain", false}, {"--having"},
};

/// The flags of `sluice sql` alone: where its script is.
constexpr FlagSpec kScriptFlags[] = {{"-e"}, {"-f"}};

/// The flags both take: lateness and trigger, the engine, the output, batching, checkpoints.
constexpr FlagSpec kSharedFlags[] = {
    {"--allowed-lateness"},
    {"--workers"},
    {"--partition"},
    {"--balance"},
    {"--backend"},
    {"--on-error"},
    {"--output"},
    {"--batch-rows"},
    {"--peer-timeout"},
    {"--trigger"},
    {"--state-memory-limit"},
    {"--batch-timeout"},
    {"--read-block"},
    {"--checkpoint-dir"},
    {"--checkpoint-every"},
    {"--format"},
    {"--time-format"},
    {"--updates"},
    {"--update-output"},
    {"--late-output"},
    {"--metrics-listen"},
    {"--kafka-sink"},
    {"--kafka-option"},
    {"--resume", false},
    {"--quiet", false},
    {"--verbose", false},
    {"--help", false},
};

template <std::size_t A, std::size_t B>
constexpr std::array<FlagSpec, A + B> joined(const FlagSpec (&a)[A], const FlagSpec (&b)[B]) {
  std::array<FlagSpec, A + B> all{};
  for (std::size_t i = 0; i < A; ++i) all[i] = a[i];
  for (std::size_t i = 0; i < B; ++i) all[A + i] = b[i];
  return all;
}

constexpr auto kRunFlags = joined(kQueryFlags, kSharedFlags);
constexpr auto kSqlFlags = joined(kScriptFlags, kSharedFlags);

detail::OnMalformed parse_on_error(std::string_view text) {
  if (text == "skip") return detail::OnMalformed::skip;
  if (text == "fail") return detail::OnMalformed::fail;
  throw bad_value("--on-error", text, "skip or fail");
}

OutputFormat parse_format(std::string_view text) {
  if (text == "csv") return OutputFormat::csv;
  if (text == "jsonl") return OutputFormat::jsonl;
  if (text == "table") return OutputFormat::table;
  throw bad_value("--format", text, "csv, jsonl or table");
}

TimeFormat parse_time_format(std::string_view text) {
  if (text == "epoch") return TimeFormat::epoch;
  if (text == "iso") return TimeFormat::iso;
  throw bad_value("--time-format", text, "epoch or iso");
}

/// --format, --time-format, --updates, --update-output and --late-output, checked against the
/// query (after parse_query_flags) and, when given, the schema.
void parse_output_flags(const Flags& flags, RunOptions& o) {
  if (flags.has("--kafka-sink")) {
    if (!kafka::available())
      throw UsageError(
          "--kafka-sink: this build has no Kafka client (librdkafka, Debian's librdkafka-dev, "
          "was not found when it was configured)");
    o.kafka_sink = parse_flag("--kafka-sink", flags.required("--kafka-sink"),
                              [](const auto& t) { return kafka::parse_endpoint(t); });
  }
  if (flags.has("--kafka-option")) {
    const std::string& text = flags.required("--kafka-option");
    for (const std::string& item : split_list("--kafka-option", text))
      o.kafka_options.push_back(parse_flag(
          "--kafka-option", item, [](const auto& t) { return kafka::parse_client_option(t); }));
  }
  // The windows go to Kafka alone unless an output is named too.
  o.output = flags.get("--output", o.kafka_sink ? "" : "-");
  o.style.format = parse_format(flags.get("--format", "csv"));
  o.style.time_format = parse_time_format(flags.get("--time-format", "epoch"));
  o.style.global_window = o.window.kind == WindowSpec::Kind::global;
  if (!o.infer_schema) check_schema(o);
  const std::string updates = flags.get("--updates", "column");
  if (updates == "column") {
    o.updates = UpdateRows::column;
  } else if (updates == "skip" || updates == "separate") {
    o.updates = UpdateRows::skip;
  } else {
    throw bad_value("--updates", updates, "column, skip or separate");
  }
  if (flags.has("--update-output")) o.update_output = flags.required("--update-output");
  if (updates == "separate" && o.update_output.empty())
    throw UsageError("--updates separate needs --update-output FILE (where the updates go)");
  if (updates != "separate" && !o.update_output.empty())
    throw UsageError("--update-output needs --updates separate");
  if (flags.has("--late-output")) o.late_output = flags.required("--late-output");
}

}  // namespace

void parse_query_flags(const Flags& flags, RunOptions& o) {
  if (flags.has("--schema")) {
    o.schema = parse_flag("--schema", flags.required("--schema"), parse_schema);
    if (flags.has("--types"))
      throw UsageError("--types overrides inferred types: it needs no --schema");
  } else {
    o.infer_schema = true;
    if (flags.has("--types")) {
      o.type_overrides = flags.required("--types");
      parse_flag("--types", o.type_overrides, parse_schema);  // checked now, applied later
    }
  }
  o.explain = flags.has("--explain");
  o.time_column = flags.required("--time");
  o.window = parse_flag("--window", flags.required("--window"), parse_window);
  o.trigger = parse_flag("--trigger", flags.get("--trigger", "watermark"), parse_trigger);
  o.aggregates = parse_flag("--agg", flags.required("--agg"), parse_aggregates);
  o.max_delay = parse_flag("--max-delay", flags.get("--max-delay", "0"), parse_duration);
  o.allowed_lateness =
      parse_flag("--allowed-lateness", flags.get("--allowed-lateness", "0"), parse_duration);
  if (flags.has("--where")) {
    o.where = parse_flag("--where", flags.required("--where"), parse_expression);
  }
  if (flags.has("--key")) o.keys = split_list("--key", flags.required("--key"));
  if (flags.has("--having"))
    o.having = parse_flag("--having", flags.required("--having"), parse_expression);
  if (flags.has("--broadcast")) o.broadcasts = parse_broadcast_files(flags.required("--broadcast"));
}

namespace {

void parse_engine_flags(const Flags& flags, EngineConfig& config) {
  config.backend = parse_backend(flags.get("--backend", "auto"));
  if (flags.has("--workers")) {
    config.workers =
        static_cast<int>(parse_integer("--workers", flags.required("--workers"), 0, 1024));
  }
  if (flags.has("--balance")) parse_balance(flags.required("--balance"), config);
  if (flags.has("--partition")) config.partition = parse_partition(flags.required("--partition"));
  if (flags.has("--batch-rows")) {
    config.batch_rows = static_cast<std::size_t>(parse_integer(
        "--batch-rows", flags.required("--batch-rows"), 1, std::numeric_limits<int>::max()));
  }
  if (flags.has("--state-memory-limit"))
    config.state_memory_limit =
        parse_bytes("--state-memory-limit", flags.required("--state-memory-limit"));
  if (flags.has("--peer-timeout")) {
    // Under an MPI launcher only; in one process there is no peer to wait for.
    const Duration timeout =
        parse_flag("--peer-timeout", flags.required("--peer-timeout"), parse_duration);
    if (Ranks::mpi_available() && Ranks::launched_by_mpi()) config.ranks = Ranks::mpi(timeout);
  }
}

}  // namespace

void parse_common_flags(const Flags& flags, RunOptions& o) {
  parse_output_flags(flags, o);
  parse_engine_flags(flags, o.engine);
  if (flags.has("--batch-timeout"))
    o.batch_timeout =
        parse_flag("--batch-timeout", flags.required("--batch-timeout"), parse_duration);
  if (flags.has("--read-block")) {
    o.read_block = parse_bytes("--read-block", flags.required("--read-block"));
    if (o.read_block == 0) throw bad_value("--read-block", "0", "a positive byte count");
  }
  if (flags.has("--checkpoint-dir")) o.checkpoint_dir = flags.required("--checkpoint-dir");
  o.checkpoint_every =
      parse_flag("--checkpoint-every", flags.get("--checkpoint-every", "10s"), parse_duration);
  o.resume = flags.has("--resume");
  if (flags.has("--metrics-listen")) {
    if (!obs::MetricsServer::available())
      throw UsageError(
          "--metrics-listen: this build has no HTTP server (cpp-httplib, Debian's "
          "libcpp-httplib-dev, was not found when it was configured)");
    try {
      o.metrics_listen = obs::parse_listen_address(flags.required("--metrics-listen"));
    } catch (const Error& e) {
      throw UsageError(std::string("--metrics-listen: ") + e.what());
    }
  }
  if (flags.has("--quiet") && flags.has("--verbose"))
    throw UsageError("--quiet and --verbose exclude each other");
  if (flags.has("--quiet")) o.verbosity = Verbosity::quiet;
  if (flags.has("--verbose")) o.verbosity = Verbosity::verbose;
  if (o.checkpoint_dir.empty() && (o.resume || flags.has("--checkpoint-every")))
    throw UsageError(std::string(o.resume ? "--resume" : "--checkpoint-every") +
                     " needs --checkpoint-dir DIR");
  if (!o.kafka_options.empty() && !o.kafka_sink && o.command != "serve")
    throw UsageError(o.command == "sql"
                         ? "--kafka-option needs --kafka-sink or INSERT INTO a 'kafka' table"
                         : "--kafka-option needs --kafka-sink");
  if (!o.checkpoint_dir.empty() && o.kafka_sink)
    throw UsageError(
        "--checkpoint-dir cannot be combined with --kafka-sink: a checkpoint records the "
        "position of a file output, and a topic cannot be cut back on --resume");
  if (!o.checkpoint_dir.empty()) {
    // A resumed run reads its input on from a byte offset and cuts its output back to what the
    // checkpoint committed: both must be files.
    if (o.input == "-")
      throw UsageError(
          "--checkpoint-dir needs --input FILE: stdin cannot be read again on "
          "--resume");
    if (o.output == "-")
      throw UsageError(
          "--checkpoint-dir needs --output FILE: what stdout received cannot be "
          "taken back on --resume");
    // A checkpoint records where one output stands.
    if (!o.late_output.empty() || !o.update_output.empty())
      throw UsageError(std::string("--checkpoint-dir cannot be combined with ") +
                       (o.late_output.empty() ? "--update-output" : "--late-output") +
                       ": a checkpoint records the position of --output alone");
  }
}

RunOptions parse_run_options(std::span<char* const> args) {
  const Flags flags(args, kRunFlags);
  RunOptions o;
  if (flags.has("--help")) {
    o.help = true;
    return o;
  }
  o.input = flags.required("--input");
  o.on_error = parse_on_error(flags.get("--on-error", "skip"));
  parse_query_flags(flags, o);
  parse_common_flags(flags, o);
  return o;
}

std::string read_script_file(std::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw UsageError(std::string(flag) + ": cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

sql::SqlPlan plan_script(std::string_view script, sql::SqlCommand command) {
  try {
    return sql::plan_sql(script, command);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

void apply_sql_plan(const sql::SqlPlan& plan, const Flags& flags, RunOptions& o) {
  o.input = plan.input;
  o.schema = plan.schema;
  o.schema_origin = "CREATE TABLE " + plan.table;
  o.time_column = plan.time_column;
  o.max_delay = plan.max_delay;
  o.window = plan.window;
  o.where = plan.where;
  o.keys = plan.keys;
  o.aggregates = plan.aggregates;
  o.having = plan.having;
  for (const sql::SqlOutput& out : plan.outputs) o.select.push_back({out.source, out.name});
  o.explain = plan.explain;
  o.on_error = flags.has("--on-error") ? parse_on_error(flags.required("--on-error"))
                                       : (plan.fail_on_malformed ? detail::OnMalformed::fail
                                                                 : detail::OnMalformed::skip);
  o.trigger = parse_flag("--trigger", flags.get("--trigger", "watermark"), parse_trigger);
  o.allowed_lateness =
      parse_flag("--allowed-lateness", flags.get("--allowed-lateness", "0"), parse_duration);
  const bool inserts = !plan.output.empty() || plan.output_kafka;
  const std::string sink_name = plan.output_kafka ? "a Kafka topic" : "'" + plan.output + "'";
  if (inserts && flags.has("--output"))
    throw UsageError("--output: the script's INSERT INTO names the output already (" + sink_name +
                     ")");
  if (plan.output_kafka && flags.has("--kafka-sink"))
    throw UsageError("--kafka-sink: the script's INSERT INTO names the output already (" +
                     sink_name + ")");
  if (plan.output_kafka) {
    if (!kafka::available())
      throw UsageError(
          "INSERT INTO a 'kafka' table: this build has no Kafka client (librdkafka, Debian's "
          "librdkafka-dev, was not found when it was configured)");
    try {
      o.kafka_sink =
          kafka::parse_endpoint(plan.output_kafka->brokers + "/" + plan.output_kafka->topic);
    } catch (const Error& e) {
      throw UsageError(std::string("INSERT INTO a 'kafka' table: ") + e.what());
    }
    o.kafka_sink_options = plan.output_kafka->properties;
  }
  parse_common_flags(flags, o);
  if (inserts) {
    if (plan.output_kafka) {
      o.output.clear();  // the windows go to Kafka alone
    } else {
      o.output = plan.output;
      if (!flags.has("--format"))
        o.style.format = plan.output_format == "json" ? OutputFormat::jsonl : OutputFormat::csv;
    }
    // The sink table's columns are the output's: an `update` column only where it has one.
    const bool updates_possible =
        o.allowed_lateness > Duration::zero() || o.trigger.kind != TriggerSpec::Kind::watermark;
    if (!flags.has("--updates") && !plan.sink_update_column) {
      if (updates_possible)
        throw UsageError(
            "the sink table has no last column `update BOOLEAN` to mark the windows that "
            "--allowed-lateness or --trigger re-emit: add one, or pass --updates skip or "
            "separate");
      o.updates = UpdateRows::skip;  // nothing is re-emitted: no row is left out
    }
  }
}

RunOptions parse_sql_options(std::span<char* const> args) {
  const Flags flags(args, kSqlFlags);
  RunOptions o;
  o.command = "sql";
  if (flags.has("--help")) {
    o.help = true;
    return o;
  }
  if (flags.has("-e") == flags.has("-f"))
    throw UsageError(flags.has("-e") ? "-e and -f exclude each other"
                                     : "give the query: -e 'SELECT ...' or -f FILE.sql");
  const std::string script =
      flags.has("-e") ? flags.required("-e") : read_script_file("-f", flags.required("-f"));
  apply_sql_plan(plan_script(script, sql::SqlCommand::sql), flags, o);
  return o;
}

Query make_query(const RunOptions& options, BatchSink sink,
                 const std::vector<Batch>& broadcast_rows) {
  Query query;
  for (std::size_t i = 0; i < options.broadcasts.size() && i < broadcast_rows.size(); ++i)
    query.broadcast(options.broadcasts[i].name, broadcast_rows[i].schema(),
                    options.broadcasts[i].key);
  if (options.where) query.filter(*options.where);
  if (!options.keys.empty()) query.key_by(options.keys);
  query.event_time(options.time_column, options.max_delay)
      .allowed_lateness(options.allowed_lateness)
      .window(options.window)
      .trigger(options.trigger)
      .aggregate(options.aggregates)
      .sink(std::move(sink));
  if (options.having) query.having(*options.having);
  return query;
}

void check_schema(const RunOptions& o) {
  if (o.style.time_format == TimeFormat::iso) {
    const auto at = o.schema.find(o.time_column);
    if (at && o.schema.field(*at).type.id != TypeId::timestamp)
      throw UsageError("--time-format iso needs a timestamp time column: '" + o.time_column +
                       "' is " + to_string(o.schema.field(*at).type));
  }
}

namespace {

void add_columns_of(const ExprNode& node, std::vector<std::string>& names) {
  if (node.op == ExprOp::column &&
      std::find(names.begin(), names.end(), node.column) == names.end())
    names.push_back(node.column);
  for (const auto& arg : node.args) add_columns_of(*arg, names);
}

}  // namespace

std::vector<std::string> columns_read(const RunOptions& o) {
  std::vector<std::string> names{o.time_column};
  for (const std::string& key : o.keys)
    if (std::find(names.begin(), names.end(), key) == names.end()) names.push_back(key);
  if (o.where) add_columns_of(o.where->node(), names);
  for (const AggregateSpec& spec : o.aggregates)
    if (spec.input) add_columns_of(spec.input->node(), names);
  if (o.trigger.condition) add_columns_of(o.trigger.condition->node(), names);
  // A broadcast key column of the events.
  for (const BroadcastFile& b : o.broadcasts)
    if (std::find(names.begin(), names.end(), b.key) == names.end()) names.push_back(b.key);
  return names;
}

std::vector<OutputColumn> output_columns(const RunOptions& options) {
  using Print = OutputColumn::Print;
  std::vector<OutputColumn> columns{{"window_start", Print::window_bound},
                                    {"window_end", Print::window_bound}};
  for (const std::string& key : options.keys) columns.push_back({key});
  for (const AggregateSpec& spec : options.aggregates) {
    // The engine keeps min, max, first and last of floats as f64: the value of an f32 column
    // is written as the f32 it is.
    bool f32 = false;
    if (spec.input && spec.input->node().op == ExprOp::column &&
        (spec.kind == AggKind::min || spec.kind == AggKind::max || spec.kind == AggKind::first ||
         spec.kind == AggKind::last)) {
      const auto at = options.schema.find(spec.input->node().column);
      f32 = at && options.schema.field(*at).type.id == TypeId::f32;
    }
    columns.push_back({spec.name, f32 ? Print::as_f32 : Print::value});
  }
  for (std::size_t c = 0; c < columns.size(); ++c) columns[c].source = c;
  if (options.select.empty()) return columns;
  std::vector<OutputColumn> selected;
  for (const SelectedColumn& s : options.select) {
    const auto it = std::find_if(columns.begin(), columns.end(),
                                 [&](const OutputColumn& c) { return c.name == s.source; });
    if (it == columns.end())
      throw UsageError("the query selects '" + s.source + "', which it does not compute");
    selected.push_back(*it);
    selected.back().name = s.name;
  }
  return selected;
}

const char* run_usage() {
  return R"usage(Usage: sluice run --input FILE.csv|- --time COLUMN --window WINDOW --agg AGGREGATES
                  [--schema SCHEMA] [options]

Runs a windowed aggregation over a CSV stream (with a header row) and writes one row per
fired (window, key): window_start,window_end,<keys>,<aggregates>,update. A summary goes to
stderr; on a terminal a progress line (rows read, rows/s, watermark, windows written, late,
malformed) is redrawn there a few times a second while the run goes on.

Required:
  --input FILE|-            CSV input; - reads stdin
  --time COLUMN             the event-time column (timestamp or integer)
  --window WINDOW           tumbling:10s, tumbling:10s@2s, sliding:10s/2s (size/slide),
                            cumulate:1m/10s (windows from each minute's start growing by
                            10 s: [0, 10s), [0, 20s), ... [0, 1m)) or global
  --agg AGGREGATES          e.g. "count,sum(cpu),min(cpu),max(cpu),avg(cpu)"; also
                            first(x) and last(x), by event time; "max(cpu) as peak" names
                            a result column (else it is named by its text)

Options:
  --schema SCHEMA           columns to read, e.g. "ts:timestamp[ms],host:string,cpu:f32,status:i32"
                            (types: i32 i64 u32 u64 f32 f64 bool string timestamp[ns|us|ms|s]).
                            A timestamp cell is a count of its unit (a fraction below the
                            unit is dropped), or RFC 3339 / ISO 8601: 2026-12-02T17:00:05Z,
                            2026-12-02 17:00:05.25+01:00, 2026-12-02 (no zone: UTC)
                            Without it the types are inferred from the header and up to
                            1000 first rows (bool, i64, f64, RFC 3339 timestamps, else string;
                            numbers in the --time column as timestamps in the unit their size
                            suggests: s, ms, us or ns since 1970), only the columns the query
                            uses are read, and --explain shows what was inferred
  --types COLUMN:TYPE[,...] without --schema: these columns' types instead of the inferred
  --explain                 print the schema (inferred or given), the columns read, the query
                            and the output columns, then exit without running
  --max-delay DURATION      watermark delay (max out-of-orderness), e.g. 2s (default 0)
  --where EXPRESSION        keep rows where it is true, e.g. "cpu > 50 and status == 200"
                            or "host like 'web-%'" (% any run, _ one character)
  --broadcast NAME=FILE:KEY[,...]
                            a table every worker sees, read before the input, e.g.
                            limits=limits.csv:region; expressions read its columns as
                            NAME.COLUMN, looked up by the events' column KEY (e.g.
                            --where "cpu > limits.max_cpu"). A key without a row reads null:
                            comparisons with it are not true. Column types are inferred
                            (i64, f64, bool, else string); the key takes the events' type
  --key COLUMNS             group by these columns, e.g. host or host,region
  --having EXPRESSION       keep the windows where it is true, over the result columns:
                            window_start, window_end, the keys and the aggregates by name,
                            e.g. --agg "count,avg(cpu) as a" --having "count > 10 and a > 50"
                            (a re-emitted window that no longer passes is not written again)
  --allowed-lateness DUR    late events within this update fired windows (default 0)
  --trigger T               watermark (default: each window once, when the watermark passes
                            its end); or also early, as update rows superseded by later
                            ones: every:5s (each open window every 5 s of wall time),
                            count:N (a window's key each time its count of events passes
                            a multiple of N) or 'on:EXPR' (a window's key when an event
                            makes EXPR true, e.g. 'on:status == 500'). Early rows come at
                            the end of a round of micro-batches, at most one per window,
                            key and round
  --workers N               workers (default 0: 1 on the CPU, one per GPU)
  --partition P             hash (default), key (first key value mod workers) or
                            range:B1,B2,... on the first key column
  --balance B               round-robin (default), random or weighted:W1,W2,...
  --backend B               auto (default), cpu or gpu
  --on-error E              malformed rows: skip (default; reported and counted) or fail
  --output FILE|-           the windows (default -: stdout)
  --format F                csv (default: a header, then a row per window and key), jsonl
                            (a JSON object per row) or table (each emission as an aligned
                            table). Numbers are the shortest text that reads back as the
                            same value of their type; the global window's bounds are empty
                            (JSON null)
  --time-format T           timestamps (window bounds, timestamp keys): epoch (default: the
                            count of the column's unit, as read) or iso (RFC 3339 in UTC,
                            e.g. 2026-12-02T17:00:05.250Z for ms)
  --updates U               update rows (a trigger's early rows, and re-emissions of windows
                            that late events within --allowed-lateness changed): column
                            (default: every row, with a last column 'update', true for those
                            and false for a window's on-time firing), skip (only on-time
                            rows) or separate (updates to --update-output FILE, on-time rows
                            to --output)
  --late-output FILE        write the late events (older than their windows' end plus the
                            allowed lateness) there, with the columns the query reads, in
                            --format (default: counted only; across ranks name it with
                            {rank}; not with --checkpoint-dir)
  --batch-rows N            rows per batch (default 1048576)
  --state-memory-limit B    fail (exit 1, naming the sizes) when the window state and the
                            string dictionary together hold more than B bytes; suffixes
                            k, m, g (default 0: no limit). Strings no live window holds are
                            reclaimed as the input goes, so churning keys stay within it
  --batch-timeout DURATION  seal a partial batch once its oldest row has waited this long
                            (default 100ms for live input: stdin from a pipe or a terminal, a
                            FIFO; 0 for files, whose batches are then cut by rows only, so
                            that a run's output does not depend on its timing; 1s for files
                            under mpirun, where a rank between blocks sends empty rounds that
                            often). Live input is pushed as it arrives and each
                            emission is flushed: a window is written within about this long
                            (plus --max-delay of event time) of the event that closes it
  --read-block B            CSV input read and parsed at once, split among threads
                            (default 16m; suffixes k, m, g); checkpoints come between blocks
  --checkpoint-dir DIR      write checkpoints of the job's state to DIR (created if absent):
                            a crash or kill then loses nothing with --resume; needs --input
                            FILE and --output FILE
  --checkpoint-every DUR    how often, at the end of a read block (default 10s; 0: after
                            every block)
  --resume                  start from the newest complete checkpoint in --checkpoint-dir
                            (none: from the beginning): the input is read on from where it
                            stood, the output cut back to what it had committed, so the output
                            ends as an uninterrupted run's would, row for row
  --metrics-listen ADDR     serve Prometheus metrics at http://ADDR/metrics while the job
                            runs: HOST:PORT, or PORT alone on 127.0.0.1 (0: a free port,
                            named on stderr); under mpirun rank r listens on PORT + r. Counters
                            (events in, filtered, late, malformed, batches, windows fired,
                            input bytes), gauges (watermark and its lag, state entries and
                            bytes) and histograms (round duration, emission latency)
  --kafka-sink B/T          also send every window row to Kafka topic T of the brokers B
                            (HOST:PORT,...): the row as JSON (as --format jsonl), keyed by a
                            JSON object of its key columns; without --output, to Kafka alone;
                            not with --checkpoint-dir. Reading Kafka: sluice serve
                            --kafka-source
  --kafka-option K=V,...    librdkafka properties of the sink (security.protocol, sasl.*, ...)
  --peer-timeout DURATION   under mpirun: a rank silent for this long is named and ends the
                            job (default 20s; 0: wait for ever)
  --quiet                   no summary, progress or notes on stderr (errors and malformed
                            rows are still reported)
  --verbose                 also the setup (backend, input, batching) and each checkpoint,
                            and more counters in the summary
  -h, --help                show this help

Under mpirun every rank runs the job: {rank} in --input names a file per rank (otherwise the
ranks split one file on line boundaries; - : rank 0 reads stdin); rank 0 writes every window,
or each rank its own with {rank} in --output.

SIGINT or SIGTERM stops the run cleanly: the input read so far is processed, the windows the
watermark has passed are written (with --checkpoint-dir a checkpoint keeps the rest for
--resume) and the output is flushed; a second one kills at once.

Exit status: 0 ok, 1 runtime error (input, engine, --on-error fail), 2 usage error, 130 or 143
stopped by SIGINT or SIGTERM.
)usage";
}

const char* sql_usage() {
  return R"usage(Usage: sluice sql -e 'SCRIPT' | -f FILE.sql [options]

Runs a SQL script in Flink's streaming shapes: CREATE TABLE statements, then one query. It
runs as `sluice run` would with the equivalent flags (the same query, the same output).

  CREATE TABLE events (
    ts     TIMESTAMP(3),
    host   STRING,
    cpu    FLOAT,
    status INT,
    WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
  ) WITH ('connector' = 'csv', 'path' = 'events.csv');

  SELECT window_start, window_end, host, COUNT(*) AS n, AVG(cpu) AS avg_cpu
  FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  WHERE status = 200 AND host IN ('web-1', 'web-2')
  GROUP BY window_start, window_end, host
  HAVING COUNT(*) > 10;

Tables: columns TIMESTAMP(p) (p = 0, 3, 6 or 9 fraction digits: s, ms, us, ns; cells are a
  count of that unit or RFC 3339 text), BIGINT, INT, FLOAT, DOUBLE, BOOLEAN, STRING (VARCHAR);
  the CSV has a header and its columns are matched by name. WATERMARK FOR col AS col [-
  INTERVAL 'n' unit] names the event time and its delay (units: MILLISECOND, SECOND, MINUTE,
  HOUR, DAY). WITH: 'connector' = 'csv' (or 'filesystem' with 'format' = 'csv'), 'path' =
  FILE or '-' (stdin), optionally 'csv.ignore-parse-errors' = 'true'|'false' (default
  true, as sluice run: malformed rows are reported and skipped; false fails the run on one,
  as Flink's default does, like --on-error fail).
Windows: FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])), HOP(TABLE t,
  DESCRIPTOR(ts), slide, size [, offset]) or CUMULATE(TABLE t, DESCRIPTOR(ts), step, size
  [, offset]) (windows from each period's start growing by the step up to the size); GROUP BY
  window_start, window_end and any columns.
  FROM t without a window function is one global window, written at the end of the input.
Select items: window_start, window_end, GROUP BY columns and the aggregates COUNT(*),
  COUNT(x), SUM, MIN, MAX, AVG, FIRST_VALUE, LAST_VALUE (by event time), each with an
  optional alias (AS name), in any order.
Conditions (WHERE over rows, HAVING over windows: aggregates, aliases, GROUP BY columns):
  = <> < <= > >= AND OR NOT, IN (...), [NOT] BETWEEN a AND b, + - * /, parentheses,
  numbers, 'strings', TRUE, FALSE; WHERE also [NOT] LIKE 'pattern' (% any run, _ one
  character). Strings and booleans compare by = and <> only. '/' divides as floats, so it
  needs a float operand (x / 100.0: Flink would truncate 7 / 2 to 3). AVG is a DOUBLE
  (as in DuckDB; Flink's AVG of an INT column is an INT).
INSERT INTO sink SELECT ... writes to the sink table's 'path' (its 'format' 'csv' or 'json',
  its column names), or to a Kafka topic: WITH ('connector' = 'kafka', 'topic' = 'T',
  'properties.bootstrap.servers' = 'HOST:PORT' [, 'format' = 'json'] [, 'properties.KEY' =
  'VALUE' for librdkafka]), one JSON message per window row keyed by its GROUP BY columns;
  otherwise the windows go to --output. (Source tables of 'connector' = 'kafka' or 'serve'
  are read by sluice serve --sql FILE.) EXPLAIN SELECT ... prints the
  plan (schema, columns read, the query and its output) and exits.

An error names the line and column, shows the line and points at the place.

Options: as for `sluice run` (see sluice run --help), except those the script replaces
(--input, --schema, --time, --max-delay, --window, --key, --where, --agg, --having,
--types, --broadcast, --explain):
  -e SCRIPT                 the script's text
  -f FILE                   read the script from FILE
  --output FILE|-  --format csv|jsonl|table  --time-format epoch|iso  --updates U
  --update-output FILE  --late-output FILE  --allowed-lateness DUR  --trigger T
  --workers N  --partition P  --balance B  --backend B  --on-error E  --batch-rows N
  --batch-timeout DUR  --read-block B  --state-memory-limit B  --checkpoint-dir DIR
  --checkpoint-every DUR  --resume  --metrics-listen ADDR  --kafka-sink B/T
  --kafka-option K=V,...  --peer-timeout DUR  --quiet  --verbose
  -h, --help                show this help

Exit status: 0 ok, 1 runtime error, 2 usage error (a flag or the script), 130 or 143
stopped by SIGINT or SIGTERM.
)usage";
}

}  // namespace sluice::cli
