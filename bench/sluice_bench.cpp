// sluice-bench: throughput workloads reported next to the bandwidth that bounds them.
#include <omp.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/bandwidth.hpp"
#include "bench/json_writer.hpp"
#include "bench/telemetry_workload.hpp"
#include "sluice/sluice.hpp"

namespace {

using sluice::bench::TelemetryOptions;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // engine error, backend unavailable, I/O
constexpr int kExitUsage = 2;
constexpr int kExitChecksum = 3;

constexpr std::size_t kCopyBytes = std::size_t{256} << 20;
constexpr int kCopyRepetitions = 5;

void print_usage(std::ostream& out) {
  const TelemetryOptions d;
  out << "usage: sluice-bench telemetry [options]\n"
         "\n"
         "Pushes generated telemetry events (ts timestamp[ms], host string, cpu f32, status i32)\n"
         "through the public API and times it; generation is not timed. The query:\n"
         "  filter(status == 200) . key_by(host) . event_time(ts, 2s) . tumbling 10s\n"
         "  . aggregate(count, sum(cpu), max(cpu))\n"
         "Reports events/s, events/s per core, input GB/s (20 bytes/event: ts 8 + host 4 +\n"
         "cpu 4 + status 4) next to the memcpy bandwidth measured in the same run (bytes\n"
         "read), and checks that the counts of all windows add up to the events that passed.\n"
         "\n"
         "options:\n"
         "  --backend cpu|gpu|auto   backend (default cpu)\n"
         "  --events N               events per run (default "
      << d.events
      << ")\n"
         "  --keys K                 distinct hosts (default "
      << d.keys
      << ")\n"
         "  --workers W              engine workers (default "
      << d.workers
      << ")\n"
         "  --threads T              OpenMP threads per CPU worker (default 0 = cores / workers)\n"
         "  --batch-rows R           micro-batch rows, also the pushed batch size (default "
      << d.batch_rows
      << ")\n"
         "  --repeat N               timed runs; best and median are reported (default "
      << d.repeat
      << ")\n"
         "  --time-rate E            events per second of event time (default "
      << d.time_rate
      << ")\n"
         "  --seed S                 generator seed (default "
      << d.seed
      << ")\n"
         "  --json FILE              also write a machine-readable record to FILE\n"
         "  -h, --help               this text\n"
         "\n"
         "Numbers may use '_' as a digit separator (20_000_000).\n"
         "exit status: 0 ok, 1 engine error or backend unavailable, 2 usage, 3 checksum mismatch\n";
}

struct UsageError {
  std::string message;
};

std::uint64_t parse_count(std::string_view flag, std::string_view text, std::uint64_t min,
                          std::uint64_t max) {
  std::string digits;
  for (char c : text)
    if (c != '_') digits += c;
  std::uint64_t v = 0;
  const char* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, v);
  if (digits.empty() || ec != std::errc() || ptr != end)
    throw UsageError{std::string(flag) + ": '" + std::string(text) + "' is not a number"};
  if (v < min || v > max)
    throw UsageError{std::string(flag) + ": " + std::string(text) + " is out of range [" +
                     std::to_string(min) + ", " + std::to_string(max) + "]"};
  return v;
}

TelemetryOptions parse_telemetry(const std::vector<std::string_view>& args) {
  TelemetryOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    std::string_view value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag != "-h" && flag != "--help") {
      if (i + 1 >= args.size()) throw UsageError{std::string(flag) + " needs a value"};
      value = args[++i];
    }
    constexpr std::uint64_t kIntMax = std::numeric_limits<int>::max();
    if (flag == "--backend") {
      if (value == "cpu")
        o.backend = sluice::Backend::cpu;
      else if (value == "gpu")
        o.backend = sluice::Backend::gpu;
      else if (value == "auto")
        o.backend = sluice::Backend::automatic;
      else
        throw UsageError{"--backend: '" + std::string(value) + "' is not cpu, gpu or auto"};
    } else if (flag == "--events") {
      o.events = parse_count(flag, value, 1, std::uint64_t{1} << 40);
    } else if (flag == "--keys") {
      o.keys = static_cast<std::uint32_t>(parse_count(flag, value, 1, 100'000'000));
    } else if (flag == "--workers") {
      o.workers = static_cast<int>(parse_count(flag, value, 1, 1024));
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(parse_count(flag, value, 0, 4096));
    } else if (flag == "--batch-rows") {
      o.batch_rows = parse_count(flag, value, 1, (std::uint64_t{1} << 32) - 1);
    } else if (flag == "--repeat") {
      o.repeat = static_cast<int>(parse_count(flag, value, 1, kIntMax));
    } else if (flag == "--time-rate") {
      o.time_rate = parse_count(flag, value, 1, std::uint64_t{1} << 40);
    } else if (flag == "--seed") {
      o.seed = parse_count(flag, value, 0, std::numeric_limits<std::uint64_t>::max());
    } else if (flag == "--json") {
      o.json = std::string(value);
    } else {
      throw UsageError{"unknown option '" + std::string(args[i]) + "'"};
    }
  }
  return o;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const auto begin = line.find_first_not_of(' ', colon + 1);
        return begin == std::string::npos ? "" : line.substr(begin);
      }
    }
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Summary {
  double best = 0;    // events/s of the fastest run
  double median = 0;  // events/s of the median run
};

int run_telemetry_command(const TelemetryOptions& o) {
  using sluice::bench::kBytesPerEvent;
  sluice::EngineConfig config;
  config.backend = o.backend;
  config.workers = o.workers;
  config.threads = o.threads;
  config.batch_rows = o.batch_rows;

  std::optional<sluice::Engine> engine;
  try {
    engine.emplace(config);
  } catch (const sluice::Error& e) {
    if (e.code() == sluice::ErrorCode::backend_unavailable) {
      std::cerr << "sluice-bench: the " << sluice::to_string(o.backend)
                << " backend is not available here: " << e.what() << "\n";
      return kExitError;
    }
    throw;
  }
  const bool gpu = engine->backend() == sluice::Backend::gpu;

  // Cores the CPU pipeline uses: each worker sets its OpenMP team to `threads` or
  // cores / workers (see EngineConfig::threads). The pushing thread shares these cores.
  const int procs = omp_get_num_procs();
  const int threads_per_worker = o.threads > 0 ? o.threads : std::max(1, procs / o.workers);
  const int omp_threads = o.workers * threads_per_worker;
  const int cores = gpu ? 0 : std::min(procs, omp_threads);

  std::cout << "sluice-bench telemetry: backend " << sluice::to_string(engine->backend()) << " ("
            << engine->backend_reason() << ")\n";
  if (!gpu)
    std::cout << "  " << o.workers << " worker(s) x " << threads_per_worker
              << " OpenMP thread(s) on " << cores << " of " << procs << " cores\n";
  std::cout << "  events " << o.events << ", keys " << o.keys << ", batch rows " << o.batch_rows
            << ", event-time rate " << o.time_rate << "/s, repeat " << o.repeat << "\n"
            << "  machine: " << cpu_model() << ", " << procs << " cores\n";

  const auto g0 = std::chrono::steady_clock::now();
  const sluice::bench::TelemetryData data = sluice::bench::generate_telemetry(o);
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
  std::printf("  generated %llu events (%llu with status 200) in %.2f s (not timed)\n",
              static_cast<unsigned long long>(o.events),
              static_cast<unsigned long long>(data.passing), gen_s);
  std::fflush(stdout);

  std::vector<sluice::bench::RunResult> runs;
  std::vector<double> rates;
  for (int r = 0; r < o.repeat; ++r) {
    runs.push_back(sluice::bench::run_telemetry(*engine, data, o));
    rates.push_back(runs.back().events_per_second());
    std::printf("  run %d: %.3f s  %.2f M events/s  (%llu batches)\n", r + 1, runs.back().seconds,
                rates.back() * 1e-6, static_cast<unsigned long long>(runs.back().batches));
    std::fflush(stdout);  // a run that crashes still shows the runs before it
  }
  const Summary rate{*std::max_element(rates.begin(), rates.end()), median(rates)};

  // The ceiling, measured now with as many threads as the pipeline uses.
  const int copy_threads = gpu ? omp_get_max_threads() : cores;
  const sluice::bench::CopyBandwidth copy =
      sluice::bench::measure_copy_bandwidth(kCopyBytes, copy_threads, kCopyRepetitions);
  sluice::bench::DeviceBandwidth device;
  if (gpu) device = sluice::bench::measure_device_bandwidth(kCopyBytes, kCopyRepetitions);

  const double gb_best = rate.best * kBytesPerEvent * 1e-9;
  const double gb_median = rate.median * kBytesPerEvent * 1e-9;
  const double ratio_best = gb_best / copy.read_gbps;
  const double ratio_median = gb_median / copy.read_gbps;

  // Every run must account for every event.
  bool ok = true;
  for (const auto& run : runs)
    ok = ok && run.events_in == o.events && run.passed == data.passing &&
         run.count_sum == data.passing && run.late == 0;
  const sluice::bench::RunResult& last = runs.back();

  std::printf("events/s        best %10.2f M   median %10.2f M\n", rate.best * 1e-6,
              rate.median * 1e-6);
  if (!gpu)
    std::printf("per core        best %10.2f M   median %10.2f M   (%d cores)\n",
                rate.best / cores * 1e-6, rate.median / cores * 1e-6, cores);
  std::printf("input GB/s      best %10.3f     median %10.3f     (%zu bytes/event read)\n", gb_best,
              gb_median, kBytesPerEvent);
  std::printf(
      "memcpy GB/s     read %10.2f     read+write %6.2f  (%d threads, %zu MiB, best of %d)\n",
      copy.read_gbps, copy.read_write_gbps, copy.threads, copy.bytes >> 20, copy.repetitions);
  std::printf("ratio           best %9.2f %%   median %9.2f %%   (input GB/s / memcpy read GB/s)\n",
              100 * ratio_best, 100 * ratio_median);
  if (gpu) {
    if (device.available)
      std::printf("device GB/s     H2D pinned %6.2f   D2D read %8.2f   host-fed ratio %.2f %%\n",
                  device.h2d_pinned_gbps, device.d2d_read_gbps,
                  100 * gb_best / device.h2d_pinned_gbps);
    else
      std::printf("device GB/s     not measured: %s\n", device.why.c_str());
  }
  std::printf("windows         %llu windows, %llu (window, host) rows emitted (last run)\n",
              static_cast<unsigned long long>(last.windows),
              static_cast<unsigned long long>(last.result_rows));
  std::printf(
      "checksum        sum(count) %llu, passed filter %llu, generated status 200 %llu, "
      "late %llu: %s\n",
      static_cast<unsigned long long>(last.count_sum), static_cast<unsigned long long>(last.passed),
      static_cast<unsigned long long>(data.passing), static_cast<unsigned long long>(last.late),
      ok ? "OK" : "MISMATCH");

  if (!o.json.empty()) {
    sluice::bench::JsonWriter j;
    j.begin_object();
    j.member("benchmark", "telemetry").member("date", utc_now());
    j.key("machine").begin_object();
    j.member("cpu_model", cpu_model()).member("cores", procs);
    j.end_object();
    j.key("config").begin_object();
    j.member("backend_requested", sluice::to_string(o.backend))
        .member("backend", sluice::to_string(engine->backend()))
        .member("backend_reason", engine->backend_reason())
        .member("events", o.events)
        .member("keys", static_cast<std::uint64_t>(o.keys))
        .member("workers", o.workers)
        .member("threads_per_worker", gpu ? 0 : threads_per_worker)
        .member("cores_used", cores)
        .member("batch_rows", static_cast<std::uint64_t>(o.batch_rows))
        .member("repeat", o.repeat)
        .member("time_rate", o.time_rate)
        .member("seed", o.seed)
        .member("bytes_per_event", static_cast<std::uint64_t>(kBytesPerEvent))
        .member("query",
                "filter(status == 200) . key_by(host) . event_time(ts, 2s) . tumbling(10s) . "
                "aggregate(count, sum(cpu), max(cpu))");
    j.end_object();
    j.key("runs").begin_array();
    for (const auto& run : runs) {
      j.begin_object();
      j.member("seconds", run.seconds)
          .member("events_per_second", run.events_per_second())
          .member("events_in", run.events_in)
          .member("passed", run.passed)
          .member("late", run.late)
          .member("count_sum", run.count_sum)
          .member("windows", run.windows)
          .member("result_rows", run.result_rows)
          .member("batches", run.batches);
      j.end_object();
    }
    j.end_array();
    j.key("events_per_second").begin_object();
    j.member("best", rate.best).member("median", rate.median);
    j.end_object();
    j.key("events_per_second_per_core").begin_object();
    if (gpu) {
      j.member("best", std::numeric_limits<double>::quiet_NaN())
          .member("median", std::numeric_limits<double>::quiet_NaN());
    } else {
      j.member("best", rate.best / cores).member("median", rate.median / cores);
    }
    j.end_object();
    j.key("input_gbps").begin_object();
    j.member("best", gb_best).member("median", gb_median);
    j.end_object();
    j.key("memcpy").begin_object();
    j.member("read_gbps", copy.read_gbps)
        .member("read_write_gbps", copy.read_write_gbps)
        .member("threads", copy.threads)
        .member("bytes", static_cast<std::uint64_t>(copy.bytes))
        .member("repetitions", copy.repetitions);
    j.end_object();
    j.key("ratio_to_memcpy_read").begin_object();
    j.member("best", ratio_best).member("median", ratio_median);
    j.end_object();
    j.key("device").begin_object();
    j.member("measured", device.available);
    if (device.available) {
      j.member("h2d_pinned_gbps", device.h2d_pinned_gbps)
          .member("d2d_read_gbps", device.d2d_read_gbps)
          .member("ratio_to_h2d", gb_best / device.h2d_pinned_gbps);
    } else if (gpu) {
      j.member("why", device.why);
    }
    j.end_object();
    j.key("checksum").begin_object();
    j.member("generated_passing", data.passing)
        .member("count_sum", last.count_sum)
        .member("passed", last.passed)
        .member("ok", ok);
    j.end_object();
    j.end_object();
    std::ofstream out(o.json);
    out << j.str();
    if (!out) {
      std::cerr << "sluice-bench: cannot write " << o.json << "\n";
      return kExitError;
    }
  }
  return ok ? kExitOk : kExitChecksum;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] != "telemetry") {
    std::cerr << "sluice-bench: unknown workload '" << args[0] << "'\n\n";
    print_usage(std::cerr);
    return kExitUsage;
  }
  args.erase(args.begin());
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    print_usage(std::cout);
    return kExitOk;
  }
  try {
    return run_telemetry_command(parse_telemetry(args));
  } catch (const UsageError& e) {
    std::cerr << "sluice-bench: " << e.message << "\n(see sluice-bench --help)\n";
    return kExitUsage;
  } catch (const sluice::Error& e) {
    std::cerr << "sluice-bench: " << sluice::to_string(e.code()) << ": " << e.what() << "\n";
    return kExitError;
  } catch (const std::exception& e) {
    std::cerr << "sluice-bench: " << e.what() << "\n";
    return kExitError;
  }
}
