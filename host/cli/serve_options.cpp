// Parsing of the `sluice serve` flags into ServeOptions, and its usage text.
#include "host/cli/serve_options.hpp"

#include <array>
#include <limits>

#include "host/cli/cli_options.hpp"
#include "host/server/http_ingest_server.hpp"

namespace sluice::cli {
namespace {

/// The flags of `sluice serve`: the query's, the engine's and the outputs' as `run` takes them
/// (not its input, checkpoints or --metrics-listen: /metrics is served with the writes), and
/// where and how it listens.
constexpr FlagSpec kServeFlags[] = {
    {"--schema"},
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
    {"--quiet", false},
    {"--verbose", false},
    {"--help", false},
};

obs::ListenAddress listen_flag(const Flags& flags, std::string_view flag) {
  try {
    return obs::parse_listen_address(flags.required(flag));
  } catch (const Error& e) {
    throw UsageError(std::string(flag) + ": " + e.what());
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
  parse_query_flags(flags, run);
  if (run.infer_schema)
    throw UsageError(
        "--schema is needed: a server has no input to infer the types from before its first "
        "request");
  parse_common_flags(flags, run);
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
  if (!o.http && !o.tcp) throw UsageError("--listen off needs --tcp-listen ADDR: nothing to serve");
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
  return o;
}

const char* serve_usage() {
  return R"usage(Usage: sluice serve --schema SCHEMA --time COLUMN --window WINDOW --agg AGGREGATES
                    [--listen ADDR] [--tcp-listen ADDR] [options]

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

All input is one source of the watermark: --max-delay must cover the disorder between clients.
SIGINT or SIGTERM stops listening, takes what has arrived, fires every window still open (the
stream ends there) and exits 0; a second one kills at once.

Required:
  --schema SCHEMA           the columns, e.g. "time:timestamp[ns],host:string,usage:f64"
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
