// End-to-end tests of lateness: late counts, late-sink rows, allowed lateness and updates.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

StreamOptions late_stream(std::uint64_t seed) {
  StreamOptions o;
  o.events = 20000;
  o.keys = 40;
  o.step = 4;
  o.jitter = 300;
  o.late_fraction = 0.05;
  o.late_distance = 40'000;
  o.seed = seed;
  return o;
}

Case count_sum_by_host(WindowSpec window, Duration delay, Duration lateness) {
  Case c;
  c.query.key_by({"host"})
      .event_time("ts", delay)
      .allowed_lateness(lateness)
      .window(window)
      .aggregate({count(), sum(col("cpu")), max(col("status"))});
  c.ref.window = window;
  c.ref.delay = delay.count() / 1'000'000;
  c.ref.lateness = lateness.count() / 1'000'000;
  c.ref.keys = key_host;
  c.ref.aggregates = {{AggKind::count, {}}, {AggKind::sum, ev_cpu}, {AggKind::max, ev_status}};
  c.read_columns = {"ts", "host", "cpu", "status"};
  return c;
}

TEST(LateEvents, WithoutAllowedLateness) {
  const auto events = generate(late_stream(21));
  const RefResult ref =
      run_and_check(count_sum_by_host(WindowSpec::tumbling(5s), 1s, 0s), events, 1, 1000);
  EXPECT_GT(ref.late.size(), 500u);
  EXPECT_EQ(ref.updates, 0u) << "no lateness, no updates";
}

TEST(LateEvents, AllowedLatenessReemitsWindows) {
  const auto events = generate(late_stream(22));
  RunResult run;
  const RefResult ref = run_and_check(count_sum_by_host(WindowSpec::tumbling(5s), 1s, 20s), events,
                                      1, 1000, PushMode::builder, &run);
  EXPECT_GT(ref.late.size(), 0u);
  EXPECT_GT(ref.updates, 0u) << "some late events fall within the allowed lateness";
  EXPECT_GT(run.metrics.window_updates, 0u);
}

TEST(LateEvents, SlidingWindowsPartlyExpired) {
  // A late event may still update the later windows of its pane but not the earlier ones.
  const auto events = generate(late_stream(23));
  const RefResult ref =
      run_and_check(count_sum_by_host(WindowSpec::sliding(12s, 4s, 1s), 500ms, 6s), events, 1, 700);
  EXPECT_GT(ref.late.size(), 0u);
  EXPECT_GT(ref.updates, 0u);
}

TEST(LateEvents, ManyWorkersLateRowsAsMultiset) {
  const auto events = generate(late_stream(24));
  for (int workers : {2, 3}) {
    const RefResult ref = run_and_check(count_sum_by_host(WindowSpec::sliding(10s, 5s), 1s, 5s),
                                        events, workers, 800);
    EXPECT_GT(ref.late.size(), 0u);
  }
}

TEST(LateEvents, FilteredEventsAreNeverLate) {
  // Every event more than the jitter behind the maximum so far gets status 500 and the filter
  // keeps 200 only: none may be late.
  auto events = generate(late_stream(25));
  std::int64_t max_seen = INT64_MIN;
  for (Event& e : events) {
    if (max_seen != INT64_MIN && e.ts < max_seen - 700)
      e.status = 500;
    else if (e.status == 500)
      e.status = 404;
    max_seen = std::max(max_seen, e.ts);
  }
  Case c = count_sum_by_host(WindowSpec::tumbling(5s), 1s, 0s);
  c.query.filter(col("status") == lit(200));
  c.ref.filter = [](const Event& e) { return e.status == 200; };
  RunResult run;
  const RefResult ref = run_and_check(c, events, 1, 1000, PushMode::builder, &run);
  EXPECT_TRUE(ref.late.empty());
  EXPECT_EQ(run.metrics.events_late, 0u);
  EXPECT_TRUE(run.late.empty());
  EXPECT_GT(run.metrics.events_filtered, 0u);
}

TEST(LateEvents, LateSinkColumnsAreTheReadColumnsInSchemaOrder) {
  // The filter reads status first, then the time column, the key and the aggregate input: the
  // late rows still carry the read columns in input schema order (ts, host, cpu, status).
  const auto events = generate(late_stream(26));
  Case c = count_sum_by_host(WindowSpec::tumbling(5s), 1s, 0s);
  c.query = Query();
  c.query.filter(col("status") != lit(404))
      .key_by({"host"})
      .event_time("ts", 1s)
      .window(WindowSpec::tumbling(5s))
      .aggregate({count(), sum(col("cpu")), max(col("status"))});
  c.ref.filter = [](const Event& e) { return e.status != 404; };
  RunResult run;
  run_and_check(c, events, 1, 1000, PushMode::builder, &run);
  ASSERT_FALSE(run.late.empty());
  const Schema& s = run.late.front().schema();
  ASSERT_EQ(s.size(), 4u) << s.to_string();
  EXPECT_EQ(s.field(0).name, "ts") << s.to_string();
  EXPECT_EQ(s.field(1).name, "host") << s.to_string();
  EXPECT_EQ(s.field(2).name, "cpu") << s.to_string();
  EXPECT_EQ(s.field(3).name, "status") << s.to_string();
  EXPECT_EQ(s.field(0).type, DataType::timestamp(TimeUnit::ms));
  EXPECT_EQ(s.field(3).type, DataType(TypeId::i32));
}

// ---------------------------------------------------------------------------------------------
// Hand-computed cases (one row per batch, delay 0, tumbling 10 s): they pin the reference.

std::vector<Event> at_times(std::initializer_list<std::int64_t> times) {
  std::vector<Event> events;
  for (std::int64_t t : times) events.push_back({t, "h", 1, 0, 1.0, 200});
  return events;
}

TEST(LateEvents, BoundaryWithoutLateness) {
  // After 15000 the watermark is 15000: [0, 10000) has fired; 9999 is late, 10000 is not.
  const auto events = at_times({15'000, 9'999, 10'000, 5'000});
  const Case c = count_sum_by_host(WindowSpec::tumbling(10s), 0s, 0s);
  RunResult run;
  const RefResult ref = run_and_check(c, events, 1, 1, PushMode::builder, &run);
  EXPECT_EQ(ref.late, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(run.metrics.events_late, 2u);
  ASSERT_EQ(run.late.size(), 2u);
  EXPECT_EQ(run.late[0].at(0, 0), Value(std::int64_t{9'999}));
  EXPECT_EQ(run.late[1].at(0, 0), Value(std::int64_t{5'000}));
  const auto finals = final_values(run.calls);
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(std::get<0>(finals.begin()->first), 10'000);
  EXPECT_EQ(finals.begin()->second[0], Value(std::int64_t{2}));
}

TEST(LateEvents, BoundaryWithLateness) {
  // Lateness 5 s: [0, 10000) still takes events while the watermark is below 15000. The first
  // batch fixes no watermark, so 9999 in batch 1 sees 15000: 10000 + 5000 > 15000 is false.
  {
    const auto events = at_times({15'000, 9'999});
    RunResult run;
    const RefResult ref = run_and_check(count_sum_by_host(WindowSpec::tumbling(10s), 0s, 5s),
                                        events, 1, 1, PushMode::builder, &run);
    EXPECT_EQ(ref.late.size(), 1u);
  }
  {
    const auto events = at_times({14'999, 9'999, 100});
    RunResult run;
    const RefResult ref = run_and_check(count_sum_by_host(WindowSpec::tumbling(10s), 0s, 5s),
                                        events, 1, 1, PushMode::builder, &run);
    EXPECT_TRUE(ref.late.empty());
    EXPECT_EQ(run.metrics.events_late, 0u);
    // [0, 10000) fires after 14999 (no state yet: nothing emitted), then 9999 and 100 each
    // re-emit it as an update; [10000, 20000) fires at finish.
    ASSERT_EQ(run.calls.size(), 3u);
    EXPECT_EQ(run.calls[0][0].window_start, 0);
    EXPECT_EQ(run.calls[0][0].values[0], Value(std::int64_t{1}));
    EXPECT_TRUE(run.calls[0][0].update);
    EXPECT_EQ(run.calls[1][0].values[0], Value(std::int64_t{2}));
    EXPECT_TRUE(run.calls[1][0].update);
    EXPECT_EQ(run.calls[2][0].window_start, 10'000);
    EXPECT_FALSE(run.calls[2][0].update);
    EXPECT_EQ(run.metrics.window_updates, 2u);
  }
}

TEST(LateEvents, FirstBatchHasNoWatermark) {
  // All in one batch: nothing is late however far apart the times are.
  const auto events = at_times({100'000, 1, 50'000, -3'000});
  RunResult run;
  const RefResult ref = run_and_check(count_sum_by_host(WindowSpec::tumbling(10s), 0s, 0s), events,
                                      1, 10, PushMode::builder, &run);
  EXPECT_TRUE(ref.late.empty());
  EXPECT_EQ(final_values(run.calls).size(), 4u);
}

TEST(LateEvents, WatermarkCountsFilteredAndLateEvents) {
  // The watermark follows every event of earlier batches, the filtered ones included: the
  // filtered 30000 of batch 0 makes 15000 in batch 1 late.
  std::vector<Event> events = at_times({30'000, 15'000});
  events[0].status = 404;
  Case c = count_sum_by_host(WindowSpec::tumbling(10s), 0s, 0s);
  c.query.filter(col("status") == lit(200));
  c.ref.filter = [](const Event& e) { return e.status == 200; };
  RunResult run;
  const RefResult ref = run_and_check(c, events, 1, 1, PushMode::builder, &run);
  EXPECT_EQ(ref.late, (std::vector<std::size_t>{1}));
  EXPECT_TRUE(run.calls.empty());
}

}  // namespace
}  // namespace sluice::e2e
