// Several sources through the public API: the watermark waits for the slowest source.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "sluice/sluice.hpp"

namespace sluice {
namespace {

TEST(MultiSource, SlowSourceHoldsWindowsOpenAndItsEventsAreNotLate) {
  Schema schema({{"ts", DataType::timestamp(TimeUnit::ms)}, {"v", TypeId::i64}});
  std::vector<WindowResult> fired;
  Query q;
  q.event_time("ts")
      .window(WindowSpec::tumbling(std::chrono::seconds(1)))
      .aggregate({count(), sum(col("v"))})
      .sink([&](std::span<const WindowResult> rows) {
        fired.insert(fired.end(), rows.begin(), rows.end());
      });
  EngineConfig config;
  config.backend = Backend::cpu;
  config.batch_rows = 1;  // every row is a batch: the watermark moves between rows
  config.batch_timeout = std::chrono::hours(1);
  Engine engine(config);
  Job job = engine.start(schema, q);
  // Source 0 runs ahead to 10 s; source 1 is still at 0.5 s.
  job.push_row({Value(std::int64_t{500}), Value(std::int64_t{1})}, 1);
  for (std::int64_t t = 1000; t <= 10000; t += 1000)
    job.push_row({Value(t), Value(std::int64_t{10})}, 0);
  // With one source these would be late (the watermark would be 10 s); with two, the
  // watermark is source 1's 0.5 s, so they still count.
  job.push_row({Value(std::int64_t{700}), Value(std::int64_t{2})}, 1);
  job.push_row({Value(std::int64_t{1500}), Value(std::int64_t{3})}, 1);
  job.finish();
  EXPECT_EQ(job.metrics().events_late, 0u);
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> last;
  for (const WindowResult& r : fired)
    last[r.window_start] = {std::get<std::int64_t>(r.values[0]),
                            std::get<std::int64_t>(r.values[1])};
  ASSERT_EQ(last.size(), 11u);
  EXPECT_EQ(last[0], std::make_pair(std::int64_t{2}, std::int64_t{3}));
  EXPECT_EQ(last[1000], std::make_pair(std::int64_t{2}, std::int64_t{13}));
  for (std::int64_t w = 2000; w <= 10000; w += 1000)
    EXPECT_EQ(last[w], std::make_pair(std::int64_t{1}, std::int64_t{10}));
  for (const WindowResult& r : fired) EXPECT_FALSE(r.update);
}

/// Tumbling 1 s counts; every row its own batch, so that the watermark moves between rows.
struct CountingJob {
  std::mutex mutex;
  std::map<std::int64_t, std::int64_t> counts;  // window start -> its last count
  Engine engine;
  Job job;

  explicit CountingJob(EngineConfig config)
      : engine(config),
        job(engine.start(Schema({{"ts", DataType::timestamp(TimeUnit::ms)}}), query())) {}
  Query query() {
    Query q;
    q.event_time("ts")
        .window(WindowSpec::tumbling(std::chrono::seconds(1)))
        .aggregate({count()})
        .sink([this](std::span<const WindowResult> rows) {
          std::lock_guard lock(mutex);
          for (const WindowResult& r : rows)
            counts[r.window_start] = std::get<std::int64_t>(r.values[0]);
        });
    return q;
  }
  static EngineConfig one_row_batches() {
    EngineConfig config;
    config.backend = Backend::cpu;
    config.batch_rows = 1;
    config.batch_timeout = std::chrono::hours(1);
    return config;
  }
};

TEST(MultiSource, AnExpectedSourceHoldsTheWatermarkBeforeItsFirstEvent) {
  for (const bool expected : {false, true}) {
    SCOPED_TRACE(expected ? "source 1 expected" : "source 1 not expected");
    CountingJob c(CountingJob::one_row_batches());
    if (expected) c.job.expect_source(1);
    // Source 0 runs to 10 s before source 1 sends anything; then source 1's events at 0.2 to
    // 0.9 s come. Not expected, they are late against source 0's watermark.
    for (std::int64_t t = 1000; t <= 10000; t += 1000) c.job.push_row({Value(t)}, 0);
    c.job.flush();
    {
      std::lock_guard lock(c.mutex);
      EXPECT_EQ(c.counts.empty(), expected) << "no window fires while source 1 is awaited";
    }
    for (std::int64_t t = 200; t < 1000; t += 100) c.job.push_row({Value(t)}, 1);
    c.job.finish();
    EXPECT_EQ(c.job.metrics().events_late, expected ? 0u : 8u);
    std::lock_guard lock(c.mutex);
    EXPECT_EQ(c.counts.count(0), expected ? 1u : 0u);
    if (expected) EXPECT_EQ(c.counts[0], 8);
    EXPECT_EQ(c.counts[1000], 1);
    EXPECT_EQ(c.counts[10000], 1);
  }
}

TEST(MultiSource, AnExpectedSourceThatStaysSilentHoldsUntilIdle) {
  EngineConfig config = CountingJob::one_row_batches();
  config.batch_timeout = std::chrono::milliseconds(10);
  config.source_idle_timeout = std::chrono::milliseconds(100);
  CountingJob c(config);
  c.job.expect_source(7);
  for (std::int64_t t = 1000; t <= 5000; t += 1000) c.job.push_row({Value(t)}, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t seen = 0;
  while (seen < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(c.mutex);
    seen = c.counts.size();
  }
  EXPECT_EQ(seen, 4u) << "once source 7 is idle the windows ending by 5 s fire";
  EXPECT_THROW(c.job.expect_source(-1), Error);
  EXPECT_THROW(c.job.expect_source(65536), Error);
  c.job.finish();
  EXPECT_THROW(c.job.expect_source(1), Error);
}

TEST(MultiSource, OneSourceSameAsBeforeLateness) {
  Schema schema({{"ts", DataType::timestamp(TimeUnit::ms)}});
  Query q;
  q.event_time("ts").window(WindowSpec::tumbling(std::chrono::seconds(1))).aggregate({count()});
  q.sink([](std::span<const WindowResult>) {});
  EngineConfig config;
  config.backend = Backend::cpu;
  config.batch_rows = 1;
  config.batch_timeout = std::chrono::hours(1);
  Engine engine(config);
  Job job = engine.start(schema, q);
  job.push_row({Value(std::int64_t{5000})});
  job.push_row({Value(std::int64_t{100})});  // same source: window [0, 1 s) ended before 5 s
  job.finish();
  EXPECT_EQ(job.metrics().events_late, 1u);
}

TEST(MultiSource, AnIdleSourceStopsHoldingWindowsBackWithNoFurtherPush) {
  Schema schema({{"ts", DataType::timestamp(TimeUnit::ms)}});
  std::mutex mutex;
  std::set<std::int64_t> fired;  // window starts
  Query q;
  q.event_time("ts")
      .window(WindowSpec::tumbling(std::chrono::seconds(1)))
      .aggregate({count()})
      .sink([&](std::span<const WindowResult> rows) {
        std::lock_guard lock(mutex);
        for (const WindowResult& r : rows) fired.insert(r.window_start);
      });
  EngineConfig config;
  config.backend = Backend::cpu;
  config.batch_rows = 1;
  config.batch_timeout = std::chrono::milliseconds(10);
  config.source_idle_timeout = std::chrono::milliseconds(100);
  Engine engine(config);
  Job job = engine.start(schema, q);
  // Source 1 stops at 0.5 s; source 0 goes on to 5 s. Until source 1 counts as idle the
  // watermark stays at 0.5 s; then the job's timer sends a round that lets it move to 5 s,
  // although nothing is pushed any more.
  job.push_row({Value(std::int64_t{500})}, 1);
  for (std::int64_t t = 1000; t <= 5000; t += 1000) job.push_row({Value(t)}, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex);
      seen = fired.size();
    }
    if (seen >= 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(fired, (std::set<std::int64_t>{0, 1000, 2000, 3000, 4000}))
        << "windows ending by 5 s fire before finish() once source 1 is idle";
  }
  job.finish();
  EXPECT_EQ(job.metrics().events_late, 0u);
}

}  // namespace
}  // namespace sluice
