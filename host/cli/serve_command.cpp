// `sluice serve`: a job fed by HTTP and TCP clients until SIGINT or SIGTERM.
#include <poll.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/cli/cli_options.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/job_setup.hpp"
#include "host/cli/recent_windows.hpp"
#include "host/cli/serve_options.hpp"
#include "host/cli/served_schema.hpp"
#include "host/cli/stop_signals.hpp"
#include "host/kafka/kafka_source.hpp"
#include "host/observability/prometheus_text.hpp"
#include "host/server/http_ingest_server.hpp"
#include "host/server/ingest_target.hpp"
#include "host/server/tcp_ingest_server.hpp"
#include "sluice/engine.hpp"

namespace sluice::cli {
namespace {

/// The batch timeout of served input unless --batch-timeout says otherwise: rows arrive as
/// clients send them, and a window is written about this long after the event that closes it.
constexpr Duration kServeBatchTimeout = std::chrono::milliseconds(100);

/// Why serving ended.
enum class Ended : std::uint8_t { signal, job_failed, kafka_done, start_failed };

/// Why the job of an inferred schema could not start, for reasons no later write changes (an
/// output that cannot be opened, a Kafka producer that cannot be made): serve ends with it.
class StartFailure {
 public:
  void set(std::exception_ptr error) {
    const std::lock_guard lock(mutex_);
    if (!error_) error_ = std::move(error);
    failed_.store(true, std::memory_order_release);
  }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  /// @brief Throws the failure; precondition: failed().
  [[noreturn]] void rethrow() const {
    const std::lock_guard lock(mutex_);
    std::rethrow_exception(error_);
  }

 private:
  mutable std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

/// A Kafka source read on a thread of its own; stopped and joined when it goes.
struct KafkaReader {
  kafka::KafkaSource source;
  std::thread thread;
  std::exception_ptr error;

  KafkaReader(Job& job, kafka::KafkaSourceSettings settings) : source(job, std::move(settings)) {
    thread = std::thread([this] {
      try {
        source.run();
      } catch (...) {
        error = std::current_exception();
      }
    });
  }
  ~KafkaReader() { join(); }
  void join() {
    source.stop();
    if (thread.joinable()) thread.join();
  }
};

/// Waits for a stop request, checking the job's health (once it runs) and the Kafka source
/// (which ends once read to its end with --kafka-until-end, or on an error) and whether the job
/// of an inferred schema failed to start, a few times a second.
Ended wait_for_stop(const StopSignals& signals, const server::IngestTarget& target,
                    const KafkaReader* kafka, const StartFailure& start) {
  for (;;) {
    pollfd fd{signals.fd(), POLLIN, 0};
    ::poll(&fd, 1, 200);
    if (signals.signal() != 0) return Ended::signal;
    if (start.failed()) return Ended::start_failed;
    if (const Job* job = target.job(); job != nullptr && !job->status().ok())
      return Ended::job_failed;
    if (kafka != nullptr && kafka->source.done()) return Ended::kafka_done;
  }
}

/// The job and the outputs its sinks write, made once the schema is known: at the start with
/// --schema (or --sql), else by the first write that fixes it.
class ServedJob {
 public:
  ServedJob(const Engine& engine, const RunOptions& options, RecentWindows& recent)
      : engine_(engine), options_(options), recent_stream_(&recent) {}

  /// @brief Starts the job of options.schema and opens its outputs (once).
  /// @throws UsageError for a query that does not fit the schema, Error else; nothing is left
  /// made then.
  Job& start() {
    if (job_) return *job_;  // started already: its outputs are in use
    try {
      outputs_.emplace(options_);
      OutputStyle json = options_.style;
      json.format = OutputFormat::jsonl;
      outputs_->recent.emplace(output_columns(options_), json, options_.updates);
      outputs_->recent->open(recent_stream_, "GET /windows");
      std::vector<Batch> broadcast_rows;
      std::uint64_t broadcast_malformed = 0;
      for (const BroadcastFile& f : options_.broadcasts)
        broadcast_rows.push_back(
            read_broadcast_file(f, options_.schema, options_.on_error, &broadcast_malformed));
      Job& job = job_.emplace(start_job(engine_, options_, *outputs_, broadcast_rows));
      for (std::size_t i = 0; i < broadcast_rows.size(); ++i)
        job.push_broadcast(options_.broadcasts[i].name, broadcast_rows[i]);
      job.count_malformed(broadcast_malformed);
      if (!options_.output.empty()) {  // empty: the windows go to Kafka alone
        outputs_->windows.open(options_.output);
        outputs_->windows.write_header();
      }
      if (outputs_->updates) {
        outputs_->updates->open(options_.update_output);
        outputs_->updates->write_header();
      }
      if (outputs_->late) {
        outputs_->late->open(options_.late_output);
        outputs_->late->write_header();
      }
      return job;
    } catch (...) {
      stop();
      job_.reset();
      outputs_.reset();
      throw;
    }
  }

  Job* job() { return job_ ? &*job_ : nullptr; }
  Outputs* outputs() { return outputs_ ? &*outputs_ : nullptr; }
  /// @brief Ignores every later write to the outputs (the job failed).
  void stop() {
    if (outputs_) outputs_->stop();
  }

 private:
  const Engine& engine_;
  const RunOptions& options_;
  std::ostream recent_stream_;
  std::optional<Outputs> outputs_;
  std::optional<Job> job_;
};

std::string join(const std::vector<std::string>& names) {
  std::string all;
  for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
  return all;
}

/// When the offsets of the events a window holds may be committed: once the fired watermark
/// passed the event time by the window's size (a window holding t starts at or before t), or,
/// for the global window, at the end.
kafka::CommitRule commit_rule(const RunOptions& options) {
  if (options.window.kind == WindowSpec::Kind::global) return {kafka::CommitRule::Kind::at_end, 0};
  const TimeUnit unit =
      options.schema.field(options.schema.index_of(options.time_column)).type.unit;
  const std::int64_t per = nanos_per_unit(unit);
  return {kafka::CommitRule::Kind::after_horizon, (options.window.size.count() + per - 1) / per};
}

}  // namespace

int execute_serve(ServeOptions serve) {
  RunOptions& options = serve.run;
  const std::string who = "sluice serve";
  if (options.explain) {  // EXPLAIN SELECT in the script of --sql
    std::string input = "the HTTP and TCP clients";
    if (!serve.measurement.empty()) input += " (measurement " + serve.measurement + ")";
    if (serve.kafka_source)
      input = "kafka " + serve.kafka_source->from.brokers + "/" + serve.kafka_source->from.topic +
              " as group " + serve.kafka_source->group + ", and " + input;
    print_plan(options, input);
    return kExitOk;
  }
  EngineConfig config = options.engine;
  config.batch_timeout = options.batch_timeout.value_or(kServeBatchTimeout);
  config.source_idle_timeout = serve.source_idle_timeout;
  const StopSignals signals;
  const Engine engine = make_engine(config);
  if (engine.ranks().size() > 1)
    throw UsageError("serve runs in one process: start one per machine instead of under mpirun");
  RecentWindows recent(serve.windows_kept);
  ServedJob served(engine, options, recent);
  const bool talks = options.verbosity != Verbosity::quiet;
  const server::IngestSettings ingest{.time_column = options.time_column,
                                      .measurement = serve.measurement,
                                      .max_line_bytes = serve.max_line_bytes};
  std::optional<server::IngestTarget> target;
  StartFailure start_failure;
  if (options.infer_schema) {
    // The first write that gives every column the query reads fixes their types.
    ServedSchemaRules rules{.columns = columns_read(options),
                            .time_column = options.time_column,
                            .measurement = serve.measurement,
                            .overrides = options.type_overrides.empty()
                                             ? Schema{}
                                             : parse_schema(options.type_overrides),
                            .max_line_bytes = serve.max_line_bytes};
    target.emplace(
        [&, rules](std::string_view body, detail::TextFormat format, std::string& problem) -> Job* {
          const std::optional<Schema> schema = infer_served_schema(body, format, rules, problem);
          if (!schema) return nullptr;
          options.schema = *schema;
          try {
            check_schema(options);
            // The ingest parsers take the event time as a timestamp or an i64 (--types may
            // have said otherwise): checked before anything starts.
            const DataType time_type = schema->field(schema->index_of(options.time_column)).type;
            if (time_type.id != TypeId::timestamp && time_type.id != TypeId::i64)
              throw UsageError("the event time '" + options.time_column + "' is " +
                               to_string(time_type) + ": served input needs a timestamp or i64");
            Job& job = served.start();
            if (talks)
              std::cerr << who << ": schema " << schema->to_string() << " (from the first write"
                        << (options.type_overrides.empty() ? "" : ", with --types") << ")"
                        << std::endl;
            return &job;
          } catch (const UsageError& e) {  // a later write may give other types: it may try
            problem = "the query does not fit the schema of the first write, " +
                      schema->to_string() + ": " + e.what();
            if (talks) std::cerr << who << ": " << problem << std::endl;
            return nullptr;
          } catch (const std::exception& e) {  // no write helps: serve ends with it
            problem = std::string("the job could not start: ") + e.what();
            start_failure.set(std::current_exception());
            return nullptr;
          }
        },
        ingest);
  }
  try {
    if (!target) target.emplace(served.start(), ingest);
    obs::ExpositionContext context;
    context.backend = to_string(engine.backend());
    context.version = SLUICE_VERSION;
    Ended ended = Ended::signal;
    std::optional<KafkaReader> kafka;  // stopped after the servers, before the job drains
    if (serve.kafka_source) {
      // With --schema (or --sql) only: the job runs already.
      kafka::KafkaSourceSettings k = *serve.kafka_source;
      // After the source table's properties (--sql): --kafka-option wins.
      k.options.insert(k.options.end(), options.kafka_options.begin(), options.kafka_options.end());
      k.time_column = options.time_column;
      k.measurement = serve.measurement;
      k.line_tick_ns = serve.tcp_tick_ns;
      k.max_line_bytes = serve.max_line_bytes;
      k.batch_rows = config.batch_rows;
      k.commit_rule = commit_rule(options);
      k.first_source = 1;  // the HTTP and TCP clients are source 0
      Outputs& outputs = *served.outputs();
      if (outputs.kafka) k.before_commit = [&outputs] { outputs.kafka->flush(); };
      try {
        kafka.emplace(*served.job(), std::move(k));
      } catch (const Error& e) {
        if (is_usage_error(e.code())) throw UsageError(e.what());
        throw;
      }
      if (talks)
        std::cerr << who << ": reading kafka " << serve.kafka_source->from.brokers << '/'
                  << serve.kafka_source->from.topic << " as group " << serve.kafka_source->group
                  << std::endl;
    }
    if (talks && options.infer_schema)  // before a server thread may set options.schema
      std::cerr << who << ": the first write that gives " << join(columns_read(options))
                << " fixes their types" << std::endl;
    {
      // Servers stop (answering what is in progress, taking what has arrived) before the job
      // drains.
      std::optional<server::HttpIngestServer> http;
      std::optional<server::TcpIngestServer> tcp;
      if (serve.http) {
        server::HttpViews views;
        views.metrics = [&target, &kafka, context, time_column = options.time_column] {
          obs::ExpositionContext now = context;
          now.now = std::chrono::system_clock::now();
          now.input_bytes = target->bytes_received() + (kafka ? kafka->source.counters().bytes : 0);
          const Job* job = target->job();
          if (job == nullptr) return obs::prometheus_text(Metrics{}, now);  // no write yet
          if (const auto t = job->schema().find(time_column))
            if (const DataType type = job->schema().field(*t).type; type.id == TypeId::timestamp)
              now.time_unit = type.unit;
          return obs::prometheus_text(job->metrics(), now);
        };
        views.windows = [&recent](std::size_t limit) { return recent.json(limit); };
        http.emplace(*serve.http, *target, std::move(views),
                     server::HttpIngestSettings{.max_body_bytes = serve.max_body_bytes,
                                                .threads = serve.http_threads});
        if (talks) std::cerr << who << ": listening on " << http->url() << std::endl;
      }
      if (serve.tcp) {
        tcp.emplace(*serve.tcp, *target,
                    server::TcpIngestSettings{.tick_ns = serve.tcp_tick_ns,
                                              .max_connections = serve.max_connections,
                                              .diagnostics = &std::cerr});
        if (talks) std::cerr << who << ": listening on " << tcp->url() << std::endl;
      }
      ended = wait_for_stop(signals, *target, kafka ? &*kafka : nullptr, start_failure);
      if (ended == Ended::job_failed) target->job()->finish();  // throws the job's error
    }
    if (ended == Ended::start_failed) start_failure.rethrow();
    if (kafka) {
      kafka->join();
      if (kafka->error) std::rethrow_exception(kafka->error);
    }
    Job* job = target->job();
    if (job == nullptr) {
      // Stopped before any write fixed the schema: there is no job, and no window.
      if (talks)
        std::cerr << who << ": stopped by " << (signals.signal() == SIGINT ? "SIGINT" : "SIGTERM")
                  << " before a write fixed the schema (" << target->bytes_received()
                  << " bytes received): no windows" << std::endl;
      return kExitOk;
    }
    Outputs& outputs = *served.outputs();
    // The stream ends here: every window still open fires.
    job->finish();
    const Metrics totals = job->total_metrics();
    outputs.windows.close();
    if (outputs.updates) outputs.updates->close();
    if (outputs.late) outputs.late->close();
    // Every window is out and acknowledged: the offsets of everything read may be committed.
    if (outputs.kafka) outputs.kafka->flush();
    if (kafka) kafka->source.commit_all();
    if (talks) {
      const int s = signals.signal();
      if (ended == Ended::kafka_done)
        std::cerr << who << ": read kafka " << serve.kafka_source->from.brokers << '/'
                  << serve.kafka_source->from.topic << " to its end";
      else
        std::cerr << who << ": stopped by " << (s == SIGINT ? "SIGINT" : "SIGTERM");
      std::cerr << " after " << target->bytes_received() << " bytes of HTTP and TCP input";
      if (kafka) {
        const kafka::KafkaSourceCounters c = kafka->source.counters();
        std::cerr << " and " << c.messages << " Kafka messages (" << c.bytes
                  << " bytes, offsets committed " << c.commits << " times)";
      }
      if (outputs.kafka)
        std::cerr << "; " << outputs.kafka->messages() << " window rows sent to kafka "
                  << outputs.kafka->endpoint().brokers << '/' << outputs.kafka->endpoint().topic;
      std::cerr << "; every open window was fired\n";
      print_summary(who, engine, totals, options.verbosity == Verbosity::verbose);
    }
  } catch (...) {
    served.stop();
    throw;
  }
  return kExitOk;
}

int serve_main(std::span<char* const> args) {
  ServeOptions options;
  try {
    options = parse_serve_options(args);
  } catch (const UsageError& e) {
    return report_usage_error("serve", e.what());
  }
  if (options.run.help) {
    std::cout << serve_usage();
    return kExitOk;
  }
  try {
    return execute_serve(std::move(options));
  } catch (const UsageError& e) {
    return report_usage_error("serve", e.what());
  } catch (const std::exception& e) {
    return report_runtime_error("serve", e.what());
  }
}

}  // namespace sluice::cli
