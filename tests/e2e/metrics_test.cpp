// Job metrics of the window state: live groups and the bytes their tables hold.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

/// A global window keeps every (host, zone) group live until finish(): after flush() the state
/// holds exactly the distinct groups of the events that passed the filter, whatever the number
/// of workers, and nothing once the job has finished.
TEST(Metrics, StateGroupsAreTheLiveGroups) {
  StreamOptions o;
  o.events = 20000;
  o.keys = 300;
  o.seed = 91;
  const std::vector<Event> events = generate(o);
  std::set<std::pair<std::string, std::int32_t>> groups;
  for (const Event& e : events)
    if (e.status == 200) groups.insert({e.host, e.zone});
  for (int workers : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    Query q;
    q.filter(col("status") == lit(200))
        .key_by({"host", "zone"})
        .event_time("ts")
        .window(WindowSpec::global())
        .aggregate({count(), sum(col("cpu"))})
        .sink([](const Batch&) {});
    Engine engine(make_config(workers, 1000));
    Job job = engine.start(event_schema(), q);
    push_events(job, events, PushMode::builder, 5, 3000);
    job.flush();
    const Metrics live = job.metrics();
    EXPECT_EQ(live.state_groups, groups.size());
    // Each group holds its key words and states; the tables hold more (index, room to grow),
    // but not without bound.
    EXPECT_GE(live.state_bytes, live.state_groups * 4 * sizeof(std::uint64_t));
    EXPECT_LE(live.state_bytes, live.state_groups * 64 * sizeof(std::uint64_t) + (1u << 22));
    // The index has a slot per entry and room (its load stays below 0.7); its slots are in
    // the bytes.
    EXPECT_GE(live.state_slots * 7, live.state_groups * 10);
    EXPECT_LE(live.state_slots * sizeof(std::uint64_t), live.state_bytes);
    job.finish();
    EXPECT_EQ(job.metrics().state_groups, 0u);
  }
}

/// Every pushed row ends up in exactly one of filtered, late, unrepresentable and aggregated,
/// and the aggregated ones are exactly those the final windows count, whatever the workers,
/// the push path and the mix of late and unrepresentable rows.
TEST(Metrics, EveryPushedRowIsFilteredLateUnrepresentableOrAggregatedOnce) {
  StreamOptions o;
  o.events = 30000;
  o.keys = 200;
  o.late_fraction = 0.05;
  o.seed = 17;
  std::vector<Event> events = generate(o);
  // Event times no window can represent, among the first events and later.
  for (std::size_t at : {std::size_t{0}, std::size_t{1}, std::size_t{5000}, events.size() - 1}) {
    Event e = events[at];
    e.ts = at % 2 == 0 ? std::numeric_limits<std::int64_t>::max()
                       : std::numeric_limits<std::int64_t>::min();
    events.insert(events.begin() + static_cast<std::ptrdiff_t>(at), e);
  }
  for (int workers : {1, 3})
    for (PushMode mode : {PushMode::builder, PushMode::rows, PushMode::wrap_job_dictionary}) {
      SCOPED_TRACE(std::to_string(workers) + " workers, " + mode_name(mode));
      std::map<std::pair<std::int64_t, std::string>, std::int64_t> final_count;
      Query q;
      q.filter(col("status") == lit(200))
          .key_by({"host"})
          .event_time("ts", 200ms)
          .allowed_lateness(1s)
          .window(WindowSpec::tumbling(1s))
          .aggregate({count()})
          .sink([&final_count](std::span<const WindowResult> rows) {
            for (const WindowResult& w : rows)  // a later row supersedes an earlier one
              final_count[{w.window_start, std::get<std::string>(w.keys[0])}] =
                  std::get<std::int64_t>(w.values[0]);
          });
      Engine engine(make_config(workers, 700));
      Job job = engine.start(event_schema(), q);
      push_events(job, events, mode, 3, 2500);
      job.finish();
      const Metrics m = job.metrics();
      EXPECT_EQ(m.events_in, events.size());
      EXPECT_EQ(m.events_unrepresentable, 4u);
      EXPECT_GT(m.events_late, 0u);
      EXPECT_GT(m.events_filtered, 0u);
      EXPECT_EQ(m.events_in,
                m.events_filtered + m.events_late + m.events_unrepresentable + m.events_aggregated);
      std::uint64_t counted = 0;
      for (const auto& [window, n] : final_count) counted += static_cast<std::uint64_t>(n);
      EXPECT_EQ(m.events_aggregated, counted);
    }
}

/// The histograms: every worker's every round is one observation of round_duration; every
/// (window, key) row a round with batches fired is one of emission_latency, and the rows the
/// end of the input fires are not, whatever the workers.
TEST(Metrics, HistogramsObserveEachRoundAndEachEmittedRowOnce) {
  StreamOptions o;
  o.events = 12000;
  o.keys = 50;
  o.seed = 23;
  const std::vector<Event> events = generate(o);
  for (int workers : {1, 3}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    Query q;
    q.key_by({"host"})
        .event_time("ts", 100ms)
        .window(WindowSpec::tumbling(1s))
        .aggregate({count()})
        .sink([](const Batch&) {});
    Engine engine(make_config(workers, 1000));
    Job job = engine.start(event_schema(), q);
    const std::size_t chunk = 2000;
    for (std::size_t at = 0; at < events.size(); at += chunk) {
      const std::vector<Event> part(
          events.begin() + static_cast<std::ptrdiff_t>(at),
          events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), at + chunk)));
      push_events(job, part, PushMode::builder, 1, chunk);
      job.flush();  // every round so far has run and emitted
    }
    const Metrics before = job.metrics();
    ASSERT_GT(before.windows_fired, 0u) << "the watermark fired nothing before the end";
    EXPECT_EQ(before.emission_latency.count, before.windows_fired);
    job.finish();
    const Metrics after = job.metrics();
    EXPECT_GT(after.windows_fired, before.windows_fired);
    EXPECT_EQ(after.emission_latency.count, before.windows_fired)
        << "the rows of finish() are not latencies";
    // The same rounds as round_seconds adds up (to a nanosecond per round).
    EXPECT_NEAR(after.round_duration.sum, after.round_seconds,
                1e-9 * static_cast<double>(after.round_duration.count) + 1e-9);
    // Each worker observes each round: a multiple of the workers.
    EXPECT_GT(after.round_duration.count, 0u);
    EXPECT_EQ(after.round_duration.count % static_cast<std::uint64_t>(workers), 0u);
    EXPECT_GE(after.emission_latency.sum, 0.0);
    EXPECT_GE(after.round_duration.sum, 0.0);
    EXPECT_LE(after.round_duration.sum, after.elapsed_seconds * workers + 1.0);
    EXPECT_EQ(after.emission_latency.upper_bounds.size() + 1, after.emission_latency.counts.size());
  }
}

}  // namespace
}  // namespace sluice::e2e
