// Sample: per-host tumbling 5 s windows (count, avg and max cpu) over out-of-order telemetry.
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>

#include "sluice/sluice.hpp"

int main() {
  using namespace sluice;
  using std::chrono::milliseconds;
  using std::chrono::seconds;

  constexpr int kHosts = 4;
  constexpr int kSeconds = 60;          // of event time
  constexpr int kEventsPerSecond = 40;  // over all hosts
  constexpr std::int64_t kJitterMs = 1500;
  constexpr std::int64_t kStartMs = 1'700'000'000'000;

  const Schema schema(
      {{"host", TypeId::string}, {"cpu", TypeId::f32}, {"ts", DataType::timestamp(TimeUnit::ms)}});

  // Written by the sinks (one engine thread at a time), read after finish().
  std::int64_t windowed_events = 0;
  std::uint64_t late_seen = 0;

  Query query;
  query.key_by({"host"})
      .event_time("ts", seconds(2))  // more than kJitterMs: ordinary jitter is never late
      .window(WindowSpec::tumbling(seconds(5)))
      .aggregate({count(), avg(col("cpu")).as("avg_cpu"), max(col("cpu")).as("max_cpu")})
      .sink([&](std::span<const WindowResult> results) {
        std::printf("-- %zu window(s) closed\n", results.size());
        for (const WindowResult& r : results) {
          std::printf("window [%lld, %lld) %-7s count=%-4lld avg_cpu=%5.1f max_cpu=%5.1f%s\n",
                      static_cast<long long>(r.window_start - kStartMs),
                      static_cast<long long>(r.window_end - kStartMs), to_string(r.keys[0]).c_str(),
                      static_cast<long long>(std::get<std::int64_t>(r.values[0])),
                      std::get<double>(r.values[1]), std::get<double>(r.values[2]),
                      r.update ? " (update)" : "");
          windowed_events += std::get<std::int64_t>(r.values[0]);
        }
      })
      .late_sink([&](const Batch& late) { late_seen += late.rows(); });

  // Small micro-batches so that windows fire while the stream runs, not only at the end.
  EngineConfig config;
  config.batch_rows = 200;

  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> cpu(5.0f, 95.0f);
  std::uniform_int_distribution<std::int64_t> jitter(0, kJitterMs);
  std::uniform_int_distribution<int> host(0, kHosts - 1);
  std::int64_t pushed = 0, stragglers = 0;
  Metrics metrics;
  try {
    const Engine engine(config);
    std::printf("backend: %s; times are ms from the start of the stream\n",
                to_string(engine.backend()));
    Job job = engine.start(schema, query);
    BatchBuilder builder = job.make_builder();
    for (int s = 0; s < kSeconds; ++s) {
      for (int e = 0; e < kEventsPerSecond; ++e) {
        const std::int64_t ts =
            kStartMs + kJitterMs + s * 1000 + e * (1000 / kEventsPerSecond) - jitter(rng);
        builder.append_row({Value("web-" + std::to_string(host(rng))),
                            Value(static_cast<double>(cpu(rng))), Value(ts)});
      }
      // Every 15 s a straggler arrives 30 s late: its window fired long ago.
      if (s >= 30 && s % 15 == 0) {
        builder.append_row({Value("web-0"), Value(50.0), Value(kStartMs + (s - 30) * 1000)});
        ++stragglers;
      }
      pushed += static_cast<std::int64_t>(builder.rows());
      job.push(builder.finish());
    }
    job.finish();
    metrics = job.metrics();
  } catch (const Error& e) {
    std::fprintf(stderr, "telemetry_window: %s: %s\n", to_string(e.code()), e.what());
    return 1;
  }

  std::printf(
      "%lld events pushed, %lld counted in windows, %llu late (side output %llu, "
      "stragglers sent %lld), %llu window rows\n",
      static_cast<long long>(pushed), static_cast<long long>(windowed_events),
      static_cast<unsigned long long>(metrics.events_late),
      static_cast<unsigned long long>(late_seen), static_cast<long long>(stragglers),
      static_cast<unsigned long long>(metrics.windows_fired));
  const bool ok = windowed_events + static_cast<std::int64_t>(metrics.events_late) == pushed &&
                  late_seen == metrics.events_late &&
                  metrics.events_late == static_cast<std::uint64_t>(stragglers);
  std::printf("%s\n", ok ? "OK: every event is in a window or counted late" : "MISMATCH");
  return ok ? 0 : 1;
}
