// Parsing of the `sluice run` flags into RunOptions, its usage text and the query it builds.
#include "host/cli/run_options.hpp"

#include <limits>
#include <utility>

#include "host/cli/cli_options.hpp"

namespace sluice::cli {
namespace {

constexpr FlagSpec kRunFlags[] = {
    {"--input"},
    {"--schema"},
    {"--time"},
    {"--max-delay"},
    {"--where"},
    {"--key"},
    {"--window"},
    {"--agg"},
    {"--allowed-lateness"},
    {"--workers"},
    {"--partition"},
    {"--balance"},
    {"--backend"},
    {"--on-error"},
    {"--output"},
    {"--batch-rows"},
    {"--peer-timeout"},
    {"--broadcast"},
    {"--trigger"},
    {"--state-memory-limit"},
    {"--batch-timeout"},
    {"--read-block"},
    {"--checkpoint-dir"},
    {"--checkpoint-every"},
    {"--resume", false},
    {"--help", false},
};

/// A byte count: digits with an optional suffix k, m or g (KiB, MiB, GiB).
std::size_t parse_bytes(std::string_view flag, std::string_view text) {
  std::size_t shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
  }
  if (shift > 0) text.remove_suffix(1);
  const auto limit = std::numeric_limits<std::int64_t>::max() >> shift;
  const auto value = parse_integer(flag, text, 0, limit);
  return static_cast<std::size_t>(value) << shift;
}

detail::OnMalformed parse_on_error(std::string_view text) {
  if (text == "skip") return detail::OnMalformed::skip;
  if (text == "fail") return detail::OnMalformed::fail;
  throw bad_value("--on-error", text, "skip or fail");
}

void parse_query_flags(const Flags& flags, RunOptions& o) {
  o.schema = parse_flag("--schema", flags.required("--schema"), parse_schema);
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
  if (flags.has("--broadcast")) o.broadcasts = parse_broadcast_files(flags.required("--broadcast"));
}

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

RunOptions parse_run_options(std::span<char* const> args) {
  const Flags flags(args, kRunFlags);
  RunOptions o;
  if (flags.has("--help")) {
    o.help = true;
    return o;
  }
  o.input = flags.required("--input");
  o.output = flags.get("--output", "-");
  o.on_error = parse_on_error(flags.get("--on-error", "skip"));
  parse_query_flags(flags, o);
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
  if (o.checkpoint_dir.empty() && (o.resume || flags.has("--checkpoint-every")))
    throw UsageError(std::string(o.resume ? "--resume" : "--checkpoint-every") +
                     " needs --checkpoint-dir DIR");
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
  }
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
  return query;
}

const char* run_usage() {
  return R"usage(Usage: sluice run --input FILE.csv|- --schema SCHEMA --time COLUMN --window WINDOW
                  --agg AGGREGATES [options]

Runs a windowed aggregation over a CSV stream (with a header row) and writes one CSV row per
fired (window, key): window_start,window_end,<keys>,<aggregates>. A summary goes to stderr.

Required:
  --input FILE|-            CSV input; - reads stdin
  --schema SCHEMA           columns to read, e.g. "ts:timestamp[ms],host:string,cpu:f32,status:i32"
                            (types: i32 i64 u32 u64 f32 f64 bool string timestamp[ns|us|ms|s])
  --time COLUMN             the event-time column (timestamp or integer)
  --window WINDOW           tumbling:10s, tumbling:10s@2s, sliding:10s/2s or global
  --agg AGGREGATES          e.g. "count,sum(cpu),min(cpu),max(cpu),avg(cpu)"; also
                            first(x) and last(x), by event time

Options:
  --max-delay DURATION      watermark delay (max out-of-orderness), e.g. 2s (default 0)
  --where EXPRESSION        keep rows where it is true, e.g. "cpu > 50 and status == 200"
  --broadcast NAME=FILE:KEY[,...]
                            a table every worker sees, read before the input, e.g.
                            limits=limits.csv:region; expressions read its columns as
                            NAME.COLUMN, looked up by the events' column KEY (e.g.
                            --where "cpu > limits.max_cpu"). A key without a row reads null:
                            comparisons with it are not true. Column types are inferred
                            (i64, f64, bool, else string); the key takes the events' type
  --key COLUMNS             group by these columns, e.g. host or host,region
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
  --output FILE|-           CSV output (default -: stdout)
  --batch-rows N            rows per batch (default 1048576)
  --state-memory-limit B    fail (exit 1, naming the sizes) when the window state and the
                            string dictionary together hold more than B bytes; suffixes
                            k, m, g (default 0: no limit). Strings no live window holds are
                            reclaimed as the input goes, so churning keys stay within it
  --batch-timeout DURATION  seal a partial batch after this long without input (default
                            10ms for stdin and under mpirun; 0 for files, whose batches are
                            then cut by rows only, so that a run's output does not depend on
                            its timing)
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
  --peer-timeout DURATION   under mpirun: a rank silent for this long is named and ends the
                            job (default 20s; 0: wait for ever)
  -h, --help                show this help

Under mpirun every rank runs the job: {rank} in --input names a file per rank (otherwise the
ranks split one file on line boundaries; - : rank 0 reads stdin); rank 0 writes every window,
or each rank its own with {rank} in --output.

Exit status: 0 ok, 1 runtime error (input, engine, --on-error fail), 2 usage error.
)usage";
}

}  // namespace sluice::cli
