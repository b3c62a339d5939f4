// LIKE in a query's expressions, end to end: the job matches each distinct string once, as its
// dictionary grows, and keeps the matches right through string reclamation (a freed code may
// name another string later), beside broadcast inputs, on every worker count.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "../api/expect_error.hpp"
#include "churn_stream.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;
using Cell = churn::Cell;
using WindowKey = churn::WindowKey;

/// LIKE by its definition, recursively (texts here are short).
bool like_reference(const std::string& t, std::size_t i, const std::string& p, std::size_t j) {
  if (j == p.size()) return i == t.size();
  if (p[j] == '%')
    return like_reference(t, i, p, j + 1) || (i < t.size() && like_reference(t, i + 1, p, j));
  return i < t.size() && (p[j] == '_' || p[j] == t[i]) && like_reference(t, i + 1, p, j + 1);
}
bool like_reference(const std::string& text, const std::string& pattern) {
  return like_reference(text, 0, pattern, 0);
}

/// Churning hosts "w<window>-<k>", "steady", "skip": kept where host like 'w%-1%' or like
/// 'st_ady', and not like '%7'.
bool kept(const std::string& host) {
  return (like_reference(host, "w%-1%") || like_reference(host, "st_ady")) &&
         !like_reference(host, "%7");
}

Query like_query() {
  Query q;
  q.filter((like(col("host"), "w%-1%") || like(col("host"), "st_ady")) && !like(col("host"), "%7"))
      .key_by({"host"})
      .event_time("ts", 200ms)
      .window(WindowSpec::tumbling(1s))
      .aggregate({count(), sum(col("zone"))});
  return q;
}

std::map<WindowKey, Cell> like_reference_windows(const std::vector<Event>& events) {
  std::map<WindowKey, Cell> out;
  for (const Event& e : events) {
    if (!kept(e.host)) continue;
    Cell& c = out[{churn::window_of(e.ts), e.host}];
    ++c.first;
    c.second += e.zone;
  }
  return out;
}

TEST(Like, MatchesEveryStringThroughManyReclaims) {
  const std::vector<Event> events = churn::churning_stream(400, 100, 30, 5);
  const std::map<WindowKey, Cell> expected = like_reference_windows(events);
  ASSERT_GT(expected.size(), 400u);
  for (int workers : {1, 3})
    for (PushMode mode : {PushMode::builder, PushMode::rows}) {
      SCOPED_TRACE(std::to_string(workers) + " workers, " + mode_name(mode));
      EngineConfig config = make_config(workers, 32);
      config.string_reclaim_threshold = 512;
      const RunResult r = run_job(config, like_query(), events, mode, 3, 80);
      EXPECT_GT(r.metrics.string_reclaims, 5u);
      EXPECT_EQ(churn::final_windows(r), expected);
    }
}

TEST(Like, WorksBesideABroadcastInput) {
  // The broadcast's table comes first among the lookups, the patterns' after it.
  const std::vector<Event> events = churn::churning_stream(50, 100, 20, 9);
  const Schema limits({{"host", TypeId::string}, {"max_zone", TypeId::i64}});
  Query q;
  q.broadcast("limits", limits, "host")
      .filter(like(col("host"), "%-1_") && col("zone") <= col("limits.max_zone"))
      .key_by({"host"})
      .event_time("ts", 200ms)
      .window(WindowSpec::tumbling(1s))
      .aggregate({count(), sum(col("zone"))});
  // A limit for every host that can occur: the host's number modulo 10.
  std::map<std::string, std::int64_t> limit;
  for (const Event& e : events)
    limit.emplace(e.host, static_cast<std::int64_t>(e.host.size() % 10));
  std::map<WindowKey, Cell> expected;
  for (const Event& e : events) {
    if (!like_reference(e.host, "%-1_") || e.zone > limit.at(e.host)) continue;
    Cell& c = expected[{churn::window_of(e.ts), e.host}];
    ++c.first;
    c.second += e.zone;
  }
  ASSERT_FALSE(expected.empty());
  const Engine engine(make_config(2, 64));
  RunResult r;
  q.sink(ResultSink([&r](std::span<const WindowResult> rows) {
    r.calls.emplace_back(rows.begin(), rows.end());
  }));
  Job job = engine.start(event_schema(), q);
  BatchBuilder table(limits, {job.dictionary(), nullptr});
  for (const auto& [host, max_zone] : limit) {
    table.set_string(0, host);
    table.set_int(1, max_zone);
    table.end_row();
  }
  job.push_broadcast("limits", table.finish());
  for (const Event& e : events) job.push_row(event_row(e));
  job.finish();
  EXPECT_EQ(churn::final_windows(r), expected);
}

TEST(Like, BadUseIsAClearError) {
  const Engine engine(make_config(1, 64));
  const auto start = [&](Expr where) {
    Query q;
    q.filter(std::move(where))
        .key_by({"host"})
        .event_time("ts", 1s)
        .window(WindowSpec::tumbling(1s))
        .aggregate({count()});
    return engine.start(event_schema(), q);
  };
  using test::contains;
  using test::error_message;
  EXPECT_TRUE(
      contains(error_message([&] { start(like(col("zone"), "1%")); }, ErrorCode::type_mismatch),
               "'like' needs a string, got integer"));
  Expr many = like(col("host"), "a%");
  for (const char* p : {"b%", "c%", "d%", "e%", "f%", "g%", "h%", "i%"})
    many = many || like(col("host"), p);
  EXPECT_TRUE(contains(error_message([&] { start(many); }, ErrorCode::invalid_argument),
                       "'like' patterns together are at most 8"));
  // The parser reads it too, and its text reads back.
  EXPECT_EQ(parse_expression("host like 'w%' and not (host like '_x')").to_string(),
            "((host like 'w%') and (not (host like '_x')))");
  EXPECT_TRUE(
      contains(error_message([] { parse_expression("host like 3"); }, ErrorCode::parse_error),
               "'like' needs a 'pattern' string"));
}

}  // namespace
}  // namespace sluice::e2e
