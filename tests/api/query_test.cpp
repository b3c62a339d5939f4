// Tests of the Query builder: recorded steps and settings, and rejected misuse.
#include "sluice/query.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using test::contains;
using test::error_message;

TEST(Query, RecordsStepsInOrder) {
  Query q;
  q.filter(col("cpu") > lit(50))
      .map("cpu2", col("cpu") * lit(2))
      .filter(parse_expression("status == 200"))
      .project({"host", "cpu2"});
  ASSERT_EQ(q.steps().size(), 4u);
  EXPECT_EQ(q.steps()[0].kind, Query::Step::Kind::filter);
  EXPECT_EQ(q.steps()[0].expr.to_string(), "(cpu > 50)");
  EXPECT_EQ(q.steps()[1].kind, Query::Step::Kind::map);
  EXPECT_EQ(q.steps()[1].name, "cpu2");
  EXPECT_EQ(q.steps()[1].expr.to_string(), "(cpu * 2)");
  EXPECT_EQ(q.steps()[2].kind, Query::Step::Kind::filter);
  EXPECT_EQ(q.steps()[3].kind, Query::Step::Kind::project);
  EXPECT_EQ(q.steps()[3].columns, (std::vector<std::string>{"host", "cpu2"}));
  EXPECT_FALSE(q.is_windowed());
}

TEST(Query, WindowedSettings) {
  Query q;
  q.key_by({"host"})
      .event_time("ts", 2s)
      .allowed_lateness(5s)
      .window(WindowSpec::tumbling(10s))
      .aggregate({count(), avg(col("cpu"))})
      .sink([](std::span<const WindowResult>) {})
      .late_sink([](const Batch&) {});
  EXPECT_TRUE(q.is_windowed());
  EXPECT_EQ(q.keys(), std::vector<std::string>{"host"});
  EXPECT_EQ(q.time_column(), std::optional<std::string>("ts"));
  EXPECT_EQ(q.max_out_of_orderness(), 2s);
  EXPECT_EQ(q.lateness(), 5s);
  ASSERT_TRUE(q.window_spec().has_value());
  EXPECT_EQ(q.window_spec()->size, 10s);
  ASSERT_EQ(q.aggregates().size(), 2u);
  EXPECT_EQ(q.aggregates()[1].name, "avg(cpu)");
  EXPECT_TRUE(static_cast<bool>(q.result_sink()));
  EXPECT_TRUE(static_cast<bool>(q.late_events_sink()));
  EXPECT_FALSE(static_cast<bool>(q.batch_sink()));

  // A columnar sink replaces the row adapter, and the other way round.
  q.sink([](const Batch&) {});
  EXPECT_TRUE(static_cast<bool>(q.batch_sink()));
  EXPECT_FALSE(static_cast<bool>(q.result_sink()));

  Query stateless;
  stateless.sink(RowSink([](const Batch&) {}));
  EXPECT_TRUE(static_cast<bool>(stateless.batch_sink()));
}

TEST(Query, WindowIsNormalised) {
  WindowSpec spec;
  spec.kind = WindowSpec::Kind::tumbling;
  spec.size = 4s;
  Query q;
  q.window(spec);
  EXPECT_EQ(q.window_spec()->slide, 4s);
  spec.size = 0s;
  error_message([&] { q.window(spec); }, ErrorCode::invalid_argument);
}

TEST(Query, RejectsMisuse) {
  Query q;
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             q.key_by({"host", ""});
                           },
                           ErrorCode::invalid_argument),
                       "key_by"));
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             q.key_by({"host", "host"});
                           },
                           ErrorCode::invalid_argument),
                       "'host'"));
  error_message([&] { q.filter(Expr()); }, ErrorCode::invalid_argument);
  error_message([&] { q.map("", col("a")); }, ErrorCode::invalid_argument);
  EXPECT_TRUE(
      contains(error_message([&] { q.map("x", Expr()); }, ErrorCode::invalid_argument), "'x'"));
  error_message([&] { q.project({}); }, ErrorCode::invalid_argument);
  error_message([&] { q.project({"a", ""}); }, ErrorCode::invalid_argument);
  error_message([&] { q.event_time(""); }, ErrorCode::invalid_argument);
  error_message([&] { q.event_time("ts", -1s); }, ErrorCode::invalid_argument);
  error_message([&] { q.allowed_lateness(-1ms); }, ErrorCode::invalid_argument);
  error_message([&] { q.aggregate({}); }, ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(error_message(
                           [&] {
                             q.aggregate({count(), count()});
                           },
                           ErrorCode::invalid_argument),
                       "'count'"));
  AggregateSpec no_input;
  no_input.kind = AggKind::sum;
  no_input.name = "s";
  EXPECT_TRUE(contains(error_message([&] { q.aggregate({no_input}); }, ErrorCode::invalid_argument),
                       "'s'"));
  error_message([&] { q.sink(ResultSink()); }, ErrorCode::invalid_argument);
  error_message([&] { q.sink(RowSink()); }, ErrorCode::invalid_argument);
  error_message([&] { q.late_sink(LateSink()); }, ErrorCode::invalid_argument);
  EXPECT_TRUE(q.steps().empty());
  EXPECT_TRUE(q.keys().empty());
}

}  // namespace
}  // namespace sluice
