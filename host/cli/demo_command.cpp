// `sluice demo`: aggregates a generated telemetry stream in memory and prints its windows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "host/cli/cli_options.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/demo_data.hpp"
#include "host/cli/text_table.hpp"
#include "sluice/engine.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {
namespace {

using namespace std::chrono_literals;

constexpr FlagSpec kDemoFlags[] = {{"--events"}, {"--workers"}, {"--backend"}, {"--help", false}};
constexpr std::size_t kShownWindows = 20;
constexpr std::size_t kPushRows = std::size_t{1} << 16;

constexpr const char* kDemoUsage =
    R"usage(Usage: sluice demo [--events N] [--workers N] [--backend auto|cpu|gpu]

Generates a telemetry stream in memory (64 hosts in 3 regions; cpu, HTTP status and event time
up to 3 s out of order) and runs, on the chosen backend:

  filter "status == 200 and cpu > 10", key_by region, tumbling 10 s windows,
  max out-of-orderness 3 s, aggregates count, avg(cpu), max(cpu)

Prints the first windows and the throughput.

Options:
  --events N      events to generate (default 2000000)
  --workers N     workers (default 0: 1 on the CPU, one per GPU)
  --backend B     auto (default), cpu or gpu
  -h, --help      show this help
)usage";

/// @brief What `sluice demo` was asked to do; each field is one flag.
struct DemoOptions {
  std::size_t events = 2'000'000;  ///< --events
  EngineConfig engine;             ///< --workers, --backend
  bool help = false;               ///< --help
};

DemoOptions parse_demo_options(std::span<char* const> args) {
  const Flags flags(args, kDemoFlags);
  DemoOptions o;
  o.help = flags.has("--help");
  if (flags.has("--events")) {
    o.events = static_cast<std::size_t>(
        parse_integer("--events", flags.required("--events"), 0, std::int64_t{1} << 32));
  }
  if (flags.has("--workers")) {
    o.engine.workers =
        static_cast<int>(parse_integer("--workers", flags.required("--workers"), 0, 1024));
  }
  o.engine.backend = parse_backend(flags.get("--backend", "auto"));
  return o;
}

Query demo_query(std::vector<WindowResult>& results, std::mutex& mutex) {
  Query query;
  query.filter(parse_expression("status == 200 and cpu > 10"))
      .key_by({"region"})
      .event_time("ts", 3s)
      .window(WindowSpec::tumbling(10s))
      .aggregate(parse_aggregates("count,avg(cpu),max(cpu)"))
      .sink([&results, &mutex](std::span<const WindowResult> windows) {
        std::lock_guard lock(mutex);
        results.insert(results.end(), windows.begin(), windows.end());
      });
  return query;
}

// "22:13:20" (UTC) of a time in ms since the epoch.
std::string clock_time(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  char text[16];
  std::snprintf(text, sizeof(text), "%02d:%02d:%02d", static_cast<int>(s / 3600 % 24),
                static_cast<int>(s / 60 % 60), static_cast<int>(s % 60));
  return text;
}

std::string fixed2(const Value& v) {
  const double* d = std::get_if<double>(&v);
  if (d == nullptr) return to_string(v);
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", *d);
  return text;
}

void print_windows(const std::vector<WindowResult>& results) {
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < std::min(results.size(), kShownWindows); ++i) {
    const WindowResult& w = results[i];
    rows.push_back({clock_time(w.window_start) + "-" + clock_time(w.window_end),
                    to_string(w.keys.at(0)), to_string(w.values.at(0)), fixed2(w.values.at(1)),
                    fixed2(w.values.at(2))});
  }
  print_table(
      std::cout,
      {{"window (UTC)"}, {"region"}, {"count", true}, {"avg(cpu)", true}, {"max(cpu)", true}},
      rows);
  if (results.size() > kShownWindows) {
    std::cout << "... " << results.size() - kShownWindows << " more windows\n";
  }
}

void print_summary(const Engine& engine, const Metrics& m, double seconds) {
  const int workers = m.batches_per_worker.empty() ? engine.config().workers
                                                   : static_cast<int>(m.batches_per_worker.size());
  char rate[64];
  std::snprintf(rate, sizeof(rate), "%.2f s, %.2f M events/s", seconds,
                seconds > 0 ? static_cast<double>(m.events_in) / seconds / 1e6 : 0.0);
  std::cout << "\n"
            << m.events_in << " events (" << m.events_filtered << " filtered, " << m.events_late
            << " late) in " << rate << " | backend " << to_string(engine.backend()) << " ("
            << engine.backend_reason() << ") | " << workers << " worker"
            << (workers == 1 ? "" : "s");
  if (engine.ranks().size() > 1)
    std::cout << " on " << engine.ranks().size() << " ranks (" << engine.ranks().transport_name()
              << ")";
  std::cout << '\n';
}

int run_demo(const DemoOptions& options) {
  const Engine engine(options.engine);
  std::vector<WindowResult> results;
  std::mutex mutex;
  Job job = engine.start(telemetry_schema(), demo_query(results, mutex));
  const BatchBuilder builder = job.make_builder();
  std::vector<DictionaryPtr> dictionaries;
  for (std::size_t i = 0; i < builder.schema().size(); ++i) {
    dictionaries.push_back(builder.dictionary(i));
  }
  const TelemetryColumns events =
      generate_telemetry(options.events, *dictionaries[1], *dictionaries[2], 42);
  // Under mpirun each rank pushes its contiguous share of the stream; rank 0 prints the
  // windows of all.
  const auto rank = static_cast<std::size_t>(engine.ranks().rank());
  const auto ranks = static_cast<std::size_t>(engine.ranks().size());
  const std::size_t first = events.size() / ranks * rank + events.size() % ranks * rank / ranks;
  const std::size_t last = rank + 1 == ranks ? events.size()
                                             : events.size() / ranks * (rank + 1) +
                                                   events.size() % ranks * (rank + 1) / ranks;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t begin = first; begin < last; begin += kPushRows) {
    job.push(telemetry_batch(events, begin, std::min(kPushRows, last - begin), dictionaries));
  }
  job.finish();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  const Metrics totals = job.total_metrics();
  if (rank != 0) return kExitOk;
  std::lock_guard lock(mutex);
  print_windows(results);
  print_summary(engine, totals, elapsed.count());
  return kExitOk;
}

}  // namespace

int demo_main(std::span<char* const> args) {
  DemoOptions options;
  try {
    options = parse_demo_options(args);
  } catch (const UsageError& e) {
    return report_usage_error("demo", e.what());
  }
  if (options.help) {
    std::cout << kDemoUsage;
    return kExitOk;
  }
  try {
    return run_demo(options);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::invalid_argument) return report_usage_error("demo", e.what());
    return report_runtime_error("demo", e.what());
  } catch (const std::exception& e) {
    return report_runtime_error("demo", e.what());
  }
}

}  // namespace sluice::cli
