// End-to-end test at scale: 1 000 000 events, 100 000 keys, 1 and 3 workers vs the reference.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

TEST(Large, MillionEventsHundredThousandKeys) {
  StreamOptions o;
  o.events = 1'000'000;
  o.keys = 100'000;
  o.zipf = 0.9;
  o.step = 0.5;  // 500 s of event time
  o.jitter = 2'000;
  o.late_fraction = 0.002;
  o.late_distance = 120'000;
  o.seed = 71;
  const auto events = generate(o);

  const WindowSpec w = WindowSpec::sliding(20s, 10s);
  Case c;
  c.query.key_by({"region"})
      .event_time("ts", 3s)
      .allowed_lateness(10s)
      .window(w)
      .aggregate({count(), sum(col("status")), avg(col("cpu")), max(col("cpu"))});
  c.ref.window = w;
  c.ref.delay = 3000;
  c.ref.lateness = 10'000;
  c.ref.keys = key_region;
  c.ref.aggregates = {{AggKind::count, {}},
                      {AggKind::sum, ev_status},
                      {AggKind::avg, ev_cpu},
                      {AggKind::max, ev_cpu}};
  c.read_columns = {"ts", "region", "cpu", "status"};

  RunResult one;
  const RefResult ref = run_and_check(c, events, 1, 50'000, PushMode::wrap, &one);
  EXPECT_GT(ref.late.size(), 0u);
  EXPECT_GT(ref.updates, 0u);
  EXPECT_GT(ref.finals.size(), 100'000u);
  RunResult three;
  run_and_check(c, events, 3, 50'000, PushMode::wrap, &three);
  expect_finals(final_values(three.calls), final_values(one.calls));
}

}  // namespace
}  // namespace sluice::e2e
