// `sluice run` and `sluice sql`: stream a CSV file through a windowed query and write the
// windows as they close.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/cli/cli_options.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/job_setup.hpp"
#include "host/cli/progress.hpp"
#include "host/cli/result_writer.hpp"
#include "host/cli/run_options.hpp"
#include "host/cli/schema_inference.hpp"
#include "host/cli/stop_signals.hpp"
#include "host/io/csv_reader.hpp"
#include "host/io/file_share.hpp"
#include "host/io/live_input.hpp"
#include "host/io/time_text.hpp"
#include "host/observability/metrics_server.hpp"
#include "host/observability/prometheus_text.hpp"
#include "sluice/engine.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {
namespace {

/// `pattern` with every "{rank}" replaced by `rank`.
std::string with_rank(std::string pattern, int rank) {
  const std::string mark = "{rank}";
  for (std::size_t at = pattern.find(mark); at != std::string::npos;
       at = pattern.find(mark, at + 1))
    pattern.replace(at, mark.size(), std::to_string(rank));
  return pattern;
}

bool per_rank(const std::string& pattern) { return pattern.find("{rank}") != std::string::npos; }

/// What this rank reads: its own file ("part-{rank}.csv"), its line-aligned share of one file,
/// stdin (rank 0 only: launchers forward stdin to rank 0), or nothing. Pipes, FIFOs, terminals
/// and sockets are live input: read as it arrives, ended early by a stop request.
struct RankInput {
  std::ifstream file;
  std::unique_ptr<detail::FileShareBuffer> share;
  std::unique_ptr<detail::LiveInputBuffer> live;
  std::unique_ptr<std::istream> buffered;
  std::unique_ptr<ReplayBuffer> replay;  ///< live input after a sample was read from it
  std::unique_ptr<std::istream> replayed;
  std::istream* stream = nullptr;  ///< null: this rank reads nothing
  std::string name;
  int live_fd = -1;  ///< a FIFO opened by name, closed with the input
  ~RankInput() {
    if (live_fd >= 0) ::close(live_fd);
  }
  bool is_live() const { return live != nullptr; }
  /// @brief Reads the first rows to infer the schema from; the reader then reads the input
  /// from its start (a file seeks back, live input is replayed).
  CsvSample take_sample() {
    CsvSample sample = sample_csv(*stream, is_live());
    if (is_live()) {
      replay = std::make_unique<ReplayBuffer>(sample.read, stream->rdbuf());
      replayed = std::make_unique<std::istream>(replay.get());
      stream = replayed.get();
    } else {
      stream->clear();
      stream->seekg(0);
      if (!*stream)
        throw Error(ErrorCode::io_error, "cannot read " + name + " again after sampling it");
    }
    return sample;
  }
};

/// Whether `path` names live input: something that exists and is neither a regular file nor a
/// directory (a FIFO, a character device, a socket).
bool names_live_input(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

void open_live(int fd, int stop_fd, RankInput& in) {
  in.live = std::make_unique<detail::LiveInputBuffer>(fd, stop_fd);
  in.buffered = std::make_unique<std::istream>(in.live.get());
  in.stream = in.buffered.get();
}

void open_input(const std::string& pattern, int rank, int ranks, int stop_fd, RankInput& in) {
  if (pattern == "-") {
    in.name = "stdin";
    if (rank != 0) return;
    if (detail::is_regular_file(STDIN_FILENO)) {
      in.stream = &std::cin;
    } else {
      open_live(STDIN_FILENO, stop_fd, in);
    }
    return;
  }
  const std::string path = with_rank(pattern, rank);
  in.name = path;
  if (names_live_input(path)) {
    in.live_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in.live_fd < 0)
      throw Error(ErrorCode::io_error, "cannot open input '" + path + "': " + std::strerror(errno));
    open_live(in.live_fd, stop_fd, in);
    return;
  }
  in.file.open(path, std::ios::in | std::ios::binary);
  struct stat st {};
  const bool directory = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (!in.file || directory) {
    throw Error(ErrorCode::io_error, "cannot open input '" + path + "': " +
                                         (directory ? "a directory" : std::strerror(errno)));
  }
  in.stream = &in.file;
  if (ranks > 1 && !per_rank(pattern)) {
    std::string header;
    const detail::ByteRange range = detail::share_of(in.file, rank, ranks, header);
    in.share = std::make_unique<detail::FileShareBuffer>(in.file, std::move(header), range);
    in.buffered = std::make_unique<std::istream>(in.share.get());
    in.stream = in.buffered.get();
    in.name = path + " (rank " + std::to_string(rank) + "'s share from byte " +
              std::to_string(range.begin) + ")";
  }
}

/// Whether `pattern` names live input on this rank (stdin from a pipe or a terminal, a FIFO).
bool live_input(const std::string& pattern, int rank) {
  if (pattern == "-") return !detail::is_regular_file(STDIN_FILENO);
  return names_live_input(with_rank(pattern, rank));
}

/// The batch timeout of live input unless --batch-timeout says otherwise.
constexpr Duration kLiveBatchTimeout = std::chrono::milliseconds(100);
/// The batch timeout of a file read under mpirun unless --batch-timeout says otherwise.
constexpr Duration kRankFileBatchTimeout = std::chrono::seconds(1);

/// When checkpoints are due: at most every `every`, when `enabled`.
struct CheckpointClock {
  bool enabled = false;
  Duration every{0};
  std::ostream* notes = nullptr;  ///< where each checkpoint is reported (--verbose), or none
  std::string who;                ///< "sluice run" or "sluice sql", for the notes
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  bool due() const { return enabled && std::chrono::steady_clock::now() - last >= every; }
};

// Pushes the reader's batches as they are parsed: they own their typed columns, coded with the
// job's dictionary, so the job reads them in place while the next block is parsed. When the job
// reclaims strings its dictionary changes, and the reader follows from its next block. At the
// end of each block the job learns where the input stands (and its malformed rows), and takes
// a checkpoint when one is due: a resumed run reads the same blocks from there. A stop request
// ends the input at the end of a block. `input_bytes` follows the bytes read since `start`
// (the offset where this run began reading: a resumed one begins later).
void stream_input(detail::CsvReader& reader, Job& job, CheckpointClock& checkpoints,
                  const StopSignals& signals, std::atomic<std::uint64_t>& input_bytes,
                  std::uint64_t start) {
  Batch batch;
  std::uint64_t malformed = 0;
  while (reader.next(batch)) {
    if (batch.rows() > 0) job.push(batch);
    input_bytes.store(reader.offset() - start, std::memory_order_relaxed);
    if (DictionaryPtr now = job.dictionary(); now != reader.dictionary())
      reader.set_dictionary(std::move(now));
    if (!reader.at_block_end()) continue;
    job.count_malformed(reader.malformed() - malformed);
    malformed = reader.malformed();
    job.set_position(0, reader.offset());
    if (signals.signal() != 0) break;
    if (checkpoints.due()) {
      job.checkpoint();
      checkpoints.last = std::chrono::steady_clock::now();
      if (checkpoints.notes != nullptr) {
        const Metrics m = job.metrics();
        *checkpoints.notes << checkpoints.who << ": checkpoint " << m.checkpoints
                           << " at input byte " << reader.offset() << " (" << m.checkpoint_bytes
                           << " bytes of checkpoints so far)\n";
      }
    }
  }
  job.count_malformed(reader.malformed() - malformed);
}

void report_resume(const std::string& who, const ResumePoint& from) {
  for (const std::string& why : from.rejected)
    std::cerr << who << ": skipped checkpoint " << why << '\n';
  if (from.checkpoint == 0) {
    std::cerr << who
              << ": no complete checkpoint to resume from: starting from the "
                 "beginning\n";
    return;
  }
  std::cerr << who << ": resuming from " << from.path << ": input from byte "
            << (from.positions.empty() ? 0 : from.positions[0]) << ", output from byte "
            << from.sink_position << '\n';
}

/// A watermark as --time-format writes the time column.
std::function<std::string(std::int64_t)> watermark_text(const RunOptions& options) {
  const auto at = options.schema.find(options.time_column);
  const DataType type = at ? options.schema.field(*at).type : DataType(TypeId::i64);
  if (type.id != TypeId::timestamp || options.style.time_format != TimeFormat::iso)
    return [](std::int64_t wm) { return std::to_string(wm); };
  return [unit = type.unit](std::int64_t wm) {
    std::string text;
    detail::append_rfc3339(text, wm, unit);
    return text;
  };
}

void print_setup(const std::string& who, const Engine& engine, const EngineConfig& config,
                 std::size_t workers, const RankInput& in) {
  std::cerr << who << ": " << engine.backend_reason() << "; " << workers << " worker"
            << (workers == 1 ? "" : "s") << "; input " << in.name << (in.is_live() ? " (live)" : "")
            << "; batches of " << config.batch_rows << " rows, or sealed after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(config.batch_timeout).count()
            << " ms (0: by rows only)\n";
}

/// --explain: the schema and where each type came from, the columns read, the query and
/// the output columns.
void print_explain(const RunOptions& o, const std::vector<InferredColumn>& inferred,
                   std::size_t sampled_rows, const std::string& input, bool live) {
  std::ostream& out = std::cout;
  const std::vector<std::string> read = columns_read(o);
  out << "input: " << input << (live ? " (live)" : "") << "\n";
  if (o.infer_schema) {
    out << "schema: inferred from the header and " << sampled_rows << " row"
        << (sampled_rows == 1 ? "" : "s") << (o.type_overrides.empty() ? "" : ", with --types")
        << "\n";
    std::size_t width = 0;
    for (const InferredColumn& c : inferred) width = std::max(width, c.name.size());
    for (const InferredColumn& c : inferred) {
      const bool used = std::find(read.begin(), read.end(), c.name) != read.end();
      const std::string type = to_string(c.type);
      out << "  " << c.name << std::string(width + 2 - c.name.size(), ' ') << type
          << std::string(type.size() < 15 ? 15 - type.size() : 1, ' ') << c.reason
          << (used ? "" : " (not read: the query does not use it)") << "\n";
    }
  } else {
    out << "schema: " << o.schema.to_string() << " (" << o.schema_origin << ")\n";
  }
  out << "reads: ";
  for (std::size_t i = 0; i < read.size(); ++i) out << (i ? ", " : "") << read[i];
  out << "\nquery:";
  if (o.where) out << " where " << o.where->to_string() << ";";
  if (!o.keys.empty()) {
    out << " key by ";
    for (std::size_t i = 0; i < o.keys.size(); ++i) out << (i ? ", " : "") << o.keys[i];
    out << ";";
  }
  out << " event time " << o.time_column << " (max delay " << to_string(o.max_delay)
      << ", allowed lateness " << to_string(o.allowed_lateness) << "); window "
      << to_string(o.window) << "; trigger " << to_string(o.trigger);
  if (o.having) out << "; having " << o.having->to_string();
  out << "\naggregates:";
  for (std::size_t i = 0; i < o.aggregates.size(); ++i) {
    const AggregateSpec& a = o.aggregates[i];
    constexpr const char* kKinds[] = {"count", "sum", "min", "max", "avg", "first", "last"};
    out << (i ? ", " : " ") << a.name << " = " << kKinds[static_cast<int>(a.kind)] << "("
        << (a.input ? a.input->to_string() : "") << ")";
  }
  out << "\noutput:";
  const std::vector<OutputColumn> columns = output_columns(o);
  for (std::size_t i = 0; i < columns.size(); ++i) out << (i ? ", " : " ") << columns[i].name;
  if (o.updates == UpdateRows::column) out << ", update";
  out << "\n";
}

}  // namespace

void print_plan(const RunOptions& options, const std::string& input) {
  print_explain(options, {}, 0, input, true);
}

int execute_run(RunOptions options) {
  const std::string who = "sluice " + options.command;
  EngineConfig config = options.engine;
  // An output per rank: each rank writes the windows of the keys it owns.
  config.gather_results = !per_rank(options.output);
  // A file is read as fast as it parses: its batches are cut by rows alone (a pause of the
  // reader does not seal one early), unless asked otherwise. Across ranks a timeout is needed
  // (a rank between blocks sends empty rounds so the others go on): a long one, so that only a
  // reader stalled for that long seals a batch early. Live input is pushed as it arrives: a
  // batch seals at --batch-rows or once its oldest row has waited the batch timeout.
  const bool live = live_input(options.input, 0);
  if (options.batch_timeout)
    config.batch_timeout = *options.batch_timeout;
  else if (live)
    config.batch_timeout = kLiveBatchTimeout;
  else if (Ranks::launched_by_mpi())
    config.batch_timeout = kRankFileBatchTimeout;
  else
    config.batch_timeout = Duration::zero();
  const StopSignals signals;
  std::optional<Outputs> made_outputs;  // once the schema is known
  CheckpointClock checkpoints;
  if (!options.checkpoint_dir.empty()) {
    config.checkpoint.directory = options.checkpoint_dir;
    config.checkpoint.commit_sinks = [&made_outputs] { return made_outputs->windows.commit(); };
    checkpoints.enabled = true;
    checkpoints.every = options.checkpoint_every;
    checkpoints.who = who;
  }
  const Engine engine = make_engine(config);
  const int rank = engine.ranks().rank();
  const int ranks = engine.ranks().size();
  const bool writes = ranks == 1 || !config.gather_results || rank == 0;
  if (options.explain && !options.infer_schema) {
    // The schema is given: the plan is printed without opening the input.
    print_explain(options, {}, 0,
                  options.input == "-" ? std::string("stdin") : with_rank(options.input, rank),
                  live_input(options.input, rank));
    return kExitOk;
  }
  RankInput in;
  open_input(options.input, rank, ranks, signals.fd(), in);
  std::vector<InferredColumn> inferred;
  std::size_t sampled_rows = 0;
  if (options.infer_schema) {
    // Each rank would infer from rows of its own: they must agree.
    if (ranks > 1) throw UsageError("--schema is needed under mpirun (every rank reads with it)");
    if (in.stream == nullptr) throw UsageError("--schema is needed: this rank reads no input");
    const CsvSample sample = in.take_sample();
    sampled_rows = sample.rows;
    try {
      inferred = infer_columns(sample, in.name, options.time_column, options.type_overrides);
    } catch (const Error& e) {
      if (is_usage_error(e.code())) throw UsageError(e.what());
      throw;
    }
    options.schema = schema_of(inferred, columns_read(options));
    check_schema(options);
  }
  if (options.explain) {
    print_explain(options, inferred, sampled_rows, in.name, in.is_live());
    return kExitOk;
  }
  Outputs& outputs = made_outputs.emplace(options);
  ResultWriter& writer = outputs.windows;
  // Every rank reads each broadcast file whole, before the events.
  std::vector<Batch> broadcast_rows;
  std::uint64_t broadcast_malformed = 0;
  for (const BroadcastFile& f : options.broadcasts)
    broadcast_rows.push_back(
        read_broadcast_file(f, options.schema, options.on_error, &broadcast_malformed));
  if (ranks > 1 && !options.late_output.empty() && !per_rank(options.late_output))
    throw UsageError(
        "--late-output needs {rank} in its name across ranks: each rank writes "
        "the late events its workers find");
  Job job = start_job(engine, options, outputs, broadcast_rows);
  std::atomic<std::uint64_t> input_bytes{0};
  std::optional<obs::MetricsServer> metrics_server;  // stops before the job goes
  if (options.metrics_listen) {
    obs::ListenAddress at = *options.metrics_listen;
    if (at.port != 0 && at.port + rank > 65535)
      throw UsageError("--metrics-listen: port " + std::to_string(at.port) + " + rank " +
                       std::to_string(rank) + " is beyond 65535");
    if (at.port != 0) at.port += rank;
    obs::ExpositionContext context;
    context.backend = to_string(engine.backend());
    context.version = SLUICE_VERSION;
    context.rank = rank;
    context.ranks = ranks;
    if (const auto t = options.schema.find(options.time_column))
      if (const DataType type = options.schema.field(*t).type; type.id == TypeId::timestamp)
        context.time_unit = type.unit;
    const bool reads = in.stream != nullptr;
    metrics_server.emplace(at, [&job, &input_bytes, context, reads] {
      obs::ExpositionContext now = context;
      now.now = std::chrono::system_clock::now();
      if (reads) now.input_bytes = input_bytes.load(std::memory_order_relaxed);
      return obs::prometheus_text(job.metrics(), now);
    });
    if (options.verbosity != Verbosity::quiet)
      std::cerr << who << (ranks > 1 ? " (rank " + std::to_string(rank) + ")" : std::string())
                << ": metrics at " << metrics_server->url() << std::endl;
  }
  std::optional<Progress> progress;
  try {
    const ResumePoint& from = job.resumed_from();
    if (options.resume && options.verbosity != Verbosity::quiet) report_resume(who, from);
    // A checkpoint holds the broadcast state and the malformed rows counted before it.
    if (from.checkpoint == 0) {
      for (std::size_t i = 0; i < broadcast_rows.size(); ++i)
        job.push_broadcast(options.broadcasts[i].name, broadcast_rows[i]);
      job.count_malformed(broadcast_malformed);
    }
    if (writes && from.checkpoint != 0) {
      writer.open_at(with_rank(options.output, rank), from.sink_position);
    } else if (writes && !options.output.empty()) {  // empty: the windows go to Kafka alone
      writer.open(with_rank(options.output, rank));
      writer.write_header();
    }
    if (writes && outputs.updates) {
      outputs.updates->open(with_rank(options.update_output, rank));
      outputs.updates->write_header();
    }
    if (outputs.late) {
      outputs.late->open(with_rank(options.late_output, rank));
      outputs.late->write_header();
    }
    const bool talks = rank == 0 && options.verbosity != Verbosity::quiet;
    if (talks && options.verbosity == Verbosity::verbose)
      print_setup(who, engine, config, job.metrics().batches_per_worker.size(), in);
    if (talks && stderr_is_terminal())
      progress.emplace(
          std::cerr, [&job] { return job.metrics(); }, watermark_text(options));
    if (talks && options.verbosity == Verbosity::verbose)
      checkpoints.notes = progress ? &progress->messages() : &std::cerr;
    if (in.stream != nullptr) {
      detail::CsvReader reader(*in.stream, in.name, options.schema, job.dictionary(),
                               {.on_malformed = options.on_error,
                                .diagnostics = progress ? &progress->messages() : nullptr,
                                .block_bytes = options.read_block,
                                .live = in.is_live()});
      const std::uint64_t start =
          from.checkpoint != 0 && !from.positions.empty() ? from.positions[0] : 0;
      if (start != 0) reader.seek(start);
      stream_input(reader, job, checkpoints, signals, input_bytes, start);
    }
    if (signals.signal() != 0) {
      // Stopped on request: what was read is processed and what the watermark closed is
      // written; a checkpoint keeps the open windows for --resume.
      if (checkpoints.enabled) job.checkpoint();
      job.stop();
    } else {
      job.finish();
    }
    const Metrics totals = job.total_metrics();  // collective: before anything that may throw
    if (progress) progress->stop();
    if (writes) writer.close();
    if (outputs.kafka) outputs.kafka->flush();
    if (writes && outputs.updates) outputs.updates->close();
    if (outputs.late) outputs.late->close();
    if (rank == 0 && options.verbosity != Verbosity::quiet) {
      if (const int s = signals.signal(); s != 0)
        std::cerr << who << ": stopped by " << (s == SIGINT ? "SIGINT" : "SIGTERM")
                  << ": the input read so far is processed"
                  << (checkpoints.enabled ? ", checkpointed," : "")
                  << " and the windows the watermark closed are written\n";
      print_summary(who, engine, totals, options.verbosity == Verbosity::verbose);
    }
  } catch (...) {
    if (progress) progress->stop();
    outputs.stop();  // the job's destructor flushes windows of a failed run; drop them
    throw;
  }
  return signals.exit_status(kExitOk);
}

namespace {

/// Parses a subcommand's arguments and runs its job, reporting errors as `command`'s.
int run_job(std::string_view command, std::span<char* const> args,
            RunOptions (*parse)(std::span<char* const>), const char* usage) {
  RunOptions options;
  try {
    options = parse(args);
  } catch (const UsageError& e) {
    return report_usage_error(command, e.what());
  }
  if (options.help) {
    std::cout << usage;
    return kExitOk;
  }
  try {
    return execute_run(options);
  } catch (const UsageError& e) {
    return report_usage_error(command, e.what());
  } catch (const std::exception& e) {
    return report_runtime_error(command, e.what());
  }
}

}  // namespace

int run_main(std::span<char* const> args) {
  return run_job("run", args, parse_run_options, run_usage());
}

int sql_main(std::span<char* const> args) {
  return run_job("sql", args, parse_sql_options, sql_usage());
}

}  // namespace sluice::cli
