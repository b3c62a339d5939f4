// The GPU backend against the CPU backend on the same out-of-order streams (skipped without a GPU).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "sluice/sluice.hpp"

namespace sluice {
namespace {

using Finals = std::map<std::tuple<std::int64_t, std::string, std::int64_t>, std::vector<Value>>;

struct RunResult {
  Finals finals;
  Metrics metrics;
};

RunResult run_job(
    Backend backend, int workers,
    const std::vector<std::tuple<std::int64_t, std::string, std::int64_t, double>>& rows) {
  Schema schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"host", TypeId::string},
                 {"zone", TypeId::i64},
                 {"cpu", TypeId::f64}});
  RunResult out;
  Query q;
  q.filter(col("cpu") > lit(5.0))
      .key_by({"host", "zone"})
      .event_time("ts", std::chrono::milliseconds(800))
      .allowed_lateness(std::chrono::milliseconds(500))
      .window(WindowSpec::sliding(std::chrono::seconds(3), std::chrono::seconds(1)))
      .aggregate(
          {count(), sum(col("cpu")), min(col("zone") * lit(3)), max(col("cpu")), avg(col("cpu"))})
      .sink([&](std::span<const WindowResult> results) {
        for (const WindowResult& r : results)
          out.finals[{r.window_start, std::get<std::string>(r.keys[0]),
                      std::get<std::int64_t>(r.keys[1])}] = r.values;
      });
  EngineConfig config;
  config.backend = backend;
  config.workers = workers;
  config.batch_rows = 7919;
  config.batch_timeout = std::chrono::hours(1);
  Engine engine(config);
  Job job = engine.start(schema, q);
  BatchBuilder builder = job.make_builder();
  for (const auto& [ts, host, zone, cpu] : rows)
    builder.append_row({Value(ts), Value(host), Value(zone), Value(cpu)});
  job.push(builder.finish());
  job.finish();
  out.metrics = job.metrics();
  return out;
}

TEST(GpuBackend, SameWindowsAsCpuBackend) {
  std::string why;
  if (!Engine::gpu_available(&why)) GTEST_SKIP() << "no usable GPU: " << why;
  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::tuple<std::int64_t, std::string, std::int64_t, double>> rows;
  for (std::int64_t i = 0; i < 200000; ++i) {
    std::int64_t ts = i / 10 - static_cast<std::int64_t>(rng() % 1500);
    if (rng() % 200 == 0) ts -= 4000;                           // some too late for every window
    const std::uint64_t k = rng() % 10 < 6 ? 0 : rng() % 3000;  // skewed
    rows.emplace_back(ts, "h" + std::to_string(k), static_cast<std::int64_t>(k % 7),
                      std::uniform_real_distribution<double>(0, 100)(rng));
  }
  for (int workers : {1, 2}) {
    SCOPED_TRACE(::testing::Message() << workers << " workers");
    const RunResult cpu = run_job(Backend::cpu, workers, rows);
    const RunResult gpu = run_job(Backend::gpu, workers, rows);
    EXPECT_EQ(cpu.metrics.events_late, gpu.metrics.events_late);
    EXPECT_EQ(cpu.metrics.events_filtered, gpu.metrics.events_filtered);
    ASSERT_EQ(cpu.finals.size(), gpu.finals.size());
    for (const auto& [key, values] : cpu.finals) {
      auto it = gpu.finals.find(key);
      ASSERT_NE(it, gpu.finals.end());
      EXPECT_EQ(values[0], it->second[0]);  // count
      EXPECT_EQ(values[2], it->second[2]);  // integer min
      EXPECT_EQ(values[3], it->second[3]);  // float max
      for (int f : {1, 4}) {                // float sum, avg
        const double a = std::get<double>(values[f]), b = std::get<double>(it->second[f]);
        EXPECT_NEAR(a, b, 1e-5 * std::max(1.0, std::abs(a)));
      }
    }
  }
}

}  // namespace
}  // namespace sluice
