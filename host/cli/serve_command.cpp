// `sluice serve`: a job fed by HTTP and TCP clients until SIGINT or SIGTERM.
#include <poll.h>

#include <chrono>
#include <csignal>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/cli/cli_options.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/job_setup.hpp"
#include "host/cli/recent_windows.hpp"
#include "host/cli/serve_options.hpp"
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
enum class Ended : std::uint8_t { signal, job_failed, kafka_done };

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

/// Waits for a stop request, checking the job's health and the Kafka source (which ends once read
/// to its end with --kafka-until-end, or on an error) a few times a second.
Ended wait_for_stop(const StopSignals& signals, const Job& job, const KafkaReader* kafka) {
  for (;;) {
    pollfd fd{signals.fd(), POLLIN, 0};
    ::poll(&fd, 1, 200);
    if (signals.signal() != 0) return Ended::signal;
    if (!job.status().ok()) return Ended::job_failed;
    if (kafka != nullptr && kafka->source.done()) return Ended::kafka_done;
  }
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
  Outputs outputs(options);
  RecentWindows recent(serve.windows_kept);
  std::ostream recent_stream(&recent);
  {
    OutputStyle json = options.style;
    json.format = OutputFormat::jsonl;
    outputs.recent.emplace(output_columns(options), json, options.updates);
    outputs.recent->open(recent_stream, "GET /windows");
  }
  std::vector<Batch> broadcast_rows;
  std::uint64_t broadcast_malformed = 0;
  for (const BroadcastFile& f : options.broadcasts)
    broadcast_rows.push_back(
        read_broadcast_file(f, options.schema, options.on_error, &broadcast_malformed));
  Job job = start_job(engine, options, outputs, broadcast_rows);
  try {
    for (std::size_t i = 0; i < broadcast_rows.size(); ++i)
      job.push_broadcast(options.broadcasts[i].name, broadcast_rows[i]);
    job.count_malformed(broadcast_malformed);
    if (!options.output.empty()) {  // empty: the windows go to Kafka alone
      outputs.windows.open(options.output);
      outputs.windows.write_header();
    }
    if (outputs.updates) {
      outputs.updates->open(options.update_output);
      outputs.updates->write_header();
    }
    if (outputs.late) {
      outputs.late->open(options.late_output);
      outputs.late->write_header();
    }
    server::IngestTarget target(job, {.time_column = options.time_column,
                                      .measurement = serve.measurement,
                                      .max_line_bytes = serve.max_line_bytes});
    obs::ExpositionContext context;
    context.backend = to_string(engine.backend());
    context.version = SLUICE_VERSION;
    if (const auto t = options.schema.find(options.time_column))
      if (const DataType type = options.schema.field(*t).type; type.id == TypeId::timestamp)
        context.time_unit = type.unit;
    const bool talks = options.verbosity != Verbosity::quiet;
    Ended ended = Ended::signal;
    std::optional<KafkaReader> kafka;  // stopped after the servers, before the job drains
    if (serve.kafka_source) {
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
      if (outputs.kafka) k.before_commit = [&outputs] { outputs.kafka->flush(); };
      try {
        kafka.emplace(job, std::move(k));
      } catch (const Error& e) {
        if (is_usage_error(e.code())) throw UsageError(e.what());
        throw;
      }
      if (talks)
        std::cerr << who << ": reading kafka " << serve.kafka_source->from.brokers << '/'
                  << serve.kafka_source->from.topic << " as group " << serve.kafka_source->group
                  << std::endl;
    }
    {
      // Servers stop (answering what is in progress, taking what has arrived) before the job
      // drains.
      std::optional<server::HttpIngestServer> http;
      std::optional<server::TcpIngestServer> tcp;
      if (serve.http) {
        server::HttpViews views;
        views.metrics = [&job, &target, &kafka, context] {
          obs::ExpositionContext now = context;
          now.now = std::chrono::system_clock::now();
          now.input_bytes = target.bytes_received() + (kafka ? kafka->source.counters().bytes : 0);
          return obs::prometheus_text(job.metrics(), now);
        };
        views.windows = [&recent](std::size_t limit) { return recent.json(limit); };
        http.emplace(*serve.http, target, std::move(views),
                     server::HttpIngestSettings{.max_body_bytes = serve.max_body_bytes,
                                                .threads = serve.http_threads});
        if (talks) std::cerr << who << ": listening on " << http->url() << std::endl;
      }
      if (serve.tcp) {
        tcp.emplace(*serve.tcp, target,
                    server::TcpIngestSettings{.tick_ns = serve.tcp_tick_ns,
                                              .max_connections = serve.max_connections,
                                              .diagnostics = &std::cerr});
        if (talks) std::cerr << who << ": listening on " << tcp->url() << std::endl;
      }
      ended = wait_for_stop(signals, job, kafka ? &*kafka : nullptr);
      if (ended == Ended::job_failed) job.finish();  // throws the job's error
    }
    if (kafka) {
      kafka->join();
      if (kafka->error) std::rethrow_exception(kafka->error);
    }
    // The stream ends here: every window still open fires.
    job.finish();
    const Metrics totals = job.total_metrics();
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
      std::cerr << " after " << target.bytes_received() << " bytes of HTTP and TCP input";
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
    outputs.stop();
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
