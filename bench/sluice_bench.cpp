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
#include "bench/fused_ceiling.hpp"
#include "bench/json_writer.hpp"
#include "bench/state_memory.hpp"
#include "bench/telemetry_resident.hpp"
#include "bench/telemetry_workload.hpp"
#include "host/engine/string_pattern.hpp"
#include "sluice/sluice.hpp"

namespace {

using sluice::bench::FeedMode;
using sluice::bench::TelemetryOptions;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // engine error, backend unavailable, I/O
constexpr int kExitUsage = 2;
constexpr int kExitChecksum = 3;

constexpr std::size_t kCopyBytes = std::size_t{256} << 20;
constexpr int kCopyRepetitions = 5;

// Targets of the GPU issue, as fractions of the ceiling of each mode (bench/NOTES.md).
constexpr double kHostFedTarget = 0.80;   // of pinned host-to-device copy bandwidth
constexpr double kResidentTarget = 0.30;  // of device-to-device copy bandwidth, bytes read

void print_usage(std::ostream& out) {
  const TelemetryOptions d;
  out << "usage: sluice-bench telemetry [options]\n"
         "\n"
         "Times a query over generated telemetry events (ts timestamp[ms], host string, cpu f32,\n"
         "status i32), pushed through the public API (host-fed) or read in device memory\n"
         "(resident); generation is not timed. The query:\n"
         "  filter(status == 200 and cpu > 10) . key_by(host) . event_time(ts, 2s) . tumbling 10s\n"
         "  . aggregate(count, sum(cpu), max(cpu))\n"
         "Reports events/s, input GB/s (the bytes of the columns the query reads, 20 per\n"
         "event: ts 8 + host 4 + cpu 4 + status 4) next to the ceiling of the mode, measured\n"
         "in the same run, and checks that the counts of all windows add up to the events\n"
         "that passed the filter. Ceilings (GB = 1e9 bytes, counted as bytes read = copied):\n"
         "  cpu backend            memcpy with the pipeline's threads (and events/s per core)\n"
         "  gpu, --mode host-fed   pinned host-to-device cudaMemcpyAsync (target >= 80 %)\n"
         "  gpu, --mode resident   device-to-device cudaMemcpyAsync, bytes read; read+write\n"
         "                         is twice that (target >= 30 %)\n"
         "\n"
         "options:\n"
         "  --backend cpu|gpu|auto   backend (default cpu)\n"
         "  --mode host-fed|resident where the events are while the clock runs (default\n"
         "                           host-fed). host-fed: host memory (pinned for the gpu\n"
         "                           backend) pushed through Engine/Job. resident: device\n"
         "                           memory, the GPU pipeline's stages driven directly, no\n"
         "                           Engine; batch 0 is an untimed warm-up. resident needs a\n"
         "                           GPU: it is a usage error with --backend cpu, and with\n"
         "                           --backend auto it requires the GPU.\n"
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
         "  --round-batches K        batches per worker in a round, pre-aggregated together\n"
         "                           before the exchange (default 1; EngineConfig::round_batches)\n"
         "  --trigger T              watermark (default), every:INTERVAL, count:N or on:EXPR:\n"
         "                           early firings (their rows are counted, not checked)\n"
         "  --broadcast              read the cpu threshold from broadcast state (a row per\n"
         "                           host; the same results, one lookup per event)\n"
         "  --like PATTERN           also require host like PATTERN, which must match every\n"
         "                           host (host-000000 ...; e.g. 'host-%' or '%'): the same\n"
         "                           results, one lookup per event in the matching codes\n"
         "  --order on|off           result batches ordered by window and key (default on;\n"
         "                           EngineConfig::ordered_results)\n"
         "  --json FILE              also write a machine-readable record to FILE\n"
         "  --dump DIR               also write the generated columns to DIR (ts.i64 host.u32\n"
         "                           cpu.f32 status.i32, raw little-endian, and meta.json):\n"
         "                           the events other systems are compared on (bench/peers.py)\n"
         "  -h, --help               this text\n"
         "\n"
         "Numbers may use '_' as a digit separator (20_000_000).\n"
         "exit status: 0 ok, 1 engine error or backend unavailable (no GPU for --backend gpu or\n"
         "--mode resident), 2 usage, 3 checksum mismatch\n";
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
    } else if (flag != "-h" && flag != "--help" && flag != "--broadcast") {  // switches
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
    } else if (flag == "--mode") {
      if (value == "host-fed")
        o.mode = FeedMode::host_fed;
      else if (value == "resident")
        o.mode = FeedMode::resident;
      else
        throw UsageError{"--mode: '" + std::string(value) + "' is not host-fed or resident"};
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
    } else if (flag == "--dump") {
      o.dump = std::string(value);
    } else if (flag == "--round-batches") {
      o.round_batches = static_cast<int>(parse_count(flag, value, 1, 1024));
    } else if (flag == "--trigger") {
      try {
        o.trigger = sluice::parse_trigger(value);
      } catch (const sluice::Error& e) {
        throw UsageError{std::string("--trigger: ") + e.what()};
      }
    } else if (flag == "--broadcast") {
      o.broadcast = true;
    } else if (flag == "--like") {
      o.like = std::string(value);
    } else if (flag == "--order") {
      if (value != "on" && value != "off")
        throw UsageError{"--order: '" + std::string(value) + "' is not on or off"};
      o.ordered = value == "on";
    } else {
      throw UsageError{"unknown option '" + std::string(args[i]) + "'"};
    }
  }
  if (o.mode == FeedMode::resident && o.backend == sluice::Backend::cpu)
    throw UsageError{
        "--mode resident needs the gpu backend (--backend gpu or auto): the cpu backend always "
        "reads host memory, which is --mode host-fed"};
  if (o.mode == FeedMode::resident && o.workers != 1)
    throw UsageError{"--mode resident drives one pipeline: --workers must be 1"};
  if (o.broadcast && o.mode == FeedMode::resident)
    throw UsageError{"--broadcast: the resident mode runs its own pipeline; use --mode host-fed"};
  if (!o.like.empty() && o.mode == FeedMode::resident)
    throw UsageError{"--like: the resident mode runs its own pipeline; use --mode host-fed"};
  // The checksum and the hand-fused loop count the events status and cpu keep: the pattern
  // must keep every host, so that what is measured is the lookup's cost.
  for (std::uint32_t k = 0; !o.like.empty() && k < o.keys; ++k)
    if (!sluice::detail::like_match(sluice::bench::host_name(k), o.like))
      throw UsageError{"--like: '" + o.like + "' does not match " + sluice::bench::host_name(k) +
                       ": the pattern must match every host name (host-000000 on), so that the "
                       "checksum and the loop count the same events"};
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

/// The bound a mode's figure is compared with.
struct Ceiling {
  const char* name = "";   // JSON name
  const char* label = "";  // printed
  double gbps = 0;         // bytes read per second / 1e9; 0 when not measured
  double target = 0;       // as a fraction of gbps; 0: no ratio target (CPU: per-core target)
};

int run_telemetry_command(const TelemetryOptions& o) {
  const bool resident = o.mode == FeedMode::resident;
  sluice::EngineConfig config;
  config.backend = o.backend;
  config.workers = o.workers;
  config.threads = o.threads;
  config.batch_rows = o.batch_rows;
  config.ordered_results = o.ordered;
  config.round_batches = o.round_batches;
  // The batches are coded once, up front, with the job's dictionary, over a fixed set of hosts:
  // a reclaim of the hosts not yet seen would turn every later batch into a copy (see
  // EngineConfig::string_reclaim_threshold), so the benchmark, like such a user, turns it off.
  config.string_reclaim_threshold = 0;

  // Host-fed runs go through an Engine; resident runs need only a working device.
  std::optional<sluice::Engine> engine;
  sluice::Backend backend = sluice::Backend::gpu;
  std::string backend_reason;
  if (resident) {
    std::string why;
    if (!sluice::Engine::gpu_available(&why)) {
      std::cerr << "sluice-bench: the gpu backend is not available here: " << why << "\n";
      return kExitError;
    }
    backend_reason = "resident mode: the CUDA pipeline on device 0, driven without Engine/Job";
  } else {
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
    backend = engine->backend();
    backend_reason = engine->backend_reason();
  }
  // Under mpirun every rank runs the benchmark; rank 0 reports.
  const int ranks = engine ? engine->ranks().size() : 1;
  if (engine && engine->ranks().rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr)
    return kExitError;
  const bool gpu = backend == sluice::Backend::gpu;
  const std::size_t bytes_per_event = sluice::bench::read_bytes_per_event();

  // Cores the CPU pipeline uses: each worker sets its OpenMP team to `threads` or
  // cores / workers (see EngineConfig::threads). The pushing thread shares these cores.
  const int procs = omp_get_num_procs();
  const int threads_per_worker = o.threads > 0 ? o.threads : std::max(1, procs / o.workers);
  const int omp_threads = o.workers * threads_per_worker;
  const int cores = gpu ? 0 : std::min(procs, omp_threads);

  std::cout << "sluice-bench telemetry: backend " << sluice::to_string(backend) << ", mode "
            << sluice::bench::to_string(o.mode) << " (" << backend_reason << ")\n";
  if (!gpu)
    std::cout << "  " << o.workers << " worker(s) x " << threads_per_worker
              << " OpenMP thread(s) on " << cores << " of " << procs << " cores\n";
  std::cout << "  events " << o.events << ", keys " << o.keys << ", batch rows " << o.batch_rows
            << ", event-time rate " << o.time_rate << "/s, " << o.round_batches
            << " batch(es) per worker and round, repeat " << o.repeat << ", results "
            << (o.ordered ? "ordered" : "unordered")
            << (o.broadcast ? ", threshold from broadcast state" : "")
            << (o.like.empty() ? std::string() : ", and host like '" + o.like + "'")
            << (o.trigger.kind != sluice::TriggerSpec::Kind::watermark
                    ? ", trigger " + sluice::to_string(o.trigger)
                    : std::string())
            << "\n"
            << "  machine: " << cpu_model() << ", " << procs << " cores\n";

  // The GPU backend copies from pinned memory; resident data is copied to the device once.
  const auto memory =
      gpu && !resident ? sluice::bench::HostMemory::pinned : sluice::bench::HostMemory::pageable;
  const auto g0 = std::chrono::steady_clock::now();
  const sluice::bench::TelemetryData data = sluice::bench::generate_telemetry(o, memory);
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
  std::printf(
      "  generated %llu events (%llu with status 200) in %s host memory in %.2f s (not "
      "timed)\n",
      static_cast<unsigned long long>(o.events), static_cast<unsigned long long>(data.passing),
      memory == sluice::bench::HostMemory::pinned ? "pinned" : "pageable", gen_s);
  sluice::bench::ResidentTelemetry device_data;
  if (resident) {
    const auto u0 = std::chrono::steady_clock::now();
    device_data = sluice::bench::upload_telemetry(data, o);
    std::printf("  copied %.1f MB to device 0 in %.2f s (not timed)\n",
                static_cast<double>(data.size() * sluice::bench::kBytesPerEvent) * 1e-6,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - u0).count());
  }
  if (!o.dump.empty()) {
    sluice::bench::dump_telemetry(data, o, o.dump);
    std::printf("  wrote the columns to %s (not timed)\n", o.dump.c_str());
  }
  std::fflush(stdout);

  // Each engine run is followed by a run of the hand-fused loop (the software ceiling) on the
  // same data and threads, so that both see the machine in the same state.
  std::vector<sluice::bench::RunResult> runs;
  std::vector<double> rates;
  std::vector<double> ceiling_rates;
  sluice::bench::CeilingResult ceiling_run;
  for (int r = 0; r < o.repeat; ++r) {
    runs.push_back(resident ? sluice::bench::run_telemetry_resident(device_data)
                            : sluice::bench::run_telemetry(*engine, data, o));
    const sluice::bench::RunResult& run = runs.back();
    rates.push_back(run.events_per_second());
    std::printf("  run %d: %.3f s  %.2f M events/s  (%llu batches", r + 1, run.seconds,
                rates.back() * 1e-6, static_cast<unsigned long long>(run.batches));
    if (run.events_timed != run.events_in)
      std::printf(", %llu events timed after the warm-up batch",
                  static_cast<unsigned long long>(run.events_timed));
    std::printf("; setup %.2f s untimed)", run.setup_seconds);
    if (!gpu && ranks == 1) {
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads_per_worker);
      ceiling_run = sluice::bench::run_fused_ceiling(data, o.batch_rows);
      omp_set_num_threads(before);
      ceiling_rates.push_back(ceiling_run.events_per_second(o.events));
      std::printf("  loop %.2f M events/s", ceiling_rates.back() * 1e-6);
    }
    std::printf("\n");
    std::fflush(stdout);  // a run that crashes still shows the runs before it
  }
  const Summary rate{*std::max_element(rates.begin(), rates.end()), median(rates)};
  std::vector<double> pair_ratios;
  for (std::size_t r = 0; r < ceiling_rates.size(); ++r)
    pair_ratios.push_back(rates[r] / ceiling_rates[r]);

  const double loop_best =
      ceiling_rates.empty() ? 0 : *std::max_element(ceiling_rates.begin(), ceiling_rates.end());
  // The hand-fused loop runs in one process only (across ranks it would share their cores).
  const bool ceiling_ok =
      gpu || ranks > 1 ||
      (ceiling_run.passed == data.passing && ceiling_run.count_sum == data.passing);

  // The ceilings, measured now: host memcpy with as many threads as the pipeline uses, and on
  // the GPU the pinned H2D and D2D copies.
  const int copy_threads = gpu ? omp_get_max_threads() : cores;
  const sluice::bench::CopyBandwidth copy =
      sluice::bench::measure_copy_bandwidth(kCopyBytes, copy_threads, kCopyRepetitions);
  sluice::bench::DeviceBandwidth device;
  if (gpu) device = sluice::bench::measure_device_bandwidth(kCopyBytes, kCopyRepetitions);

  Ceiling ceiling;
  if (!gpu)
    ceiling = {"memcpy_read", "memcpy read", copy.read_gbps, 0};
  else if (resident)
    ceiling = {"d2d_read", "D2D copy read", device.d2d_read_gbps, kResidentTarget};
  else
    ceiling = {"h2d_pinned", "pinned H2D copy", device.h2d_pinned_gbps, kHostFedTarget};
  const bool ceiling_measured = ceiling.gbps > 0;

  const double gb_best = rate.best * static_cast<double>(bytes_per_event) * 1e-9;
  const double gb_median = rate.median * static_cast<double>(bytes_per_event) * 1e-9;
  const double ratio_best = gb_best / copy.read_gbps;
  const double ratio_median = gb_median / copy.read_gbps;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double ceiling_best = ceiling_measured ? gb_best / ceiling.gbps : nan;
  const double ceiling_median = ceiling_measured ? gb_median / ceiling.gbps : nan;
  const bool target_met = ceiling_measured && ceiling.target > 0 && ceiling_best >= ceiling.target;

  // Every run must account for every event.
  bool ok = true;
  ok = ok && ceiling_ok;
  for (const auto& run : runs)
    ok = ok && run.events_in == o.events && run.passed == data.passing &&
         run.count_sum == data.passing && run.late == 0;
  const sluice::bench::RunResult& last = runs.back();

  std::printf("events/s        best %10.2f M   median %10.2f M\n", rate.best * 1e-6,
              rate.median * 1e-6);
  if (ranks > 1) {
    // The exchange between ranks: its volume against the input's, its share of the rounds.
    const double input_bytes =
        static_cast<double>(last.events_in) * static_cast<double>(bytes_per_event);
    std::printf(
        "ranks           %d (%s): per rank best %8.2f M events/s\n"
        "exchange        %.1f MB sent between ranks = %.2f %% of the input bytes (partials "
        "%.2f %%; the rest event times and windows gathered on rank 0); %.1f %% of the "
        "workers' round time in the exchange's collectives (waits for other ranks included)\n",
        ranks, engine->ranks().transport_name(), rate.best / ranks * 1e-6,
        static_cast<double>(last.exchange_bytes) * 1e-6,
        100 * static_cast<double>(last.exchange_bytes) / input_bytes,
        100 * static_cast<double>(last.partial_bytes) / input_bytes,
        last.round_seconds > 0 ? 100 * last.exchange_seconds / last.round_seconds : 0.0);
  }
  if (last.emission_latency.count > 0) {
    const sluice::Histogram& e = last.emission_latency;
    const sluice::Histogram& r = last.round_duration;
    std::printf(
        "latency         emission p50 %.3g ms  p99 %.3g ms  (%llu rows fired before the end; flat "
        "out, so waiting behind earlier batches included)   round p50 %.3g ms  p99 %.3g ms  "
        "(last run)\n",
        e.quantile(0.5) * 1e3, e.quantile(0.99) * 1e3, static_cast<unsigned long long>(e.count),
        r.quantile(0.5) * 1e3, r.quantile(0.99) * 1e3);
  }
  if (!gpu) {
    std::printf("per core        best %10.2f M   median %10.2f M   (%d cores)\n",
                rate.best / cores * 1e-6, rate.median / cores * 1e-6, cores);
    std::printf(
        "hand-fused loop best %10.2f M   sluice / loop %6.1f %% best/best, %.1f %% median of "
        "run pairs   (bench/fused_ceiling.cpp, same data and threads; %llu rows, checksum %s)\n",
        loop_best * 1e-6, loop_best > 0 ? 100 * rate.best / loop_best : 0.0,
        pair_ratios.empty() ? 0.0 : 100 * median(pair_ratios),
        static_cast<unsigned long long>(ceiling_run.result_rows), ceiling_ok ? "OK" : "MISMATCH");
  }
  std::printf("input GB/s      best %10.3f     median %10.3f     (%zu bytes/event read)\n", gb_best,
              gb_median, bytes_per_event);
  std::printf(
      "memcpy GB/s     read %10.2f     read+write %6.2f  (%d threads, %zu MiB, best of %d)\n",
      copy.read_gbps, copy.read_write_gbps, copy.threads, copy.bytes >> 20, copy.repetitions);
  if (!gpu)
    std::printf(
        "ratio           best %9.2f %%   median %9.2f %%   (input GB/s / memcpy read GB/s)\n",
        100 * ratio_best, 100 * ratio_median);
  if (gpu) {
    if (device.available) {
      std::printf(
          "device GB/s     H2D pinned %8.2f   D2D read %8.2f   D2D read+write %8.2f   (device 0, "
          "cudaMemcpyAsync, %zu MiB, best of %d)\n",
          device.h2d_pinned_gbps, device.d2d_read_gbps, 2 * device.d2d_read_gbps,
          device.bytes >> 20, kCopyRepetitions);
      std::printf(
          "ratio           best %9.2f %%   median %9.2f %%   (input GB/s / %s GB/s; target >= "
          "%.0f %%: %s)\n",
          100 * ceiling_best, 100 * ceiling_median, ceiling.label, 100 * ceiling.target,
          target_met ? "met" : "not met");
    } else {
      std::printf("device GB/s     not measured: %s\n", device.why.c_str());
    }
  }
  std::printf(
      "windows         %llu windows, %llu (window, host) rows emitted, %llu early (last run)\n",
      static_cast<unsigned long long>(last.windows),
      static_cast<unsigned long long>(last.result_rows),
      static_cast<unsigned long long>(last.update_rows));
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
        .member("backend", sluice::to_string(backend))
        .member("backend_reason", backend_reason)
        .member("mode", sluice::bench::to_string(o.mode))
        .member("host_memory", memory == sluice::bench::HostMemory::pinned ? "pinned" : "pageable")
        .member("events", o.events)
        .member("keys", static_cast<std::uint64_t>(o.keys))
        .member("workers", o.workers)
        .member("threads_per_worker", gpu ? 0 : threads_per_worker)
        .member("cores_used", cores)
        .member("batch_rows", static_cast<std::uint64_t>(o.batch_rows))
        .member("repeat", o.repeat)
        .member("time_rate", o.time_rate)
        .member("seed", o.seed)
        .member("bytes_per_event", static_cast<std::uint64_t>(bytes_per_event))
        .member("ordered_results", o.ordered)
        .member("round_batches", o.round_batches)
        .member("broadcast", o.broadcast)
        .member("like", o.like)
        .member("query",
                "filter(status == 200 and cpu > 10) . key_by(host) . event_time(ts, 2s) . "
                "tumbling(10s) . "
                "aggregate(count, sum(cpu), max(cpu))");
    j.end_object();
    j.key("runs").begin_array();
    for (const auto& run : runs) {
      j.begin_object();
      j.member("seconds", run.seconds)
          .member("events_per_second", run.events_per_second())
          .member("events_in", run.events_in)
          .member("events_timed", run.events_timed)
          .member("setup_seconds", run.setup_seconds)
          .member("passed", run.passed)
          .member("late", run.late)
          .member("count_sum", run.count_sum)
          .member("windows", run.windows)
          .member("result_rows", run.result_rows)
          .member("cpu_sum", run.cpu_sum)
          .member("cpu_max", run.cpu_max)
          .member("batches", run.batches)
          .member("ranks", run.ranks)
          .member("exchange_bytes", run.exchange_bytes)
          .member("partial_bytes", run.partial_bytes)
          .member("round_seconds", run.round_seconds)
          .member("exchange_seconds", run.exchange_seconds);
      // Quantiles of Metrics' histograms (interpolated in their buckets); NaN when empty.
      for (const auto& [name, h] : {std::pair{"emission_latency_seconds", &run.emission_latency},
                                    std::pair{"round_duration_seconds", &run.round_duration}}) {
        j.key(name).begin_object();
        j.member("count", h->count)
            .member("p50", h->quantile(0.5))
            .member("p99", h->quantile(0.99))
            .member("sum", h->sum);
        j.end_object();
      }
      j.end_object();
    }
    j.end_array();
    j.key("events_per_second").begin_object();
    j.member("best", rate.best).member("median", rate.median);
    j.end_object();
    j.key("fused_loop").begin_object();
    j.member("measured", !ceiling_rates.empty());
    if (!ceiling_rates.empty()) {
      j.member("best", loop_best)
          .member("median", median(ceiling_rates))
          .member("ratio_best", rate.best / loop_best)
          .member("ratio_median_of_pairs", median(pair_ratios))
          .member("result_rows", ceiling_run.result_rows)
          .member("checksum_ok", ceiling_ok);
      j.key("runs").begin_array();
      for (double r : ceiling_rates) j.value(r);
      j.end_array();
    }
    j.end_object();
    j.key("events_per_second_per_core").begin_object();
    if (gpu) {
      j.member("best", nan).member("median", nan);
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
          .member("d2d_read_write_gbps", 2 * device.d2d_read_gbps)
          .member("bytes", static_cast<std::uint64_t>(device.bytes))
          .member("repetitions", kCopyRepetitions)
          .member("ratio_to_h2d", gb_best / device.h2d_pinned_gbps)
          .member("ratio_to_d2d_read", gb_best / device.d2d_read_gbps);
    } else if (gpu) {
      j.member("why", device.why);
    }
    j.end_object();
    // The bound of this mode: input bytes read per second against the ceiling's bytes read
    // (= bytes copied) per second.
    j.key("ceiling").begin_object();
    j.member("name", ceiling.name)
        .member("measured", ceiling_measured)
        .member("gbps", ceiling_measured ? ceiling.gbps : nan)
        .member("counts", "bytes read per second (= bytes copied); read+write is twice this");
    j.end_object();
    j.key("ratio_to_ceiling").begin_object();
    j.member("best", ceiling_best)
        .member("median", ceiling_median)
        .member("target", ceiling.target > 0 ? ceiling.target : nan)
        .member("target_met", target_met);
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
  if (args[0] == "state") {
    args.erase(args.begin());
    return sluice::bench::run_state_command(args);
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
