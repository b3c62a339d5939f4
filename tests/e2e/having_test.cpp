// Query::having end to end: each emission carries exactly the rows of the same query without
// it that pass the condition, in the same order, on-time rows and late re-emissions alike;
// bad conditions are clear errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../api/expect_error.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

Query by_host() {
  Query q;
  q.key_by({"host"})
      .event_time("ts", 500ms)
      .allowed_lateness(5s)
      .window(WindowSpec::tumbling(2s))
      .aggregate({count(), sum(col("zone")).as("z"), avg(col("cpu"))});
  return q;
}

/// The condition given to having() below, on a row of by_host()'s results.
bool passes(const WindowResult& r) {
  return std::get<std::int64_t>(r.values[0]) >= 3 && std::get<std::int64_t>(r.values[1]) > 10 &&
         std::get<std::string>(r.keys[0]) != "host-1";
}

TEST(Having, EachEmissionIsTheFilteredEmissionOfTheQueryWithoutIt) {
  StreamOptions o;
  o.events = 30000;
  o.keys = 40;
  o.late_fraction = 0.05;
  o.late_distance = 4000;  // many within the allowed lateness: windows are re-emitted
  o.seed = 31;
  const std::vector<Event> events = generate(o);
  Query filtered = by_host();
  // Two conditions AND; one reads a key (a string), the others aggregates by name.
  filtered.having(col("count") >= lit(3) && col("z") > lit(10))
      .having(col("host") != lit("host-1"));
  for (const int workers : {1, 3}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    const EngineConfig config = make_config(workers, 997);
    const RunResult all = run_job(config, by_host(), events);
    const RunResult kept = run_job(config, filtered, events);
    ASSERT_EQ(kept.calls.size(), all.calls.size());
    std::size_t rows = 0, updates = 0, dropped = 0;
    for (std::size_t c = 0; c < all.calls.size(); ++c) {
      std::vector<WindowResult> want;
      for (const WindowResult& r : all.calls[c]) {
        if (passes(r)) want.push_back(r);
        dropped += passes(r) ? 0 : 1;
      }
      ASSERT_EQ(kept.calls[c].size(), want.size()) << "call " << c;
      for (std::size_t i = 0; i < want.size(); ++i) {
        const WindowResult& g = kept.calls[c][i];
        ASSERT_EQ(g.window_start, want[i].window_start) << "call " << c << " row " << i;
        ASSERT_EQ(g.keys, want[i].keys) << "call " << c << " row " << i;
        ASSERT_EQ(g.values, want[i].values) << "call " << c << " row " << i;
        ASSERT_EQ(g.update, want[i].update) << "call " << c << " row " << i;
        ++rows;
        updates += g.update ? 1 : 0;
      }
    }
    // The condition keeps some rows, drops others, and re-emissions are among those kept.
    EXPECT_GT(rows, 100u);
    EXPECT_GT(dropped, 100u);
    EXPECT_GT(updates, 10u);
    EXPECT_EQ(kept.metrics.windows_fired, rows);
  }
}

TEST(Having, BadConditionsAreClearErrors) {
  const Engine engine(make_config(1, 64));
  const auto start = [&](Query q) { return engine.start(event_schema(), q); };
  using test::contains;
  using test::error_message;
  Query typo = by_host();
  typo.having(col("cnt") > lit(1));
  EXPECT_TRUE(contains(error_message([&] { start(typo); }, ErrorCode::unknown_column), "cnt"));
  Query dotted = by_host();
  dotted.having(col("limits.x") > lit(1));
  EXPECT_TRUE(
      contains(error_message([&] { start(dotted); }, ErrorCode::unknown_column), "limits.x"));
  Query not_bool = by_host();
  not_bool.having(col("count") + lit(1));
  EXPECT_TRUE(contains(error_message([&] { start(not_bool); }, ErrorCode::type_mismatch),
                       "having must be a bool"));
  Query with_like = by_host();
  with_like.having(like(col("host"), "h%"));
  EXPECT_TRUE(contains(error_message([&] { start(with_like); }, ErrorCode::invalid_argument),
                       "'like' is not supported"));
  Query stateless;
  stateless.filter(col("cpu") > lit(1.0)).having(col("cpu") > lit(2.0));
  EXPECT_TRUE(contains(error_message([&] { start(stateless); }, ErrorCode::invalid_argument),
                       "having needs a windowed query"));
}

}  // namespace
}  // namespace sluice::e2e
