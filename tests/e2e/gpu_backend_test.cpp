// The GPU backend against the CPU backend on the same out-of-order streams, and the GPU
// backend's failures (device memory); every test is skipped, with the reason, without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

/// Relative tolerance of float sums and averages: the backends add in different orders.
constexpr double kSumTolerance = 1e-5;
/// Relative tolerance of computed float columns of stateless queries (FMA contraction on the GPU).
constexpr double kMapTolerance = 1e-12;

/// How one value column is compared: exactly, or (doubles) within a relative tolerance.
struct Tolerance {
  double relative = 0;
};
constexpr Tolerance kExact{0};
constexpr Tolerance kFloatSum{kSumTolerance};

::testing::AssertionResult same_as_cpu(const Value& gpu, const Value& cpu, Tolerance tol) {
  if (gpu.index() != cpu.index())
    return ::testing::AssertionFailure()
           << "type differs: GPU " << to_string(gpu) << ", CPU " << to_string(cpu);
  const auto* g = std::get_if<double>(&gpu);
  if (g != nullptr && tol.relative > 0) {
    const double c = std::get<double>(cpu);
    if (std::fabs(*g - c) <= tol.relative * std::max({1.0, std::fabs(*g), std::fabs(c)}))
      return ::testing::AssertionSuccess();
  } else if (gpu == cpu) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "GPU " << to_string(gpu) << ", CPU " << to_string(cpu);
}

::testing::AssertionResult same_row_as_cpu(const std::vector<Value>& gpu,
                                           const std::vector<Value>& cpu,
                                           const std::vector<Tolerance>& tol) {
  if (gpu.size() != cpu.size())
    return ::testing::AssertionFailure()
           << gpu.size() << " values on the GPU, " << cpu.size() << " on the CPU";
  for (std::size_t i = 0; i < gpu.size(); ++i)
    if (auto r = same_as_cpu(gpu[i], cpu[i], i < tol.size() ? tol[i] : kExact); !r)
      return r << " (value " << i << ")";
  return ::testing::AssertionSuccess();
}

/// Counters that do not depend on the backend.
void expect_same_metrics(const Metrics& gpu, const Metrics& cpu) {
  EXPECT_EQ(gpu.events_in, cpu.events_in);
  EXPECT_EQ(gpu.events_filtered, cpu.events_filtered);
  EXPECT_EQ(gpu.events_late, cpu.events_late);
  EXPECT_EQ(gpu.windows_fired, cpu.windows_fired);
  EXPECT_EQ(gpu.window_updates, cpu.window_updates);
  EXPECT_EQ(gpu.batches, cpu.batches);
  EXPECT_EQ(gpu.batches_per_worker, cpu.batches_per_worker);
}

/// Every emission of every window, in order: the same calls, rows, update flags and values
/// (float sums and averages within `tol`). At most 10 differences are shown.
void expect_same_calls(const RunResult& gpu, const RunResult& cpu,
                       const std::vector<Tolerance>& tol) {
  ASSERT_EQ(gpu.calls.size(), cpu.calls.size()) << "number of ResultSink calls";
  int shown = 0;
  for (std::size_t c = 0; c < cpu.calls.size() && shown < 10; ++c) {
    if (gpu.calls[c].size() != cpu.calls[c].size()) {
      ADD_FAILURE() << "call " << c << ": " << gpu.calls[c].size() << " rows on the GPU, "
                    << cpu.calls[c].size() << " on the CPU";
      ++shown;
      continue;
    }
    for (std::size_t i = 0; i < cpu.calls[c].size() && shown < 10; ++i) {
      const WindowResult& g = gpu.calls[c][i];
      const WindowResult& w = cpu.calls[c][i];
      const std::string where = "call " + std::to_string(c) + " row " + std::to_string(i) + ": ";
      if (g.window_start != w.window_start || g.window_end != w.window_end || g.keys != w.keys) {
        ADD_FAILURE() << where << "GPU " << describe(g.window_start, g.window_end, g.keys)
                      << ", CPU " << describe(w.window_start, w.window_end, w.keys);
        ++shown;
        continue;
      }
      if (g.update != w.update) {
        ADD_FAILURE() << where << describe(w.window_start, w.window_end, w.keys) << " update "
                      << g.update << " on the GPU, " << w.update << " on the CPU";
        ++shown;
      }
      if (auto r = same_row_as_cpu(g.values, w.values, tol); !r) {
        ADD_FAILURE() << where << describe(w.window_start, w.window_end, w.keys) << ": "
                      << r.message();
        ++shown;
      }
    }
  }
}

std::vector<std::string> column_names(const Schema& schema) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < schema.size(); ++i) names.push_back(schema.field(i).name);
  return names;
}

/// The late side output: the same rows, as multisets (workers deliver them in any order).
void expect_same_late_rows(const RunResult& gpu, const RunResult& cpu) {
  if (cpu.late.empty()) {
    EXPECT_TRUE(gpu.late.empty()) << gpu.late.size() << " late batches on the GPU, none on the CPU";
    return;
  }
  ASSERT_FALSE(gpu.late.empty()) << "no late rows on the GPU";
  const std::vector<std::string> names = column_names(cpu.late.front().schema());
  for (const Batch& b : gpu.late) EXPECT_EQ(b.schema(), cpu.late.front().schema());
  auto g = rows_by_name(gpu.late, names);
  auto c = rows_by_name(cpu.late, names);
  std::sort(g.begin(), g.end());
  std::sort(c.begin(), c.end());
  ASSERT_EQ(g.size(), c.size()) << "late rows";
  for (std::size_t i = 0; i < c.size(); ++i)
    if (auto r = same_row_as_cpu(g[i], c[i], {}); !r) {
      ADD_FAILURE() << "late row " << i << " (sorted): " << r.message();
      return;
    }
}

/// Rows of a stateless query, in push order; doubles within kMapTolerance.
void expect_same_rows(const RunResult& gpu, const RunResult& cpu) {
  ASSERT_EQ(gpu.rows.empty(), cpu.rows.empty());
  if (cpu.rows.empty()) return;
  const Schema& schema = cpu.rows.front().schema();
  for (const Batch& b : gpu.rows) ASSERT_EQ(b.schema(), schema);
  std::vector<Tolerance> tol(schema.size(), Tolerance{kMapTolerance});
  const std::vector<std::string> names = column_names(schema);
  const auto g = rows_by_name(gpu.rows, names);
  const auto c = rows_by_name(cpu.rows, names);
  ASSERT_EQ(g.size(), c.size()) << "rows";
  for (std::size_t i = 0; i < c.size(); ++i)
    if (auto r = same_row_as_cpu(g[i], c[i], tol); !r) {
      ADD_FAILURE() << "row " << i << ": " << r.message();
      return;
    }
}

/// Runs `query` over `events` on the CPU and on the GPU backend with `config` otherwise
/// unchanged, and expects the same output; returns the CPU run.
RunResult expect_same_on_both(EngineConfig config, const Query& query,
                              const std::vector<Event>& events, const std::vector<Tolerance>& tol,
                              PushMode mode = PushMode::builder) {
  SCOPED_TRACE(::testing::Message() << config.workers << " worker(s), batch_rows "
                                    << config.batch_rows << ", push " << mode_name(mode));
  config.backend = Backend::cpu;
  RunResult cpu = run_job(config, query, events, mode, 7);
  config.backend = Backend::gpu;
  const RunResult gpu = run_job(config, query, events, mode, 7);
  expect_same_metrics(gpu.metrics, cpu.metrics);
  expect_same_calls(gpu, cpu, tol);
  expect_same_late_rows(gpu, cpu);
  expect_same_rows(gpu, cpu);
  return cpu;
}

StreamOptions stream(std::size_t events, std::size_t keys, double zipf, std::uint64_t seed) {
  StreamOptions o;
  o.events = events;
  o.keys = keys;
  o.zipf = zipf;
  o.step = 2;
  o.jitter = 800;
  o.late_fraction = 0.02;
  o.late_distance = 30'000;
  o.seed = seed;
  return o;
}

/// count, sum(status), sum(cpu), min(cpu), max(cpu), avg(cpu), min(zone), max(ts).
std::vector<AggregateSpec> all_aggregates() {
  return {count(),         sum(col("status")), sum(col("cpu")),  min(col("cpu")),
          max(col("cpu")), avg(col("cpu")),    min(col("zone")), max(col("ts"))};
}
const std::vector<Tolerance> kAllAggregates = {kExact, kExact,    kFloatSum, kExact,
                                               kExact, kFloatSum, kExact,    kExact};

TEST(GpuBackend, TumblingManyBatchSizes) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.key_by({"host"})
      .event_time("ts", 1s)
      .window(WindowSpec::tumbling(5s))
      .aggregate(all_aggregates());
  const auto events = generate(stream(20000, 200, 1.1, 81));
  for (std::size_t rows : {31, 1000, 1 << 20}) {
    const RunResult cpu = expect_same_on_both(make_config(1, rows), q, events, kAllAggregates);
    // One batch has no watermark before it: nothing is late.
    if (rows < events.size()) {
      EXPECT_GT(cpu.metrics.events_late, 0u);
    }
  }
  // One row per batch: a round per event.
  const auto few = generate(stream(1500, 20, 1.1, 82));
  expect_same_on_both(make_config(1, 1), q, few, kAllAggregates);
}

TEST(GpuBackend, TumblingWithOffset) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.key_by({"region"})
      .event_time("ts", 700ms)
      .window(WindowSpec::tumbling(4s, 1500ms))
      .aggregate(all_aggregates());
  const auto events = generate(stream(15000, 100, 1.1, 83));
  expect_same_on_both(make_config(1, 31), q, events, kAllAggregates);
  expect_same_on_both(make_config(2, 1000), q, events, kAllAggregates);
}

TEST(GpuBackend, SlidingWithOffsetLatenessAndReemissions) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.key_by({"host", "zone"})
      .event_time("ts", 1s)
      .allowed_lateness(6s)
      .window(WindowSpec::sliding(9s, 3s, 1s))
      .aggregate(all_aggregates());
  const auto events = generate(stream(30000, 300, 1.2, 84));
  for (int workers : {1, 2, 3}) {
    for (std::size_t rows : {31, 997}) {
      const RunResult cpu =
          expect_same_on_both(make_config(workers, rows), q, events, kAllAggregates);
      EXPECT_GT(cpu.metrics.window_updates, 0u) << "the stream should re-emit windows";
      EXPECT_GT(cpu.metrics.events_late, 0u) << "the stream should have late events";
    }
  }
}

TEST(GpuBackend, SlidingSizeNotAMultipleOfTheSlide) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.filter(col("status") == lit(200))
      .key_by({"host"})
      .event_time("ts", 500ms)
      .allowed_lateness(2s)
      .window(WindowSpec::sliding(7s, 3s))
      .aggregate({count(), sum(col("cpu")), avg(col("cpu")), max(col("cpu"))});
  const auto events = generate(stream(20000, 50, 1.0, 85));
  expect_same_on_both(make_config(1, 1000), q, events, {kExact, kFloatSum, kFloatSum, kExact});
  expect_same_on_both(make_config(3, 31), q, events, {kExact, kFloatSum, kFloatSum, kExact});
}

TEST(GpuBackend, CumulatingWindowsAndLike) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  // LIKE looks codes up in tables that grow with the dictionary: uploaded per version.
  q.filter(like(col("host"), "%1%") || !like(col("host"), "host-_"))
      .key_by({"host"})
      .event_time("ts", 500ms)
      .allowed_lateness(2s)
      .window(WindowSpec::cumulate(12s, 3s))
      .aggregate({count(), sum(col("cpu")), max(col("cpu"))});
  const auto events = generate(stream(20000, 300, 1.0, 89));
  for (int workers : {1, 3})
    expect_same_on_both(make_config(workers, 777), q, events, {kExact, kFloatSum, kExact});
}

TEST(GpuBackend, GlobalWindow) {
  SLUICE_SKIP_WITHOUT_GPU();
  const auto events = generate(stream(20000, 500, 1.1, 86));
  Query timed;
  timed.key_by({"host"})
      .event_time("ts", 1s)
      .window(WindowSpec::global())
      .aggregate({count(), sum(col("cpu")), min(col("ts")), max(col("ts"))});
  const std::vector<Tolerance> tol = {kExact, kFloatSum, kExact, kExact};
  expect_same_on_both(make_config(1, 1000), timed, events, tol);
  expect_same_on_both(make_config(2, 31), timed, events, tol);
  Query untimed;
  untimed.key_by({"zone"}).aggregate({count(), avg(col("cpu")), sum(col("status"))});
  expect_same_on_both(make_config(3, 777), untimed, events, {kExact, kFloatSum, kExact});
}

TEST(GpuBackend, NoKeys) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.filter(col("cpu") > lit(20.0))
      .event_time("ts", 1s)
      .allowed_lateness(3s)
      .window(WindowSpec::sliding(10s, 2s))
      .aggregate(all_aggregates());
  const auto events = generate(stream(20000, 50, 1.1, 87));
  for (int workers : {1, 3})
    expect_same_on_both(make_config(workers, 31), q, events, kAllAggregates);
}

TEST(GpuBackend, TwoKeysStringAndInteger) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.map("load", col("cpu") * lit(2.0) + lit(1.0))
      .key_by({"host", "status"})
      .event_time("ts", 1s)
      .window(WindowSpec::tumbling(3s))
      .aggregate({count(), sum(col("load")), min(col("region")), max(col("zone"))});
  const auto events = generate(stream(20000, 400, 0.8, 88));
  // sum(load) adds computed values: within the float-sum tolerance too.
  const std::vector<Tolerance> tol = {kExact, kFloatSum, kExact, kExact};
  for (PushMode mode : {PushMode::builder, PushMode::rows, PushMode::foreign_dictionary})
    expect_same_on_both(make_config(2, 1000), q, events, tol, mode);
}

TEST(GpuBackend, WorkersPartitioningAndKeyDistributions) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.key_by({"region", "zone"})
      .event_time("ts", 1s)
      .allowed_lateness(2s)
      .window(WindowSpec::sliding(6s, 2s))
      .aggregate(all_aggregates());
  struct Keys {
    const char* name;
    std::size_t keys;
    double zipf;
  };
  for (const Keys& k : {Keys{"skewed", 500, 1.3}, Keys{"uniform", 5000, 0.0}}) {
    SCOPED_TRACE(k.name);
    const auto events = generate(stream(30000, k.keys, k.zipf, 89));
    expect_same_on_both(make_config(1, 1000), q, events, kAllAggregates);
    for (int workers : {2, 3}) {
      for (PartitionSpec::Kind kind :
           {PartitionSpec::Kind::hash, PartitionSpec::Kind::key, PartitionSpec::Kind::range}) {
        SCOPED_TRACE("partition " + std::to_string(static_cast<int>(kind)));
        EngineConfig config = make_config(workers, 1000);
        config.partition.kind = kind;
        if (kind == PartitionSpec::Kind::range)
          config.partition.boundaries =
              workers == 2 ? std::vector<Value>{Value(std::int64_t{10})}
                           : std::vector<Value>{Value(std::int64_t{3}), Value(std::int64_t{50})};
        expect_same_on_both(config, q, events, kAllAggregates);
      }
    }
  }
}

TEST(GpuBackend, ManySmallBatchesAndAShortQueue) {
  SLUICE_SKIP_WITHOUT_GPU();
  // Batches of 31 rows with one batch allowed to wait: copy-in, compute and copy-out overlap
  // over thousands of rounds while the ingest is held back.
  Query q;
  q.key_by({"host"})
      .event_time("ts", 1s)
      .allowed_lateness(1s)
      .window(WindowSpec::tumbling(2s))
      .aggregate(all_aggregates());
  const auto events = generate(stream(40000, 1000, 1.1, 90));
  for (int workers : {1, 2}) {
    EngineConfig config = make_config(workers, 31);
    config.queue_batches = 1;
    expect_same_on_both(config, q, events, kAllAggregates, PushMode::mixed);
  }
}

TEST(GpuBackend, StatelessRowsInPushOrder) {
  SLUICE_SKIP_WITHOUT_GPU();
  Query q;
  q.filter(col("cpu") > lit(30.0))
      .map("cpu2", col("cpu") * lit(2.0) + lit(0.5))
      .map("code", col("status") + lit(1))
      .map("hot", col("cpu") > lit(75.0))
      .filter(col("status") != lit(404) || col("host") == lit("host-1"))
      .project({"host", "cpu2", "ts", "code", "hot", "zone"});
  const auto events = generate(stream(20000, 100, 1.1, 91));
  for (int workers : {1, 3})
    for (std::size_t rows : {31, 1000})
      expect_same_on_both(make_config(workers, rows), q, events, {});
  const auto few = generate(stream(1200, 10, 1.1, 92));
  expect_same_on_both(make_config(1, 1), q, few, {});
  expect_same_on_both(make_config(2, 1), q, few, {}, PushMode::wrap);
}

TEST(GpuBackend, SameWindowsAsCpuBackend) {
  SLUICE_SKIP_WITHOUT_GPU();
  // 200 000 events, 60% on one key, the rest over 3000 keys, some too late for every window.
  Query q;
  q.filter(col("cpu") > lit(5.0))
      .key_by({"host", "zone"})
      .event_time("ts", 800ms)
      .allowed_lateness(500ms)
      .window(WindowSpec::sliding(3s, 1s))
      .aggregate(
          {count(), sum(col("cpu")), min(col("zone") * lit(3)), max(col("cpu")), avg(col("cpu"))});
  StreamOptions o = stream(200000, 3000, 1.4, 93);
  o.step = 0.1;
  o.jitter = 750;
  o.late_fraction = 0.005;
  o.late_distance = 5000;
  const auto events = generate(o);
  for (int workers : {1, 2})
    expect_same_on_both(make_config(workers, 7919), q, events,
                        {kExact, kFloatSum, kExact, kExact, kFloatSum});
}

TEST(GpuBackend, AutomaticBackendChoosesTheGpu) {
  SLUICE_SKIP_WITHOUT_GPU();
  EngineConfig config = make_config(1, 100);
  config.backend = Backend::automatic;
  const Engine automatic(config);
  EXPECT_EQ(automatic.backend(), Backend::gpu);
  EXPECT_NE(automatic.backend_reason().find("GPU"), std::string::npos)
      << automatic.backend_reason();
  config.backend = Backend::gpu;
  EXPECT_NO_THROW(Engine{config});
}

// ---------------------------------------------------------------------------------------------
// Out of device memory.

/// Runs `f` on another thread; aborts the binary if it has not returned within `limit` (a hang
/// must fail here, not at the CTest timeout; a std::future of std::async would block forever
/// in its destructor).
template <class F>
void within(std::chrono::seconds limit, F f) {
  std::future<void> done = std::async(std::launch::async, std::move(f));
  if (done.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "hang: the job did not return within %lld s\n",
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::abort();
  }
  done.get();
}

constexpr std::size_t kDistinctKeys = 5'000'000;

/// `n` events over one hour, every one with its own region (key).
EventColumns distinct_keys(std::size_t n) {
  EventColumns c;
  c.dictionary = std::make_shared<StringDictionary>();
  const std::uint32_t host = c.dictionary->intern("host-0");
  for (std::size_t i = 0; i < n; ++i) {
    c.ts.push_back(1'700'000'000'000 + static_cast<std::int64_t>(i / 2000));
    c.host.push_back(host);
    c.region.push_back(static_cast<std::int64_t>(i));
    c.zone.push_back(static_cast<std::int32_t>(i % 5));
    c.cpu.push_back(static_cast<double>(i % 100));
    c.status.push_back(200);
  }
  return c;
}

Query long_windows_by_region() {
  Query q;
  q.key_by({"region"})
      .event_time("ts", 1s)
      .window(WindowSpec::tumbling(std::chrono::hours(1)))
      .aggregate({count(), sum(col("cpu")), max(col("cpu"))});
  q.sink([](std::span<const WindowResult>) {});
  return q;
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Pushes `columns` into `job` in slices of `slice` rows; stops at the first push that throws
/// (the job failed). Returns finish()'s error, or fails the test if there was none.
Error expect_failed_finish(Job& job, const EventColumns& columns, std::size_t slice) {
  const Batch all = columns.wrap();
  try {
    for (std::size_t i = 0; i < all.rows(); i += slice)
      job.push(all.slice(i, std::min(slice, all.rows() - i)));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_memory) << e.what();
  }
  try {
    job.finish();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "finish() did not throw";
  return Error(ErrorCode::internal, "finish() did not throw");
}

TEST(GpuBackend, OutOfDeviceMemoryNamesStageAndBatch) {
  SLUICE_SKIP_WITHOUT_GPU();
  const EventColumns columns = distinct_keys(kDistinctKeys);
  for (int workers : {1, 2}) {
    SCOPED_TRACE(std::to_string(workers) + " worker(s)");
    within(300s, [&] {
      EngineConfig config = make_config(workers, std::size_t{1} << 16);
      config.backend = Backend::gpu;
      config.device_memory_limit = std::size_t{32} << 20;
      Engine engine(config);
      Job job = engine.start(event_schema(), long_windows_by_region());
      const Error e = expect_failed_finish(job, columns, std::size_t{1} << 16);
      const std::string msg = e.what();
      EXPECT_EQ(e.code(), ErrorCode::out_of_memory) << msg;
      EXPECT_TRUE(mentions(msg, "worker ")) << msg;
      EXPECT_TRUE(mentions(msg, ", round ")) << msg;
      EXPECT_TRUE(mentions(msg, ", batch ")) << msg;
      const bool names_a_stage = mentions(msg, "pre-aggregation") || mentions(msg, "state merge") ||
                                 mentions(msg, "partitioning") || mentions(msg, "exchange") ||
                                 mentions(msg, "fire") || mentions(msg, "copy-in") ||
                                 mentions(msg, "copy-out");
      EXPECT_TRUE(names_a_stage) << msg;
      const Status status = job.status();
      EXPECT_EQ(status.code(), ErrorCode::out_of_memory);
      EXPECT_EQ(status.message(), msg);
      // finish() again reports the same failure instead of hanging.
      try {
        job.finish();
        ADD_FAILURE() << "a second finish() did not throw";
      } catch (const Error& again) {
        EXPECT_EQ(std::string(again.what()), msg);
      }
    });
  }
}

TEST(GpuBackend, EngineUsableAfterOutOfDeviceMemory) {
  SLUICE_SKIP_WITHOUT_GPU();
  const EventColumns columns = distinct_keys(kDistinctKeys);
  const auto events = generate(stream(20000, 200, 1.1, 94));
  Query small;
  small.key_by({"host"})
      .event_time("ts", 1s)
      .window(WindowSpec::tumbling(5s))
      .aggregate(all_aggregates());
  within(300s, [&] {
    EngineConfig config = make_config(1, std::size_t{1} << 16);
    config.backend = Backend::gpu;
    config.device_memory_limit = std::size_t{32} << 20;
    Engine engine(config);
    {
      Job job = engine.start(event_schema(), long_windows_by_region());
      const Error e = expect_failed_finish(job, columns, std::size_t{1} << 16);
      EXPECT_EQ(e.code(), ErrorCode::out_of_memory) << e.what();
    }
    // A new job on the same engine (same limit) runs and gives the CPU's results.
    RunResult gpu;
    Query collected = small;
    collected.sink(
        [&gpu](std::span<const WindowResult> r) { gpu.calls.emplace_back(r.begin(), r.end()); });
    Job again = engine.start(event_schema(), collected);
    push_events(again, events, PushMode::builder, 3, 5000);
    EXPECT_NO_THROW(again.finish());
    EXPECT_TRUE(again.status().ok()) << again.status().message();
    gpu.metrics = again.metrics();
    EngineConfig cpu_config = config;
    cpu_config.backend = Backend::cpu;
    const RunResult cpu = run_job(cpu_config, small, events);
    expect_same_metrics(gpu.metrics, cpu.metrics);
    expect_same_calls(gpu, cpu, kAllAggregates);
  });
}

}  // namespace
}  // namespace sluice::e2e
