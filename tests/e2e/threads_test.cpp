// End-to-end runs with several OpenMP threads per worker: the host fold's chunks, its per-thread
// tables and their flushes, the partitioned merge and the parallel fire, against the reference.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

/// Batches of 50 000 rows: three chunks of 16 384 rows and more for the team to share; 4 000
/// hosts so that the threads' tables flush within a batch; late events and re-emissions.
std::vector<Event> threaded_stream(std::uint64_t seed) {
  StreamOptions o;
  o.events = 150000;
  o.keys = 4000;
  o.step = 1;  // 150 s of event time
  o.jitter = 300;
  o.late_fraction = 0.01;
  o.late_distance = 20000;
  o.seed = seed;
  return generate(o);
}

constexpr std::size_t kBatchRows = 50000;

Case sliding_by_host(Duration lateness) {
  const WindowSpec w = WindowSpec::sliding(6s, 2s);
  Case c;
  c.query.key_by({"host"})
      .event_time("ts", 500ms)
      .allowed_lateness(lateness)
      .window(w)
      .aggregate({count(), sum(col("status")), min(col("cpu")), max(col("cpu")), avg(col("cpu"))});
  c.ref.window = w;
  c.ref.delay = 500;
  c.ref.lateness = lateness.count() / 1'000'000;
  c.ref.keys = key_host;
  c.ref.aggregates = {{AggKind::count, {}},
                      {AggKind::sum, ev_status},
                      {AggKind::min, ev_cpu},
                      {AggKind::max, ev_cpu},
                      {AggKind::avg, ev_cpu}};
  c.read_columns = {"ts", "host", "cpu", "status"};
  return c;
}

Case filtered_tumbling_by_region_zone() {
  const WindowSpec w = WindowSpec::tumbling(5s);
  Case c;
  c.query.filter(col("status") == lit(std::int64_t{200}))
      .key_by({"region", "zone"})
      .event_time("ts", 500ms)
      .allowed_lateness(3s)
      .window(w)
      .aggregate({count(), sum(col("cpu")), max(col("cpu"))});
  c.ref.window = w;
  c.ref.delay = 500;
  c.ref.lateness = 3000;
  c.ref.filter = [](const Event& e) { return e.status == 200; };
  c.ref.keys = [](const Event& e) { return std::vector<Value>{e.region, std::int64_t{e.zone}}; };
  c.ref.aggregates = {{AggKind::count, {}}, {AggKind::sum, ev_cpu}, {AggKind::max, ev_cpu}};
  c.read_columns = {"ts", "region", "zone", "cpu", "status"};
  return c;
}

EngineConfig threaded(int workers, int threads) {
  EngineConfig config = make_config(workers, kBatchRows);
  config.threads = threads;
  return config;
}

TEST(Threads, SlidingWindowsWithLatenessMatchTheReference) {
  const std::vector<Event> events = threaded_stream(3);
  const Case c = sliding_by_host(4s);
  for (const auto& [workers, threads] : {std::pair{1, 2}, std::pair{1, 3}, std::pair{2, 2}}) {
    const RefResult ref = run_and_check(c, events, threaded(workers, threads));
    EXPECT_GT(ref.late.size(), 0u);
  }
}

TEST(Threads, FilteredTumblingWindowsMatchTheReferenceWhateverThePush) {
  const std::vector<Event> events = threaded_stream(5);
  const Case c = filtered_tumbling_by_region_zone();
  for (PushMode mode : {PushMode::builder, PushMode::wrap_job_dictionary, PushMode::mixed})
    run_and_check(c, events, threaded(1, 2), mode);
  run_and_check(c, events, threaded(2, 2), PushMode::foreign_dictionary);
}

}  // namespace
}  // namespace sluice::e2e
