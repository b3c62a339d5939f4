// first(x) and last(x) by event time end to end, against the brute-force reference: tumbling,
// sliding and global windows, late events within the lateness, ties in time, 1-3 workers.
#include <gtest/gtest.h>

#include "../api/expect_error.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

struct FirstLastCase {
  const char* name;
  WindowSpec window;
  Duration lateness;
};

std::ostream& operator<<(std::ostream& os, const FirstLastCase& c) { return os << c.name; }

class FirstLast : public ::testing::TestWithParam<FirstLastCase> {};

// Two events a millisecond on 6 hosts: a host often has several events of one time, which
// the value's word decides between (the larger), whatever the order they come in.
TEST_P(FirstLast, TheValuesAtTheEarliestAndLatestEventTimeOfEachWindow) {
  const FirstLastCase t = GetParam();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{999}, std::size_t{6007}}) {
    StreamOptions o;
    o.events = n;
    o.keys = 6;
    o.step = 0.5;
    o.jitter = 200;
    o.late_fraction = 0.03;
    o.late_distance = 3'000;
    o.seed = n + 5;
    const std::vector<Event> events = generate(o);
    Case c;
    c.query = Query()
                  .filter(col("status") != lit(404))
                  .event_time("ts", 250ms)
                  .allowed_lateness(t.lateness)
                  .key_by({"host"})
                  .window(t.window)
                  .aggregate({first(col("cpu")), last(col("cpu")), count(), first(col("zone")),
                              last(col("zone") * lit(1000) + col("status")), max(col("cpu"))});
    c.ref.window = t.window;
    c.ref.delay = 250;
    c.ref.lateness = static_cast<std::int64_t>(t.lateness / 1ms);
    c.ref.filter = [](const Event& e) { return e.status != 404; };
    c.ref.keys = key_host;
    const InputFn zone = [](const Event& e) -> Value { return std::int64_t{e.zone}; };
    const InputFn zone_status = [](const Event& e) -> Value {
      return std::int64_t{e.zone} * 1000 + e.status;
    };
    c.ref.aggregates = {{AggKind::first, ev_cpu},     {AggKind::last, ev_cpu},
                        {AggKind::count, {}},         {AggKind::first, zone},
                        {AggKind::last, zone_status}, {AggKind::max, ev_cpu}};
    c.read_columns = {"ts", "host", "zone", "cpu", "status"};
    for (int workers : {1, 2, 3}) {
      SCOPED_TRACE(std::string(t.name) + ", " + std::to_string(n) + " events");
      RunResult run;
      run_and_check(c, events, workers, 300, PushMode::builder, &run);
      if (n > 0 && !run.calls.empty()) {
        const WindowResult& r = run.calls.front().front();
        EXPECT_TRUE(std::holds_alternative<double>(r.values.at(0)));
        EXPECT_TRUE(std::holds_alternative<std::int64_t>(r.values.at(3)));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, FirstLast,
    ::testing::Values(FirstLastCase{"tumbling", WindowSpec::tumbling(1s), 0s},
                      FirstLastCase{"tumbling_lateness", WindowSpec::tumbling(700ms), 2s},
                      FirstLastCase{"sliding_lateness", WindowSpec::sliding(2s, 500ms), 1s},
                      FirstLastCase{"sliding_gaps", WindowSpec::sliding(400ms, 1s), 0s},
                      FirstLastCase{"global", WindowSpec::global(), 0s}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FirstLastErrors, NeedEventTimeAndANumber) {
  const auto start = [](Query q) {
    Engine engine(make_config(1, 64));
    engine.start(event_schema(), std::move(q));
  };
  EXPECT_TRUE(test::contains(
      test::error_message([&] { start(Query().key_by({"host"}).aggregate({last(col("cpu"))})); },
                          ErrorCode::invalid_argument),
      "needs event_time"));
  EXPECT_TRUE(test::contains(
      test::error_message(
          [&] { start(Query().event_time("ts", 0ms).aggregate({first(col("host"))})); },
          ErrorCode::type_mismatch),
      "needs a number"));
  const std::vector<AggregateSpec> parsed = parse_aggregates("first(cpu), LAST(cpu * 2)");
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].kind, AggKind::first);
  EXPECT_EQ(parsed[1].kind, AggKind::last);
  EXPECT_EQ(parsed[1].name, "LAST(cpu * 2)");
  EXPECT_EQ(last(col("cpu")).name, "last(cpu)");
}

}  // namespace
}  // namespace sluice::e2e
