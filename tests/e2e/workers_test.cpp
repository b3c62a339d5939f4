// End-to-end tests of 1-4 workers (hash and range partitioning) and of balancing policies.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "host/cuda_probe.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

StreamOptions worker_stream(std::uint64_t seed) {
  StreamOptions o;
  o.events = 30000;
  o.keys = 300;
  o.zipf = 1.2;
  o.step = 3;
  o.jitter = 400;
  o.late_fraction = 0.03;
  o.late_distance = 20'000;
  o.seed = seed;
  return o;
}

Case by_host_zone() {
  const WindowSpec w = WindowSpec::sliding(9s, 3s, 1s);
  Case c;
  c.query.key_by({"host", "zone"})
      .event_time("ts", 1s)
      .allowed_lateness(6s)
      .window(w)
      .aggregate({count(), sum(col("status")), min(col("cpu")), max(col("cpu")), avg(col("cpu")),
                  sum(col("cpu"))});
  c.ref.window = w;
  c.ref.delay = 1000;
  c.ref.lateness = 6000;
  c.ref.keys = key_host_zone;
  c.ref.aggregates = {{AggKind::count, {}},   {AggKind::sum, ev_status}, {AggKind::min, ev_cpu},
                      {AggKind::max, ev_cpu}, {AggKind::avg, ev_cpu},    {AggKind::sum, ev_cpu}};
  c.read_columns = {"ts", "host", "zone", "cpu", "status"};
  return c;
}

Case by_region() {
  const WindowSpec w = WindowSpec::tumbling(4s);
  Case c;
  c.query.key_by({"region"})
      .event_time("ts", 500ms)
      .allowed_lateness(3s)
      .window(w)
      .aggregate({count(), sum(col("status")), max(col("cpu")), avg(col("cpu"))});
  c.ref.window = w;
  c.ref.delay = 500;
  c.ref.lateness = 3000;
  c.ref.keys = key_region;
  c.ref.aggregates = {{AggKind::count, {}},
                      {AggKind::sum, ev_status},
                      {AggKind::max, ev_cpu},
                      {AggKind::avg, ev_cpu}};
  c.read_columns = {"ts", "region", "cpu", "status"};
  return c;
}

/// Final values of `run` equal those of `base` (the one-worker run).
void expect_same_finals(const RunResult& run, const RunResult& base) {
  expect_finals(final_values(run.calls), final_values(base.calls));
}

TEST(Workers, RoundsOfSeveralBatchesPerWorkerFireAsTheReferenceSays) {
  // Rounds of workers * round_batches batches: the watermark is agreed and windows fire once
  // per such round, exactly as the reference's rounds of that many batches.
  const auto events = generate(worker_stream(61));
  const Case c = by_host_zone();
  for (int workers : {1, 2}) {
    SCOPED_TRACE(std::to_string(workers) + " workers, 3 batches each per round");
    EngineConfig config = make_config(workers, 700);
    config.round_batches = 3;
    const RefResult ref = reference(events, c.ref, 700, workers * 3);
    const RunResult run = run_job(config, c.query, events);
    expect_matches(run, events, ref, c.read_columns, workers == 1);
  }
}

TEST(Workers, HashPartitionStringKeysSameAsOneWorker) {
  const auto events = generate(worker_stream(31));
  const Case c = by_host_zone();
  RunResult one;
  run_and_check(c, events, 1, 1500, PushMode::builder, &one);
  for (int workers : {2, 3, 4}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    RunResult many;
    run_and_check(c, events, workers, 1500, PushMode::builder, &many);
    expect_same_finals(many, one);
    EXPECT_EQ(many.metrics.events_late, one.metrics.events_late);
  }
}

TEST(Workers, HashPartitionIntegerKeysSameAsOneWorker) {
  const auto events = generate(worker_stream(32));
  const Case c = by_region();
  RunResult one;
  run_and_check(c, events, 1, 1000, PushMode::builder, &one);
  for (int workers : {2, 3, 4}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    RunResult many;
    run_and_check(c, events, workers, 1000, PushMode::builder, &many);
    expect_same_finals(many, one);
  }
}

TEST(Workers, RangePartitionSameAsOneWorker) {
  const auto events = generate(worker_stream(33));
  const Case c = by_region();
  RunResult one;
  run_and_check(c, events, 1, 1000, PushMode::builder, &one);
  // Region ranks are Zipf-skewed: low boundaries split the hot keys, the last takes the tail.
  const std::vector<std::vector<Value>> boundaries = {
      {Value(std::int64_t{3})},
      {Value(std::int64_t{1}), Value(std::int64_t{20})},
      {Value(std::int64_t{2}), Value(std::int64_t{10}), Value(std::int64_t{150})}};
  for (const auto& b : boundaries) {
    const int workers = static_cast<int>(b.size()) + 1;
    SCOPED_TRACE(std::to_string(workers) + " workers, range partition");
    EngineConfig config = make_config(workers, 1000);
    config.partition.kind = PartitionSpec::Kind::range;
    config.partition.boundaries = b;
    const RefResult ref = reference(events, c.ref, 1000, workers);
    const RunResult run = run_job(config, c.query, events);
    expect_matches(run, events, ref, c.read_columns, false);
    expect_same_finals(run, one);
  }
}

TEST(Workers, KeyPartitionSameAsOneWorker) {
  const auto events = generate(worker_stream(36));
  const Case c = by_region();
  RunResult one;
  run_and_check(c, events, 1, 1000, PushMode::builder, &one);
  for (int workers : {2, 3, 4}) {
    SCOPED_TRACE(std::to_string(workers) + " workers, key partition");
    EngineConfig config = make_config(workers, 1000);
    config.partition.kind = PartitionSpec::Kind::key;
    const RefResult ref = reference(events, c.ref, 1000, workers);
    const RunResult run = run_job(config, c.query, events);
    expect_matches(run, events, ref, c.read_columns, false);
    expect_same_finals(run, one);
  }
}

TEST(Workers, KeyPartitionNeedsAnIntegerFirstKey) {
  Query q;
  q.key_by({"host"}).event_time("ts").window(WindowSpec::tumbling(1s)).aggregate({count()});
  q.sink([](std::span<const WindowResult>) {});
  EngineConfig config = make_config(2, 1000);
  config.partition.kind = PartitionSpec::Kind::key;
  Engine engine(config);
  try {
    engine.start(event_schema(), q);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("integer first key"), std::string::npos) << e.what();
  }
}

TEST(Workers, RangePartitionWithDoubleBoundariesOnIntegerKey) {
  // Boundaries given as whole doubles are accepted for an integer key.
  const auto events = generate(worker_stream(34));
  const Case c = by_region();
  EngineConfig config = make_config(2, 1000);
  config.partition.kind = PartitionSpec::Kind::range;
  config.partition.boundaries = {Value(5.0)};
  const RefResult ref = reference(events, c.ref, 1000, 2);
  const RunResult run = run_job(config, c.query, events);
  expect_matches(run, events, ref, c.read_columns, false);
}

TEST(Workers, RangePartitionOnAComputedFloatKey) {
  // The first key is a mapped double (zone * 1.5: 0, 1.5, 3, 4.5, 6), the second a string.
  const auto events = generate(worker_stream(35));
  const WindowSpec w = WindowSpec::tumbling(5s);
  Case c;
  c.query.map("zf", col("zone") * lit(1.5))
      .key_by({"zf", "host"})
      .event_time("ts", 1s)
      .window(w)
      .aggregate({count(), sum(col("cpu"))});
  c.ref.window = w;
  c.ref.delay = 1000;
  c.ref.keys = [](const Event& e) {
    return std::vector<Value>{Value(e.zone * 1.5), Value(e.host)};
  };
  c.ref.aggregates = {{AggKind::count, {}}, {AggKind::sum, ev_cpu}};
  c.read_columns = {"ts", "host", "zone", "cpu"};
  RunResult one;
  run_and_check(c, events, 1, 1000, PushMode::builder, &one);
  EngineConfig config = make_config(3, 1000);
  config.partition.kind = PartitionSpec::Kind::range;
  config.partition.boundaries = {Value(1.5), Value(std::int64_t{4})};
  const RefResult ref = reference(events, c.ref, 1000, 3);
  const RunResult run = run_job(config, c.query, events);
  expect_matches(run, events, ref, c.read_columns, false);
  expect_same_finals(run, one);
}

TEST(Workers, DefaultWorkersOnCpuIsOne) {
  EngineConfig config = make_config(0, 100);
  if (config.backend != Backend::cpu) GTEST_SKIP() << "CPU backend only";
  Engine engine(config);
  EXPECT_EQ(engine.config().workers, 1);
  EXPECT_EQ(engine.backend(), Backend::cpu);
}

TEST(Workers, DefaultWorkersOnGpuIsOnePerGpu) {
  EngineConfig config = make_config(0, 100);
  if (config.backend != Backend::gpu) GTEST_SKIP() << "GPU backend only (SLUICE_E2E_BACKEND=gpu)";
  Engine engine(config);
  EXPECT_EQ(engine.backend(), Backend::gpu);
  EXPECT_EQ(engine.config().workers, std::max(1, detail::cuda_device_count()));
}

// ---------------------------------------------------------------------------------------------
// Balancing.

/// Runs the region query with `config` over `events`; returns the run, checked against the
/// reference.
RunResult balanced_run(const EngineConfig& config, const std::vector<Event>& events) {
  const Case c = by_region();
  const RefResult ref = reference(events, c.ref, config.batch_rows, config.workers);
  RunResult run = run_job(config, c.query, events);
  expect_matches(run, events, ref, c.read_columns, config.workers == 1);
  return run;
}

std::vector<Event> small_stream(std::size_t n, std::uint64_t seed) {
  StreamOptions o = worker_stream(seed);
  o.events = n;
  o.keys = 20;
  return generate(o);
}

TEST(Balancing, RoundRobinExactCounts) {
  // 11 batches of 100 rows (the last one partial) over 3 workers: 0,1,2,0,1,2,...
  const auto events = small_stream(1037, 41);
  EngineConfig config = make_config(3, 100);
  config.balance = BalancePolicy::round_robin;
  const RunResult run = balanced_run(config, events);
  EXPECT_EQ(run.metrics.batches, 11u);
  EXPECT_EQ(run.metrics.batches_per_worker, (std::vector<std::uint64_t>{4, 4, 3}));
}

TEST(Balancing, RoundRobinFourWorkers) {
  const auto events = small_stream(2000, 42);
  EngineConfig config = make_config(4, 50);
  const RunResult run = balanced_run(config, events);
  EXPECT_EQ(run.metrics.batches_per_worker, (std::vector<std::uint64_t>{10, 10, 10, 10}));
}

TEST(Balancing, WeightedExactOverMultiplesOfTheWeightSum) {
  struct Setup {
    std::vector<double> weights;
    std::size_t batches;
    std::vector<std::uint64_t> expected;
  };
  const std::vector<Setup> setups = {
      {{1, 2, 3}, 60, {10, 20, 30}}, {{1, 2, 3}, 6, {1, 2, 3}},         {{3, 1}, 40, {30, 10}},
      {{0.5, 1.5}, 20, {5, 15}},     {{2, 0, 1, 1}, 32, {16, 0, 8, 8}},
  };
  for (const Setup& s : setups) {
    SCOPED_TRACE(std::to_string(s.weights.size()) + " workers, " + std::to_string(s.batches) +
                 " batches");
    const auto events = small_stream(s.batches * 25, 43);
    EngineConfig config = make_config(static_cast<int>(s.weights.size()), 25);
    config.balance = BalancePolicy::weighted;
    config.weights = s.weights;
    const RunResult run = balanced_run(config, events);
    EXPECT_EQ(run.metrics.batches, s.batches);
    EXPECT_EQ(run.metrics.batches_per_worker, s.expected);
  }
}

TEST(Balancing, RandomIsUniformWithinBoundsAndSeeded) {
  // 1200 batches over 4 workers: each count is Binomial(1200, 1/4), mean 300, sd 15; allow
  // 5 sd.
  const auto events = small_stream(1200 * 5, 44);
  EngineConfig config = make_config(4, 5);
  config.balance = BalancePolicy::random;
  config.seed = 12345;
  const RunResult a = balanced_run(config, events);
  ASSERT_EQ(a.metrics.batches_per_worker.size(), 4u);
  std::uint64_t total = 0;
  for (std::uint64_t n : a.metrics.batches_per_worker) {
    EXPECT_GE(n, 300u - 75u);
    EXPECT_LE(n, 300u + 75u);
    total += n;
  }
  EXPECT_EQ(total, 1200u);
  // The same seed gives the same assignment; another seed another one.
  const RunResult b = run_job(config, by_region().query, events);
  EXPECT_EQ(b.metrics.batches_per_worker, a.metrics.batches_per_worker);
  config.seed = 54321;
  const RunResult c = balanced_run(config, events);
  EXPECT_NE(c.metrics.batches_per_worker, a.metrics.batches_per_worker);
  expect_finals(final_values(c.calls), final_values(a.calls));
}

TEST(Balancing, EveryPolicyGivesTheSameResults) {
  const auto events = generate(worker_stream(45));
  const Case c = by_host_zone();
  RunResult base;
  run_and_check(c, events, 1, 997, PushMode::builder, &base);
  for (BalancePolicy p :
       {BalancePolicy::round_robin, BalancePolicy::random, BalancePolicy::weighted}) {
    SCOPED_TRACE("policy " + std::to_string(static_cast<int>(p)));
    EngineConfig config = make_config(3, 997);
    config.balance = p;
    if (p == BalancePolicy::weighted) config.weights = {1, 3, 2};
    const RefResult ref = reference(events, c.ref, 997, 3);
    const RunResult run = run_job(config, c.query, events);
    expect_matches(run, events, ref, c.read_columns, false);
    expect_same_finals(run, base);
  }
}

}  // namespace
}  // namespace sluice::e2e
