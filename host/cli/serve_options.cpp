// Parsing of the `sluice serve` flags into ServeOptions, and its usage text.
#include "host/cli/serve_options.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <vector>

#include "host/cli/cli_options.hpp"
#include "host/server/http_ingest_server.hpp"
#include "host/sql/sql_plan.hpp"

namespace sluice::cli {
namespace {

/// The flags of `sluice serve`: the query's, the engine's and the outputs' as `run` takes them
/// (not its input, checkpoints or --metrics-listen: /metrics is served with the writes), and
/// where and how it listens.
constexpr FlagSpec kServeFlags[] = {
    {"--sql"},
    {"--schema"},
    {"--types"},
    {"--time"},
    {"--max-delay"},
    {"--where"},
    {"--key"},
    {"--window"},
    {"--agg"},
    {"--broadcast"},
    {"--having"},
    {"--allowed-lateness"},
    {"--trigger"},
    {"--workers"},
    {"--partition"},
    {"--balance"},
    {"--backend"},
    {"--output"},
    {"--batch-rows"},
    {"--state-memory-limit"},
    {"--batch-timeout"},
    {"--format"},
    {"--time-format"},
    {"--updates"},
    {"--update-output"},
    {"--late-output"},
    {"--listen"},
    {"--tcp-listen"},
    {"--measurement"},
    {"--precision"},
    {"--max-body"},
    {"--max-line"},
    {"--max-connections"},
    {"--http-threads"},
    {"--windows-kept"},
    {"--source-idle-timeout"},
    {"--kafka-source"},
    {"--kafka-group"},
    {"--kafka-format"},
    {"--kafka-time"},
    {"--kafka-until-end", false},
    {"--kafka-commit-interval"},
    {"--kafka-sink"},
    {"--kafka-option"},
    {"--quiet", false},
    {"--verbose", false},
    {"--help", false},
};

/// The flags a script given by --sql replaces: its source table's columns, WITH options and
/// WATERMARK, and its query.
constexpr const char* kScriptedFlags[] = {
    "--schema",       "--types",       "--time",         "--max-delay",  "--where",
    "--key",          "--window",      "--agg",          "--broadcast",  "--having",
    "--kafka-source", "--kafka-group", "--kafka-format", "--kafka-time", "--measurement",
};

obs::ListenAddress listen_flag(const Flags& flags, std::string_view flag) {
  try {
    return obs::parse_listen_address(flags.required(flag));
  } catch (const Error& e) {
    throw UsageError(std::string(flag) + ": " + e.what());
  }
}

void parse_kafka_read_flags(const Flags& flags, kafka::KafkaSourceSettings& k);

/// --kafka-source and the flags that only it takes.
void parse_kafka_source_flags(const Flags& flags, ServeOptions& o) {
  if (!flags.has("--kafka-source")) {
    for (const char* flag : {"--kafka-group", "--kafka-format", "--kafka-time", "--kafka-until-end",
                             "--kafka-commit-interval"})
      if (flags.has(flag)) throw UsageError(std::string(flag) + " needs --kafka-source");
    return;
  }
  if (!kafka::available())
    throw UsageError(
        "--kafka-source: this build has no Kafka client (librdkafka, Debian's librdkafka-dev, "
        "was not found when it was configured)");
  kafka::KafkaSourceSettings& k = o.kafka_source.emplace();
  k.from = parse_flag("--kafka-source", flags.required("--kafka-source"),
                      [](const auto& t) { return kafka::parse_endpoint(t); });
  k.group = flags.get("--kafka-group", "sluice");
  if (k.group.empty()) throw bad_value("--kafka-group", "", "a consumer group name");
  k.format = parse_flag("--kafka-format", flags.get("--kafka-format", "json"),
                        [](const auto& t) { return kafka::parse_value_format(t); });
  const std::string time = flags.get("--kafka-time", "field");
  if (time != "field" && time != "message")
    throw bad_value("--kafka-time", time, "field or message");
  k.message_time = time == "message";
  if (k.message_time && k.format == kafka::ValueFormat::csv)
    throw UsageError(
        "--kafka-time message needs --kafka-format json or line: CSV values carry their time "
        "column");
  parse_kafka_read_flags(flags, k);
}

/// The Kafka source of a script's 'kafka' table, read with --kafka-until-end and
/// --kafka-commit-interval.
void kafka_source_of_table(const sql::SqlPlan& plan, const Flags& flags, ServeOptions& o) {
  if (plan.input_kind != sql::SqlConnector::Kind::kafka) {
    for (const char* flag : {"--kafka-until-end", "--kafka-commit-interval"})
      if (flags.has(flag))
        throw UsageError(std::string(flag) + " needs a 'kafka' source table (table '" + plan.table +
                         "' is read from the HTTP and TCP clients)");
    return;
  }
  if (!kafka::available())
    throw UsageError("table '" + plan.table +
                     "' is a 'kafka' table: this build has no Kafka client (librdkafka, Debian's "
                     "librdkafka-dev, was not found when it was configured)");
  kafka::KafkaSourceSettings& k = o.kafka_source.emplace();
  const sql::SqlKafkaTable& table = plan.input_kafka;
  try {
    k.from = kafka::parse_endpoint(table.brokers + "/" + table.topic);
    k.format = kafka::parse_value_format(table.format);
  } catch (const Error& e) {
    throw UsageError("table '" + plan.table + "': " + e.what());
  }
  if (!table.group.empty()) k.group = table.group;
  k.message_time = plan.message_time;
  k.options = table.properties;  // --kafka-option's come after them, and win
  parse_kafka_read_flags(flags, k);
}

/// --kafka-until-end and --kafka-commit-interval into `k`.
void parse_kafka_read_flags(const Flags& flags, kafka::KafkaSourceSettings& k) {
  k.until_end = flags.has("--kafka-until-end");
  if (flags.has("--kafka-commit-interval")) {
    k.commit_interval = parse_flag("--kafka-commit-interval",
                                   flags.required("--kafka-commit-interval"), parse_duration);
    if (k.commit_interval <= Duration::zero())
      throw bad_value("--kafka-commit-interval", flags.required("--kafka-commit-interval"),
                      "a positive duration");
  }
}

}  // namespace

ServeOptions parse_serve_options(std::span<char* const> args) {
  const Flags flags(args, kServeFlags);
  ServeOptions o;
  RunOptions& run = o.run;
  run.command = "serve";
  if (flags.has("--help")) {
    run.help = true;
    return o;
  }
  std::optional<sql::SqlPlan> plan;
  if (flags.has("--sql")) {
    for (const char* flag : kScriptedFlags)
      if (flags.has(flag))
        throw UsageError(std::string(flag) +
                         ": the script of --sql says it (its source table's columns, WITH "
                         "options and WATERMARK, and its query)");
    plan = plan_script(read_script_file("--sql", flags.required("--sql")), sql::SqlCommand::serve);
    apply_sql_plan(*plan, flags, run);
  } else {
    parse_query_flags(flags, run);
    if (run.infer_schema && flags.has("--kafka-source"))
      throw UsageError(
          "--kafka-source needs --schema (or --sql FILE): the types are inferred from the first "
          "HTTP or TCP write only");
    if (run.infer_schema && !run.broadcasts.empty())
      throw UsageError("--broadcast needs --schema (or --sql FILE): its file is read first");
    if (run.infer_schema && !run.type_overrides.empty()) {
      // Only the columns the query reads are typed: a type for another is a mistake.
      const std::vector<std::string> read = columns_read(run);
      const Schema given = parse_schema(run.type_overrides);
      for (std::size_t c = 0; c < given.size(); ++c)
        if (std::find(read.begin(), read.end(), given.field(c).name) == read.end()) {
          std::string names;
          for (const std::string& name : read) names += (names.empty() ? "" : ", ") + name;
          throw UsageError("--types: the query does not read column '" + given.field(c).name +
                           "' (it reads " + names + ")");
        }
    }
    parse_common_flags(flags, run);
  }
  if (flags.has("--listen")) {
    if (flags.required("--listen") == "off") {
      o.http.reset();
    } else {
      o.http = listen_flag(flags, "--listen");
    }
  }
  if (o.http && !server::HttpIngestServer::available())
    throw UsageError(
        "this build has no HTTP server (cpp-httplib, Debian's libcpp-httplib-dev, was not found "
        "when it was configured): use --listen off with --tcp-listen ADDR");
  if (flags.has("--tcp-listen")) o.tcp = listen_flag(flags, "--tcp-listen");
  if (plan) {
    kafka_source_of_table(*plan, flags, o);
    o.measurement = plan->measurement;
  } else {
    parse_kafka_source_flags(flags, o);
  }
  if (!run.kafka_options.empty() && !o.kafka_source && !run.kafka_sink)
    throw UsageError("--kafka-option needs --kafka-source or --kafka-sink");
  if (!o.http && !o.tcp && !o.kafka_source)
    throw UsageError(
        "--listen off needs --tcp-listen ADDR or --kafka-source BROKERS/TOPIC: nothing to serve");
  if (flags.has("--measurement")) o.measurement = flags.required("--measurement");
  if (flags.has("--precision")) {
    try {
      o.tcp_tick_ns = server::precision_tick_ns(flags.required("--precision"), true);
    } catch (const Error& e) {
      throw UsageError(std::string("--precision: ") + e.what());
    }
  }
  constexpr auto kIntMax = std::numeric_limits<int>::max();
  if (flags.has("--max-body"))
    o.max_body_bytes = parse_bytes("--max-body", flags.required("--max-body"));
  if (flags.has("--max-line"))
    o.max_line_bytes = parse_bytes("--max-line", flags.required("--max-line"));
  if (o.max_body_bytes == 0 || o.max_line_bytes == 0)
    throw UsageError(std::string(o.max_body_bytes == 0 ? "--max-body" : "--max-line") +
                     ": a positive byte count is needed");
  if (flags.has("--max-connections"))
    o.max_connections = static_cast<int>(
        parse_integer("--max-connections", flags.required("--max-connections"), 1, 65536));
  if (flags.has("--http-threads"))
    o.http_threads = static_cast<int>(
        parse_integer("--http-threads", flags.required("--http-threads"), 1, 1024));
  if (flags.has("--windows-kept"))
    o.windows_kept = static_cast<std::size_t>(
        parse_integer("--windows-kept", flags.required("--windows-kept"), 0, kIntMax));
  if (flags.has("--source-idle-timeout")) {
    o.source_idle_timeout = parse_flag("--source-idle-timeout",
                                       flags.required("--source-idle-timeout"), parse_duration);
    if (o.source_idle_timeout < Duration::zero())
      throw bad_value("--source-idle-timeout", flags.required("--source-idle-timeout"),
                      "a duration, 0 for never");
  }
  return o;
}

const char* serve_usage() {
  return R"usage(Usage: sluice serve [--schema SCHEMA] --time COLUMN --window WINDOW --agg AGGREGATES
                    [--listen ADDR] [--tcp-listen ADDR] [--kafka-source B/T] [options]
       sluice serve --sql FILE [--listen ADDR] [--tcp-listen ADDR] [options]

Runs a windowed aggregation over what clients send, until SIGINT or SIGTERM, and writes one
row per fired (window, key) as `sluice run` does. Clients write InfluxDB line protocol (as
Telegraf's outputs.influxdb_v2 or an InfluxDB client library sends it) or JSON lines, over
HTTP or plain TCP:

  POST /api/v2/write?bucket=B&precision=ns|us|ms|s    InfluxDB v2 write (bucket is ignored)
  POST /write?db=D&precision=n|u|ms|s|m|h             InfluxDB v1 write (db is ignored)
  POST /ingest                                        JSON lines: {"ts": ..., "host": ...}
  GET  /windows[?limit=N]                             the latest fired windows, JSON array
  GET  /metrics                                       Prometheus text format
  GET  /health, GET /ping                             readiness (InfluxDB v2, v1)

A line protocol point `cpu,host=a,region=eu usage=0.5,status=200i 1764694805000000000` maps
onto the schema by name: each schema column takes the tag or field of its name (tags read as
the column's type), the --time column takes the timestamp in the request's precision (a point
without one takes the time it arrived). A JSON object's keys name the columns; the time column
is a number in its unit or RFC 3339 text. Bodies may be gzip (Content-Encoding: gzip). A write
is answered 204 once its rows are in the job; 400 names the rejected lines (the others are
kept, as InfluxDB does for a partial write); 413 a body over --max-body. Rejected lines are
counted as malformed. A job that is behind answers later: clients slow down instead of the
server's memory growing. There is no authentication: listen on loopback (the default) or
behind a proxy that has it.

On a TCP connection (--tcp-listen) each line is a point: JSON lines if the first byte that is
not blank is '{', line protocol otherwise; timestamps in --precision. Rejected lines are
reported on stderr with the peer and the line number.

With --kafka-source BROKERS/TOPIC, Sluice also joins a Kafka consumer group on TOPIC (each
message value one or more JSON lines, CSV records in schema order without a header, or line
protocol points). Each partition is a source of the watermark of its own, so disorder between
partitions costs nothing. Offsets are committed (every --kafka-commit-interval) only once every
window that the messages before them feed has been written, and acknowledged by Kafka where the
windows go there: after a crash, the group reads again what had not reached the output. With
--kafka-until-end the server ends once every partition is read to its end, firing every window.

With --kafka-sink BROKERS/TOPIC each fired (window, key) row is sent as one message: the row
as a JSON object (as --format jsonl writes it), keyed by a JSON object of its key columns. The
windows go to Kafka alone unless --output is given too.

Without --schema the first write that gives every column the query reads fixes their types,
as InfluxDB types a measurement's fields: a tag is a string, a float field f64, an integer
(5i) or unsigned (5u) field i64, a boolean bool, a string field a string, and the time column
timestamp[ns]; in JSON lines true/false are bool, a number without fraction or exponent i64,
another number f64, a string a string, and the time column a timestamp in the unit its value
suggests (RFC 3339 text by its fraction digits, a number by its size). Writes before it are
rejected (400, naming the column none of their lines gave); --types NAME:TYPE,... fixes the
types it names. Only the columns the query reads are typed and kept. (--kafka-source and
--broadcast need --schema.)

With --sql FILE a script gives the query, as for `sluice sql`: its source table is what
clients write, WITH ('connector' = 'serve' [, 'measurement' = 'cpu']), or a Kafka topic,
WITH ('connector' = 'kafka', 'topic' = 'T', 'properties.bootstrap.servers' = 'HOST:PORT'
[, 'properties.group.id' = 'G'] [, 'format' = 'json'|'csv'|'line'] [, 'properties.KEY' =
'VALUE' for librdkafka] [, 'measurement' = 'cpu' with 'line']); declaring the event-time
column `ts TIMESTAMP(3) METADATA FROM 'timestamp'` takes the message timestamp. INSERT INTO a
'csv', 'filesystem' or 'kafka' table (for Kafka: 'topic', 'properties.bootstrap.servers',
'format' = 'json') chooses the output; without it the windows go to --output. EXPLAIN SELECT
prints the plan and exits. The HTTP and TCP endpoints listen as without a script.

All HTTP and TCP input is one source of the watermark: --max-delay must cover the disorder between clients.
SIGINT or SIGTERM stops listening, takes what has arrived, fires every window still open (the
stream ends there) and exits 0; a second one kills at once.

Required (or --sql FILE, whose script replaces these, --schema, --types, --max-delay,
--where, --key, --having, --broadcast, --measurement and the --kafka-source, --kafka-group,
--kafka-format and --kafka-time flags):
  --sql FILE                a SQL script: CREATE TABLE statements and one query (see above)
  --schema SCHEMA           the columns, e.g. "time:timestamp[ns],host:string,usage:f64"
                            (default: inferred from the first write, see above)
  --types NAME:TYPE,...     without --schema: these columns' types, not inferred
  --time COLUMN             the event-time column (timestamp or i64)
  --window WINDOW           as for `sluice run`: tumbling:10s, sliding:10s/2s, cumulate:1m/10s,
                            global
  --agg AGGREGATES          as for `sluice run`, e.g. "count,avg(usage),max(usage)"

Listening:
  --listen ADDR|off         the HTTP endpoints: HOST:PORT or PORT (default 127.0.0.1:8086, the
                            InfluxDB port; 0: a free one); the URL is printed on stderr
  --tcp-listen ADDR         also accept line protocol or JSON lines over TCP (default: off)
  --measurement NAME        keep the line-protocol points of this measurement only (default:
                            every measurement); others are ignored, not rejected
  --precision P             timestamps of TCP line protocol: n (default), u, ms, s, m, h
  --max-body B              the largest request body, after decompression (default 32m;
                            suffixes k, m, g)
  --max-line B              the longest line (default 64k); a longer one is rejected
  --max-connections N       TCP connections read at once (default 256); more wait
  --http-threads N          HTTP requests served at once (default 16); more wait
  --windows-kept N          fired window rows kept for GET /windows (default 1000)

Kafka (librdkafka; the first read of a group starts at each partition's beginning):
  --kafka-source B/T        read topic T of the brokers B (HOST:PORT,...) as a consumer group
  --kafka-group NAME        the consumer group (default sluice): members share the partitions
  --kafka-format F          message values: json (default), csv or line (line protocol, with
                            --measurement and --precision as over TCP)
  --kafka-time field|message  the event time: the --time field of the value (default), or the
                            message's timestamp (json and line values)
  --kafka-until-end         stop once every partition is read to its end
  --kafka-commit-interval D how often offsets are committed (default 1s); each commit waits
                            for the rows read before it to be processed
  --kafka-sink B/T          send every window row to topic T (JSON value, JSON key)
  --kafka-option K=V,...    librdkafka properties for both (security.protocol, sasl.*, ...)
  --source-idle-timeout D   a source (a partition, or the HTTP and TCP clients) silent this
                            long stops holding the watermark back (default: never)

Query, engine and output (as for `sluice run`, which see):
  --max-delay, --allowed-lateness, --where, --key, --having, --broadcast, --trigger,
  --workers, --partition, --balance, --backend, --batch-rows, --state-memory-limit,
  --batch-timeout (default 100ms), --output, --format, --time-format, --updates,
  --update-output, --late-output, --quiet, --verbose, -h/--help

Exit status: 0 stopped by SIGINT or SIGTERM after draining, 1 runtime error (a port in use, the
job failed), 2 usage error.
)usage";
}

}  // namespace sluice::cli
