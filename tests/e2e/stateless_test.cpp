// End-to-end tests of stateless queries: filtered, mapped and projected rows in push order.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

std::vector<Event> stateless_stream(std::uint64_t seed, std::size_t n = 10000) {
  StreamOptions o;
  o.events = n;
  o.keys = 30;
  o.seed = seed;
  return generate(o);
}

std::vector<Value> reference_row(const Event& e) {
  return {Value(e.host), Value(e.cpu * 2), Value(e.ts), Value(std::int64_t{e.status + 1}),
          Value(e.cpu > 75.0)};
}

Query filter_map_project() {
  Query q;
  q.filter(col("cpu") > lit(50.0))
      .map("cpu2", col("cpu") * lit(2))
      .map("code", col("status") + lit(1))
      .map("hot", col("cpu") > lit(75.0))
      .filter(col("status") != lit(404))
      .project({"host", "cpu2", "ts", "code", "hot"});
  return q;
}

TEST(Stateless, FilterMapProjectRowsInPushOrder) {
  const auto events = stateless_stream(61);
  std::vector<std::vector<Value>> want;
  for (const Event& e : events)
    if (e.cpu > 50.0 && e.status != 404) want.push_back(reference_row(e));
  const std::vector<std::string> names = {"host", "cpu2", "ts", "code", "hot"};
  for (int workers : {1, 3}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    const RunResult run = run_job(make_config(workers, 777), filter_map_project(), events);
    ASSERT_FALSE(run.rows.empty());
    const Schema& s = run.rows.front().schema();
    ASSERT_EQ(s.size(), 5u) << s.to_string();
    for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(s.field(i).name, names[i]);
    EXPECT_EQ(s.field(0).type, DataType(TypeId::string));
    EXPECT_EQ(s.field(1).type, DataType(TypeId::f64));
    EXPECT_EQ(s.field(2).type, DataType::timestamp(TimeUnit::ms));
    EXPECT_EQ(s.field(3).type, DataType(TypeId::i64));
    EXPECT_EQ(s.field(4).type, DataType(TypeId::boolean));
    const auto got = rows_by_name(run.rows, names);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (auto r = same_values(got[i], want[i]); !r) {
        ADD_FAILURE() << "row " << i << ": " << r.message();
        break;
      }
    }
    for (const Batch& b : run.rows) EXPECT_GT(b.rows(), 0u) << "empty batches are not delivered";
    EXPECT_EQ(run.metrics.events_in, events.size());
    EXPECT_EQ(run.metrics.events_filtered, events.size() - want.size());
    EXPECT_EQ(run.metrics.events_late, 0u);
    EXPECT_EQ(run.metrics.batches, (events.size() + 776) / 777);
  }
}

TEST(Stateless, WithoutProjectAllColumnsThenMappedOnes) {
  const auto events = stateless_stream(62, 3000);
  Query q;
  q.map("cpu", col("cpu") + lit(1.0)).map("twice", col("region") * lit(2));
  const RunResult run = run_job(make_config(1, 500), q, events, PushMode::rows);
  ASSERT_FALSE(run.rows.empty());
  const Schema& s = run.rows.front().schema();
  const std::vector<std::string> names = {"ts", "host", "region", "zone", "cpu", "status", "twice"};
  ASSERT_EQ(s.size(), names.size()) << s.to_string();
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(s.field(i).name, names[i]);
  const auto got = rows_by_name(run.rows, names);
  ASSERT_EQ(got.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const std::vector<Value> want = {Value(e.ts),        Value(e.host),
                                     Value(e.region),    Value(std::int64_t{e.zone}),
                                     Value(e.cpu + 1.0), Value(std::int64_t{e.status}),
                                     Value(e.region * 2)};
    if (auto r = same_values(got[i], want); !r) {
      ADD_FAILURE() << "row " << i << ": " << r.message();
      break;
    }
  }
}

TEST(Stateless, NothingPassesTheFilter) {
  const auto events = stateless_stream(63, 2000);
  Query q;
  q.filter(col("cpu") < lit(0.0)).project({"host"});
  const RunResult run = run_job(make_config(2, 300), q, events);
  EXPECT_TRUE(run.rows.empty());
  EXPECT_EQ(run.metrics.events_filtered, events.size());
}

TEST(Stateless, StringEqualityWithForeignDictionary) {
  const auto events = stateless_stream(64, 4000);
  Query q;
  q.filter(col("host") == lit("host-2") || col("host") == lit("host-0")).project({"host", "ts"});
  const RunResult run = run_job(make_config(1, 256), q, events, PushMode::foreign_dictionary);
  std::vector<std::vector<Value>> want;
  for (const Event& e : events)
    if (e.host == "host-2" || e.host == "host-0") want.push_back({Value(e.host), Value(e.ts)});
  EXPECT_EQ(rows_by_name(run.rows, {"host", "ts"}), want);
}

TEST(Stateless, EmptyInput) {
  const RunResult run = run_job(make_config(1, 100), filter_map_project(), {});
  EXPECT_TRUE(run.rows.empty());
  EXPECT_EQ(run.metrics.events_in, 0u);
}

}  // namespace
}  // namespace sluice::e2e
