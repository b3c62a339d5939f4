// End-to-end tests of error paths: bad queries, configs and pushes, no GPU, throwing sinks.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <thread>

#include "api/expect_error.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

using test::error_message;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Query windowed() {
  Query q;
  q.key_by({"host"}).event_time("ts", 1s).window(WindowSpec::tumbling(10s)).aggregate({count()});
  q.sink([](std::span<const WindowResult>) {});
  return q;
}

void start(const Query& q, EngineConfig config = make_config(1, 100)) {
  Engine engine(config);
  Job job = engine.start(event_schema(), q);
  job.finish();
}

TEST(Errors, UnknownColumnIsNamed) {
  std::vector<Query> queries(6, windowed());
  queries[0].filter(col("nope") > lit(1));
  queries[1].map("x", col("nope") * lit(2));
  queries[2].key_by({"nope"});
  queries[3].event_time("nope");
  queries[4].aggregate({sum(col("nope"))});
  queries[5] = Query().project({"host", "nope"});
  for (std::size_t i = 0; i < queries.size(); ++i) {
    SCOPED_TRACE("query " + std::to_string(i));
    const std::string msg = error_message([&] { start(queries[i]); }, ErrorCode::unknown_column);
    EXPECT_TRUE(contains(msg, "nope")) << msg;
  }
}

TEST(Errors, ColumnDroppedByProjectIsUnknownAfterwards) {
  Query q;
  q.project({"host", "cpu"}).filter(col("status") == lit(200));
  const std::string msg = error_message([&] { start(q); }, ErrorCode::unknown_column);
  EXPECT_TRUE(contains(msg, "status")) << msg;
}

TEST(Errors, FilterMustBeBoolean) {
  Query q = windowed();
  q.filter(col("cpu") + lit(1));
  error_message([&] { start(q); }, ErrorCode::type_mismatch);
  Query s;
  s.filter(col("status"));
  error_message([&] { start(s); }, ErrorCode::type_mismatch);
}

TEST(Errors, MapStepsThatMultiplyAnExpressionAreBounded) {
  // Each step doubles the code (a reused column is its whole expression): refused once the
  // program would pass its bound, long before memory runs out.
  Query q = windowed();
  q.map("m0", col("cpu") + col("cpu"));
  for (int i = 1; i < 40; ++i)
    q.map("m" + std::to_string(i),
          col("m" + std::to_string(i - 1)) * col("m" + std::to_string(i - 1)));
  q.filter(col("m39") > lit(1));
  EXPECT_TRUE(test::contains(error_message([&] { start(q); }, ErrorCode::invalid_argument),
                             "expression too long"));
  // A filter at the depth limit compiles and runs.
  Expr e = col("cpu");
  for (int i = 1; i < kMaxExpressionDepth - 1; ++i) e = e + lit(1);
  Query ok = windowed();
  ok.filter(e > lit(0));
  start(ok);
}

TEST(Errors, StringOrderingIsATypeMismatch) {
  Query q = windowed();
  q.filter(col("host") < lit("host-5"));
  error_message([&] { start(q); }, ErrorCode::type_mismatch);
  Query r = windowed();
  r.filter(col("host") == lit(3));
  error_message([&] { start(r); }, ErrorCode::type_mismatch);
}

TEST(Errors, AggregateOfAStringAndStringEventTime) {
  Query q = windowed();
  q.aggregate({sum(col("host"))});
  error_message([&] { start(q); }, ErrorCode::type_mismatch);
  Query t = windowed();
  t.event_time("host");
  error_message([&] { start(t); }, ErrorCode::type_mismatch);
  Query f = windowed();
  f.event_time("cpu");
  error_message([&] { start(f); }, ErrorCode::type_mismatch);
}

TEST(Errors, BadWindows) {
  error_message([] { WindowSpec::tumbling(0s); }, ErrorCode::invalid_argument);
  error_message([] { WindowSpec::tumbling(-5s); }, ErrorCode::invalid_argument);
  error_message([] { WindowSpec::sliding(10s, 0s); }, ErrorCode::invalid_argument);
  error_message([] { WindowSpec::sliding(10s, 2s, 2s); }, ErrorCode::invalid_argument);
  error_message([] { WindowSpec::tumbling(10s, -1s); }, ErrorCode::invalid_argument);
  WindowSpec raw;  // a hand-made spec is checked too
  raw.kind = WindowSpec::Kind::tumbling;
  raw.size = 0s;
  error_message([&] { Query().window(raw); }, ErrorCode::invalid_argument);
  // Not a whole number of the time column's unit (ms).
  Query q = windowed();
  q.window(WindowSpec::tumbling(1500us));
  error_message([&] { start(q); }, ErrorCode::invalid_argument);
  // A time window needs an event-time column.
  Query n;
  n.window(WindowSpec::tumbling(1s)).aggregate({count()});
  error_message([&] { start(n); }, ErrorCode::invalid_argument);
}

TEST(Errors, RangePartitionBoundaries) {
  const auto range = [](int workers, std::vector<Value> b) {
    EngineConfig c = make_config(workers, 100);
    c.partition.kind = PartitionSpec::Kind::range;
    c.partition.boundaries = std::move(b);
    return c;
  };
  Query q = windowed();
  q.key_by({"region"});
  std::string msg = error_message([&] { start(q, range(3, {Value(std::int64_t{5})})); },
                                  ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(msg, "boundar")) << msg;
  error_message(
      [&] {
        start(q, range(2, {Value(std::int64_t{1}), Value(std::int64_t{2})}));
      },
      ErrorCode::invalid_argument);
  error_message(
      [&] {
        start(q, range(3, {Value(std::int64_t{9}), Value(std::int64_t{2})}));
      },
      ErrorCode::invalid_argument);
  error_message([&] { start(q, range(2, {Value(std::string("m"))})); },
                ErrorCode::invalid_argument);
  // The first key must be numeric.
  error_message([&] { start(windowed(), range(2, {Value(std::int64_t{1})})); },
                ErrorCode::invalid_argument);
}

TEST(Errors, WeightedPolicyNeedsOneWeightPerWorker) {
  EngineConfig c = make_config(3, 100);
  c.balance = BalancePolicy::weighted;
  c.weights = {1, 2};
  std::string msg = error_message([&] { Engine e(c); }, ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(msg, "weight")) << msg;
  c.weights = {};
  error_message([&] { Engine e(c); }, ErrorCode::invalid_argument);
  c.weights = {1, 1, 1};
  EXPECT_NO_THROW(Engine e(c));
}

TEST(Errors, OtherBadConfigurations) {
  EngineConfig c = make_config(-1, 100);
  error_message([&] { Engine e(c); }, ErrorCode::invalid_argument);
  c = make_config(1, 0);
  error_message([&] { Engine e(c); }, ErrorCode::invalid_argument);
}

TEST(Errors, PushOfAnotherSchema) {
  Engine engine(make_config(1, 100));
  Job job = engine.start(event_schema(), windowed());
  BatchBuilder other(Schema({{"ts", DataType::timestamp(TimeUnit::ms)}, {"host", TypeId::string}}));
  other.append_row({Value(std::int64_t{1}), Value(std::string("a"))});
  error_message([&] { job.push(other.finish()); }, ErrorCode::invalid_argument);
  // Same names, another type.
  BatchBuilder retyped(Schema({{"ts", DataType::timestamp(TimeUnit::us)},
                               {"host", TypeId::string},
                               {"region", TypeId::i64},
                               {"zone", TypeId::i32},
                               {"cpu", TypeId::f64},
                               {"status", TypeId::i32}}));
  retyped.append_row({Value(std::int64_t{1}), Value(std::string("a")), Value(std::int64_t{1}),
                      Value(std::int64_t{1}), Value(1.0), Value(std::int64_t{200})});
  error_message([&] { job.push(retyped.finish()); }, ErrorCode::invalid_argument);
  // The job is unharmed.
  job.push_row(event_row({5, "a", 1, 1, 1.0, 200}));
  EXPECT_NO_THROW(job.finish());
  EXPECT_EQ(job.metrics().events_in, 1u);
}

TEST(Errors, AMovedFromJobRefusesEveryCall) {
  Engine engine(make_config(1, 100));
  Job job = engine.start(event_schema(), windowed());
  Job moved = std::move(job);
  const auto refused = [](auto&& call) {
    EXPECT_TRUE(test::contains(error_message(call, ErrorCode::invalid_argument), "moved from"));
  };
  refused([&] { job.push_row(event_row({5, "a", 1, 1, 1.0, 200})); });
  refused([&] { job.push(moved.make_builder().finish()); });
  refused([&] { (void)job.make_builder(); });
  refused([&] { job.push_broadcast("x", moved.make_builder().finish()); });
  refused([&] { job.count_malformed(1); });
  refused([&] { job.flush(); });
  refused([&] { job.finish(); });
  refused([&] { (void)job.metrics(); });
  refused([&] { (void)job.total_metrics(); });
  refused([&] { (void)job.status(); });
  refused([&] { (void)job.schema(); });
  // The job it was moved to runs; assigning to the moved-from one makes it usable again.
  moved.push_row(event_row({5, "a", 1, 1, 1.0, 200}));
  moved.finish();
  EXPECT_EQ(moved.metrics().events_in, 1u);
  job = engine.start(event_schema(), windowed());
  job.finish();
}

TEST(Errors, PushAfterFinish) {
  Engine engine(make_config(1, 100));
  Job job = engine.start(event_schema(), windowed());
  job.push_row(event_row({5, "a", 1, 1, 1.0, 200}));
  job.finish();
  BatchBuilder b = job.make_builder();
  b.append_row(event_row({6, "a", 1, 1, 1.0, 200}));
  error_message([&] { job.push(b.finish()); }, ErrorCode::invalid_argument);
  error_message(
      [&] {
        job.push_row(event_row({7, "a", 1, 1, 1.0, 200}));
      },
      ErrorCode::invalid_argument);
  EXPECT_NO_THROW(job.finish()) << "a second finish() is harmless";
  EXPECT_TRUE(job.status().ok());
}

TEST(Errors, GpuBackendWithoutGpu) {
  if (Engine::gpu_available())
    GTEST_SKIP() << "a GPU is available here (GpuBackend.AutomaticBackendChoosesTheGpu covers it)";
  EngineConfig c = make_config(1, 100);
  c.backend = Backend::gpu;
  error_message([&] { Engine e(c); }, ErrorCode::backend_unavailable);
  c.backend = Backend::automatic;
  Engine automatic(c);
  EXPECT_EQ(automatic.backend(), Backend::cpu);
  EXPECT_FALSE(automatic.backend_reason().empty());
}

// ---------------------------------------------------------------------------------------------
// Throwing sinks.

/// Runs `f` on another thread; aborts the test binary if it has not returned after a minute
/// (a hang must not wait for the CTest timeout).
template <class F>
void within_a_minute(F f) {
  std::packaged_task<void()> task(std::move(f));
  std::future<void> done = task.get_future();
  std::thread t(std::move(task));
  if (done.wait_for(60s) != std::future_status::ready) {
    std::fprintf(stderr, "hang: the job did not finish within 60 s\n");
    std::abort();
  }
  t.join();
  done.get();
}

/// Pushes `events` (ignoring push errors once the job failed) and expects finish() to throw an
/// Error that mentions `what`.
void expect_failure(Job& job, const std::vector<Event>& events, const std::string& what) {
  try {
    push_events(job, events, PushMode::builder, 1, 500);
  } catch (const Error&) {  // the job failed while we pushed: push refuses
  }
  try {
    job.finish();
    ADD_FAILURE() << "finish() did not throw";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), what)) << e.what();
    EXPECT_FALSE(job.status().ok());
  }
  // finish() again reports the same failure rather than hanging.
  EXPECT_THROW(job.finish(), Error);
}

std::vector<Event> sink_stream() {
  StreamOptions o;
  o.events = 20000;
  o.keys = 20;
  o.late_fraction = 0.05;
  o.late_distance = 30'000;
  return generate(o);
}

TEST(Errors, ThrowingResultSinkSurfacesFromFinish) {
  const auto events = sink_stream();
  for (int workers : {1, 3}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    within_a_minute([&] {
      Query q = windowed();
      int calls = 0;
      q.sink([&calls](std::span<const WindowResult>) {
        if (++calls == 2) throw std::runtime_error("result sink exploded");
      });
      Engine engine(make_config(workers, 200));
      Job job = engine.start(event_schema(), q);
      expect_failure(job, events, "result sink exploded");
    });
  }
}

TEST(Errors, ThrowingLateSinkSurfacesFromFinish) {
  const auto events = sink_stream();
  for (int workers : {1, 2}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    within_a_minute([&] {
      Query q = windowed();
      q.late_sink([](const Batch&) { throw Error(ErrorCode::io_error, "late sink exploded"); });
      Engine engine(make_config(workers, 300));
      Job job = engine.start(event_schema(), q);
      expect_failure(job, events, "late sink exploded");
    });
  }
}

TEST(Errors, ThrowingRowSinkSurfacesFromFinish) {
  const auto events = sink_stream();
  for (int workers : {1, 4}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    within_a_minute([&] {
      Query q;
      q.filter(col("cpu") > lit(10.0)).project({"host"});
      q.sink(RowSink([](const Batch&) { throw std::logic_error("row sink exploded"); }));
      Engine engine(make_config(workers, 250));
      Job job = engine.start(event_schema(), q);
      try {
        push_events(job, events, PushMode::builder, 1, 500);
      } catch (const Error&) {
      }
      EXPECT_THROW(job.finish(), Error);
      EXPECT_FALSE(job.status().ok());
      EXPECT_TRUE(contains(job.status().message(), "row sink exploded")) << job.status().message();
    });
  }
}

TEST(Errors, SinkThrowingANonStandardExceptionDoesNotCrash) {
  // Run in a child process: a crash there fails this test instead of ending the suite.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Query q = windowed();
        q.sink([](std::span<const WindowResult>) { throw 42; });
        Engine engine(make_config(2, 100));
        Job job = engine.start(event_schema(), q);
        bool failed = false;
        try {
          push_events(job, sink_stream(), PushMode::builder, 1, 500);
        } catch (const Error&) {
        }
        try {
          job.finish();
        } catch (const Error&) {
          failed = true;
        }
        std::exit(failed && !job.status().ok() ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Errors, DestructorWithoutFinishSwallowsSinkErrors) {
  within_a_minute([] {
    Query q = windowed();
    q.sink([](std::span<const WindowResult>) { throw std::runtime_error("boom"); });
    Engine engine(make_config(2, 100));
    Job job = engine.start(event_schema(), q);
    try {
      push_events(job, sink_stream(), PushMode::builder, 1, 500);
    } catch (const Error&) {
    }
    // ~Job finishes and must neither throw nor hang.
  });
}

}  // namespace
}  // namespace sluice::e2e
