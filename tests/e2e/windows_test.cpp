// End-to-end tests of windowed aggregation: tumbling, sliding, offsets, expressions, global.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBatchRows = 997;

StreamOptions default_stream(std::uint64_t seed = 1) {
  StreamOptions o;
  o.events = 20000;
  o.keys = 50;
  o.step = 5;  // 100 s of event time
  o.jitter = 400;
  o.late_fraction = 0.02;
  o.late_distance = 30'000;
  o.seed = seed;
  return o;
}

/// count, sum(cpu), min(status), max(status), avg(cpu), sum(status), min(cpu), max(cpu) by host.
Case all_aggregates_by_host(WindowSpec window, Duration delay = 1s) {
  Case c;
  c.query.key_by({"host"})
      .event_time("ts", delay)
      .window(window)
      .aggregate({count(), sum(col("cpu")), min(col("status")), max(col("status")), avg(col("cpu")),
                  sum(col("status")), min(col("cpu")), max(col("cpu"))});
  c.ref.window = window;
  c.ref.delay = delay.count() / 1'000'000;
  c.ref.keys = key_host;
  c.ref.aggregates = {{AggKind::count, {}},      {AggKind::sum, ev_cpu}, {AggKind::min, ev_status},
                      {AggKind::max, ev_status}, {AggKind::avg, ev_cpu}, {AggKind::sum, ev_status},
                      {AggKind::min, ev_cpu},    {AggKind::max, ev_cpu}};
  c.read_columns = {"ts", "host", "cpu", "status"};
  return c;
}

TEST(Windows, TumblingAllAggregatesByHost) {
  const auto events = generate(default_stream());
  const Case c = all_aggregates_by_host(WindowSpec::tumbling(10s));
  RunResult run;
  const RefResult ref = run_and_check(c, events, 1, kBatchRows, PushMode::builder, &run);
  EXPECT_GT(ref.late.size(), 0u);
  EXPECT_GT(ref.calls.size(), 5u) << "windows should fire before finish";
  // Result types: count and integer sums/min/max are int64, float ones double, avg double.
  ASSERT_FALSE(run.calls.empty());
  const WindowResult& r = run.calls.front().front();
  ASSERT_EQ(r.values.size(), 8u);
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(r.values[0]));
  EXPECT_TRUE(std::holds_alternative<double>(r.values[1]));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(r.values[2]));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(r.values[3]));
  EXPECT_TRUE(std::holds_alternative<double>(r.values[4]));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(r.values[5]));
  EXPECT_TRUE(std::holds_alternative<double>(r.values[6]));
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<std::string>(r.keys[0]));
  for (const auto& call : run.calls)
    for (const WindowResult& w : call) EXPECT_EQ(w.window_end - w.window_start, 10'000);
}

TEST(Windows, TumblingWithOffset) {
  const auto events = generate(default_stream(2));
  RunResult run;
  run_and_check(all_aggregates_by_host(WindowSpec::tumbling(10s, 3s)), events, 1, kBatchRows,
                PushMode::builder, &run);
  for (const auto& call : run.calls)
    for (const WindowResult& w : call)
      EXPECT_EQ(floor_div(w.window_start - 3000, 10'000) * 10'000 + 3000, w.window_start);
}

TEST(Windows, SlidingSizeMultipleOfSlide) {
  const auto events = generate(default_stream(3));
  run_and_check(all_aggregates_by_host(WindowSpec::sliding(10s, 2s)), events, 1, kBatchRows);
}

TEST(Windows, SlidingSizeNotMultipleOfSlideWithOffset) {
  const auto events = generate(default_stream(4));
  run_and_check(all_aggregates_by_host(WindowSpec::sliding(10s, 4s, 1s)), events, 1, kBatchRows);
}

TEST(Windows, SlidingCoprimeSizeAndSlide) {
  const auto events = generate(default_stream(5));
  run_and_check(all_aggregates_by_host(WindowSpec::sliding(7s, 3s, 2s)), events, 1, kBatchRows);
}

TEST(Windows, CumulatingStepsUpToTheSize) {
  const auto events = generate(default_stream(21));
  run_and_check(all_aggregates_by_host(WindowSpec::cumulate(10s, 2s)), events, 1, kBatchRows);
}

TEST(Windows, CumulatingWithOffsetLatenessAndWorkers) {
  const auto events = generate(default_stream(22));
  Case c = all_aggregates_by_host(WindowSpec::cumulate(12s, 3s, 5s));
  c.query.allowed_lateness(4s);
  c.ref.lateness = 4'000;
  for (const int workers : {1, 3}) run_and_check(c, events, workers, 1000);
}

TEST(Windows, CumulatingHandComputed) {
  // Steps of 2 s up to 6 s: events at 1 s, 3 s and 9 s (one per batch, no delay).
  std::vector<Event> events;
  for (std::int64_t t : {1'000, 3'000, 9'000}) events.push_back({t, "h", 1, 0, 1.0, 200});
  RunResult run;
  run_and_check(all_aggregates_by_host(WindowSpec::cumulate(6s, 2s), 0s), events, 1, 1,
                PushMode::builder, &run);
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> counts;
  for (const auto& [window, values] : final_values(run.calls))
    counts[{std::get<0>(window), std::get<1>(window)}] = std::get<std::int64_t>(values[0]);
  const std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> expected = {
      {{0, 2'000}, 1},
      {{0, 4'000}, 2},
      {{0, 6'000}, 2},
      {{6'000, 10'000}, 1},
      {{6'000, 12'000}, 1}};
  EXPECT_EQ(counts, expected);
}

TEST(Windows, NoOutOfOrdernessAllowance) {
  // Without a delay every jittered event behind the maximum risks lateness at window edges.
  StreamOptions o = default_stream(6);
  o.late_fraction = 0;
  const auto events = generate(o);
  const RefResult ref =
      run_and_check(all_aggregates_by_host(WindowSpec::tumbling(1s), 0s), events, 1, kBatchRows);
  EXPECT_GT(ref.late.size(), 0u);
}

TEST(Windows, SlidingSmallerThanSlideLeavesGaps) {
  // Windows [5k s, 5k s + 2 s): events in the gaps belong to no window, so they are late
  // (counted and sent to the late sink), never silently dropped.
  StreamOptions o = default_stream(7);
  o.late_fraction = 0;
  const auto events = generate(o);
  const RefResult ref =
      run_and_check(all_aggregates_by_host(WindowSpec::sliding(2s, 5s)), events, 1, kBatchRows);
  EXPECT_GT(ref.late.size(), events.size() / 2);
}

TEST(Windows, GapEventsAreLateHandComputed) {
  // Windows [5k s, 5k s + 2 s), one event per batch, no delay. 1000 and 5500 fall in windows;
  // 3000 and 8000 fall in the gaps, contribute to no window and so are late.
  std::vector<Event> events;
  for (std::int64_t t : {1'000, 3'000, 5'500, 8'000}) events.push_back({t, "h", 1, 0, 1.0, 200});
  RunResult run;
  const RefResult ref = run_and_check(all_aggregates_by_host(WindowSpec::sliding(2s, 5s), 0s),
                                      events, 1, 1, PushMode::builder, &run);
  EXPECT_EQ(ref.late, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(run.metrics.events_late, 2u);
  EXPECT_EQ(final_values(run.calls).size(), 2u);
}

TEST(Windows, FilterComputedKeysAndAggregateExpressions) {
  const auto events = generate(default_stream(8));
  Case c;
  c.query.filter(col("status") == lit(200) && col("cpu") > lit(20.5))
      .map("bucket", col("region") * lit(3) + col("zone"))
      .map("load", col("cpu") * lit(2))
      .filter(col("zone") != lit(4))
      .key_by({"bucket"})
      .event_time("ts", 2s)
      .window(WindowSpec::tumbling(5s))
      .aggregate({count(), avg(col("cpu") * lit(2)).as("avg2"), sum(col("load")),
                  max(col("load") - lit(1)).as("maxl"), sum(col("status") - lit(199)).as("s1"),
                  min(col("region") / lit(2)).as("half"), avg(col("zone")).as("az")});
  c.ref.window = WindowSpec::tumbling(5s);
  c.ref.delay = 2000;
  c.ref.filter = [](const Event& e) { return e.status == 200 && e.cpu > 20.5 && e.zone != 4; };
  c.ref.keys = [](const Event& e) {
    return std::vector<Value>{std::int64_t{e.region * 3 + e.zone}};
  };
  c.ref.aggregates = {
      {AggKind::count, {}},
      {AggKind::avg, [](const Event& e) { return Value(e.cpu * 2); }},
      {AggKind::sum, [](const Event& e) { return Value(e.cpu * 2); }},
      {AggKind::max, [](const Event& e) { return Value(e.cpu * 2 - 1); }},
      {AggKind::sum, [](const Event& e) { return Value(std::int64_t{e.status - 199}); }},
      {AggKind::min, [](const Event& e) { return Value(static_cast<double>(e.region) / 2); }},
      {AggKind::avg, [](const Event& e) { return Value(static_cast<double>(e.zone)); }}};
  c.read_columns = {"ts", "region", "zone", "cpu", "status"};
  RunResult run;
  const RefResult ref = run_and_check(c, events, 1, kBatchRows, PushMode::builder, &run);
  EXPECT_GT(ref.filtered, events.size() / 4);
  ASSERT_FALSE(run.calls.empty());
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(run.calls[0][0].keys[0]));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(run.calls[0][0].values[4]));
  EXPECT_TRUE(std::holds_alternative<double>(run.calls[0][0].values[5]));
}

TEST(Windows, TwoKeyColumnsStringAndInteger) {
  const auto events = generate(default_stream(9));
  Case c;
  c.query.key_by({"host", "zone"})
      .event_time("ts", 1s)
      .window(WindowSpec::sliding(6s, 4s))
      .aggregate({count(), sum(col("cpu")), max(col("status"))});
  c.ref.window = WindowSpec::sliding(6s, 4s);
  c.ref.delay = 1000;
  c.ref.keys = key_host_zone;
  c.ref.aggregates = {{AggKind::count, {}}, {AggKind::sum, ev_cpu}, {AggKind::max, ev_status}};
  c.read_columns = {"ts", "host", "zone", "cpu", "status"};
  run_and_check(c, events, 1, kBatchRows);
}

TEST(Windows, NoKeys) {
  const auto events = generate(default_stream(10));
  Case c;
  c.query.event_time("ts", 1s)
      .window(WindowSpec::tumbling(3s))
      .aggregate({count(), avg(col("cpu"))});
  c.ref.window = WindowSpec::tumbling(3s);
  c.ref.delay = 1000;
  c.ref.aggregates = {{AggKind::count, {}}, {AggKind::avg, ev_cpu}};
  c.read_columns = {"ts", "cpu"};
  RunResult run;
  run_and_check(c, events, 1, kBatchRows, PushMode::builder, &run);
  for (const auto& call : run.calls)
    for (const WindowResult& r : call) EXPECT_TRUE(r.keys.empty());
}

TEST(Windows, NegativeTimestamps) {
  StreamOptions o = default_stream(11);
  o.start = -60'000;  // event times cross zero
  o.events = 5000;
  o.step = 20;
  const auto events = generate(o);
  run_and_check(all_aggregates_by_host(WindowSpec::sliding(3s, 2s, 1s)), events, 1, 100);
}

TEST(Windows, EmptyInput) {
  const std::vector<Event> events;
  const Case c = all_aggregates_by_host(WindowSpec::tumbling(10s));
  RunResult run;
  run_and_check(c, events, 1, kBatchRows, PushMode::builder, &run);
  EXPECT_TRUE(run.calls.empty());
  EXPECT_TRUE(run.late.empty());
  EXPECT_EQ(run.metrics.events_in, 0u);
  EXPECT_EQ(run.metrics.batches, 0u);
  EXPECT_EQ(run.metrics.windows_fired, 0u);
}

TEST(Windows, OneEvent) {
  const std::vector<Event> events{{12'345, "solo", 7, 1, 42.5, 404}};
  const Case c = all_aggregates_by_host(WindowSpec::sliding(10s, 5s));
  RunResult run;
  run_and_check(c, events, 1, kBatchRows, PushMode::builder, &run);
  // Written out: the event lies in [5 s, 15 s) and [10 s, 20 s), both fired at finish.
  ASSERT_EQ(run.calls.size(), 1u);
  ASSERT_EQ(run.calls[0].size(), 2u);
  const WindowResult& a = run.calls[0][0];
  EXPECT_EQ(a.window_start, 5'000);
  EXPECT_EQ(a.window_end, 15'000);
  EXPECT_EQ(run.calls[0][1].window_start, 10'000);
  EXPECT_EQ(a.keys, std::vector<Value>{Value(std::string("solo"))});
  EXPECT_EQ(a.values[0], Value(std::int64_t{1}));
  EXPECT_EQ(a.values[1], Value(42.5));
  EXPECT_EQ(a.values[2], Value(std::int64_t{404}));
  EXPECT_EQ(a.values[4], Value(42.5));
  EXPECT_FALSE(a.update);
  EXPECT_EQ(run.metrics.batches, 1u);
}

TEST(Windows, WindowsWithoutEventsAreNotEmitted) {
  // Two bursts 100 s apart: no window in between is emitted.
  std::vector<Event> events;
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t base = i < 1000 ? 0 : 100'000;
    events.push_back({base + (i % 1000) * 5, "h" + std::to_string(i % 3), i % 3, 0, 1.0 * i, 200});
  }
  const Case c = all_aggregates_by_host(WindowSpec::sliding(4s, 2s));
  RunResult run;
  const RefResult ref = run_and_check(c, events, 1, 128, PushMode::builder, &run);
  for (const auto& call : run.calls)
    for (const WindowResult& r : call) {
      const bool first_burst = r.window_end > 0 && r.window_start < 5'000;
      const bool second_burst = r.window_end > 100'000 && r.window_start < 105'000;
      EXPECT_TRUE(first_burst || second_burst)
          << "empty window [" << r.window_start << ", " << r.window_end << ") emitted";
      EXPECT_GT(std::get<std::int64_t>(r.values[0]), 0);
    }
  EXPECT_EQ(ref.finals.size(), 2u * 3u * 4u);  // per burst: 4 windows overlap 5 s, 3 hosts
}

TEST(Windows, StateGrowthKeepsExistingEntries) {
  // Batch 0 holds keys 0..299 twice; batch 1 keys 0..599 once, all in one window that fires at
  // finish. Batch 1 both updates 300 live (key, pane) entries and adds 300 new ones, so the
  // window state has to grow while merging it: keys 0..299 must end with 3 events, the others
  // with 1.
  std::vector<Event> events;
  for (int rep = 0; rep < 2; ++rep)
    for (int k = 0; k < 300; ++k) events.push_back({k, "k" + std::to_string(k), k, 0, 1.0, 200});
  for (int k = 0; k < 600; ++k)
    events.push_back({1000 + k, "k" + std::to_string(k), k, 0, 1.0, 200});
  Case c;
  c.query.key_by({"region"})
      .event_time("ts", 1s)
      .window(WindowSpec::tumbling(std::chrono::hours(1)))
      .aggregate({count()});
  c.ref.window = WindowSpec::tumbling(std::chrono::hours(1));
  c.ref.delay = 1000;
  c.ref.keys = key_region;
  c.ref.aggregates = {{AggKind::count, {}}};
  c.read_columns = {"ts", "region"};
  RunResult run;
  run_and_check(c, events, 1, 600, PushMode::builder, &run);
  const auto finals = final_values(run.calls);
  EXPECT_EQ(finals.size(), 600u);
  int wrong = 0;
  for (std::int64_t k = 0; k < 600; ++k) {
    const auto it = finals.find({0, 3'600'000, {Value(k)}});
    const Value want(std::int64_t{k < 300 ? 3 : 1});
    if (it == finals.end() || it->second[0] != want) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "keys with a wrong count";
}

TEST(Windows, GlobalWindowFiresAtFinish) {
  const auto events = generate(default_stream(12));
  Case c;
  c.query.key_by({"host"})
      .event_time("ts", 1s)
      .window(WindowSpec::global())
      .aggregate({count(), sum(col("cpu")), min(col("ts")).as("first"), max(col("ts")).as("last")});
  c.ref.window = WindowSpec::global();
  c.ref.delay = 1000;
  c.ref.keys = key_host;
  c.ref.aggregates = {{AggKind::count, {}},
                      {AggKind::sum, ev_cpu},
                      {AggKind::min, [](const Event& e) { return Value(e.ts); }},
                      {AggKind::max, [](const Event& e) { return Value(e.ts); }}};
  c.read_columns = {"ts", "host", "cpu"};
  RunResult run;
  const RefResult ref = run_and_check(c, events, 1, kBatchRows, PushMode::builder, &run);
  EXPECT_TRUE(ref.late.empty()) << "nothing is late for the global window";
  ASSERT_EQ(run.calls.size(), 1u) << "one emission, at finish";
  for (const WindowResult& r : run.calls[0]) {
    EXPECT_EQ(r.window_start, INT64_MIN);
    EXPECT_EQ(r.window_end, INT64_MAX);
    EXPECT_FALSE(r.update);
  }
  EXPECT_EQ(run.calls[0].size(), 50u);
}

TEST(Windows, GlobalWindowWithoutEventTime) {
  const auto events = generate(default_stream(13));
  Case c;
  c.query.key_by({"zone"}).aggregate({count(), avg(col("cpu"))});  // window defaults to global
  c.ref.window = WindowSpec::global();
  c.ref.has_time = false;
  c.ref.keys = [](const Event& e) { return std::vector<Value>{std::int64_t{e.zone}}; };
  c.ref.aggregates = {{AggKind::count, {}}, {AggKind::avg, ev_cpu}};
  c.read_columns = {"zone", "cpu"};
  RunResult run;
  run_and_check(c, events, 1, kBatchRows, PushMode::builder, &run);
  ASSERT_EQ(run.calls.size(), 1u);
  EXPECT_EQ(run.calls[0].size(), 5u);
}

}  // namespace
}  // namespace sluice::e2e
