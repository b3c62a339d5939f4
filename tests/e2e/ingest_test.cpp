// End-to-end tests of the push paths (rows, foreign dictionaries, Batch::wrap, chunking).
#include <gtest/gtest.h>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

std::vector<Event> ingest_stream(std::uint64_t seed) {
  StreamOptions o;
  o.events = 12000;
  o.keys = 80;
  o.step = 6;
  o.jitter = 300;
  o.late_fraction = 0.02;
  o.late_distance = 20'000;
  o.seed = seed;
  return generate(o);
}

/// A query with a string literal (interned into the job's dictionary at start), a string key
/// and a late sink, so that every string code crosses a translation.
Case string_case() {
  const WindowSpec w = WindowSpec::tumbling(3s, 1s);
  Case c;
  c.query.filter(col("host") != lit("host-1") && col("status") != lit(500))
      .key_by({"host"})
      .event_time("ts", 1s)
      .allowed_lateness(2s)
      .window(w)
      .aggregate({count(), sum(col("cpu")), max(col("zone"))});
  c.ref.window = w;
  c.ref.delay = 1000;
  c.ref.lateness = 2000;
  c.ref.filter = [](const Event& e) { return e.host != "host-1" && e.status != 500; };
  c.ref.keys = key_host;
  c.ref.aggregates = {{AggKind::count, {}},
                      {AggKind::sum, ev_cpu},
                      {AggKind::max, [](const Event& e) { return Value(std::int64_t{e.zone}); }}};
  c.read_columns = {"ts", "host", "zone", "cpu", "status"};
  return c;
}

/// `query` with sinks that collect every result row and late batch into `result`.
Query collecting(Query query, const std::shared_ptr<RunResult>& result) {
  query.sink(ResultSink([result](std::span<const WindowResult> rows) {
    result->calls.emplace_back(rows.begin(), rows.end());
  }));
  query.late_sink([result](const Batch& b) { result->late.push_back(b.copy()); });
  return query;
}

class PushPaths : public ::testing::TestWithParam<PushMode> {};

TEST_P(PushPaths, SameResultsAsTheReference) {
  const auto events = ingest_stream(51);
  for (int workers : {1, 2}) run_and_check(string_case(), events, workers, 1024, GetParam());
}

TEST_P(PushPaths, IdenticalToMakeBuilder) {
  const auto events = ingest_stream(52);
  const Case c = string_case();
  const RunResult base = run_job(make_config(1, 700), c.query, events, PushMode::builder);
  const RunResult other = run_job(make_config(1, 700), c.query, events, GetParam());
  expect_sorted_calls(other);
  expect_finals(final_values(other.calls), final_values(base.calls));
  ASSERT_EQ(other.calls.size(), base.calls.size());
  for (std::size_t i = 0; i < base.calls.size(); ++i) {
    // String keys order by dictionary code, which differs between push paths.
    const std::vector<WindowResult> got = by_key_values(other.calls[i]);
    const std::vector<WindowResult> want = by_key_values(base.calls[i]);
    ASSERT_EQ(got.size(), want.size()) << "call " << i;
    for (std::size_t r = 0; r < want.size(); ++r) {
      EXPECT_EQ(got[r].keys, want[r].keys);
      EXPECT_EQ(got[r].update, want[r].update);
      EXPECT_TRUE(same_values(got[r].values, want[r].values));
    }
  }
  EXPECT_EQ(other.metrics.events_late, base.metrics.events_late);
  EXPECT_EQ(rows_by_name(other.late, c.read_columns), rows_by_name(base.late, c.read_columns));
}

INSTANTIATE_TEST_SUITE_P(E2E, PushPaths,
                         ::testing::Values(PushMode::rows, PushMode::mixed,
                                           PushMode::foreign_dictionary, PushMode::wrap,
                                           PushMode::wrap_job_dictionary),
                         [](const auto& info) { return std::string(mode_name(info.param)); });

TEST(Ingest, ChunkingDoesNotChangeResults) {
  // Batch boundaries follow push order, not push() calls: tiny, odd and huge chunks agree.
  const auto events = ingest_stream(53);
  const Case c = string_case();
  const RefResult ref = reference(events, c.ref, 512, 1);
  for (std::size_t max_chunk :
       {std::size_t{1}, std::size_t{7}, std::size_t{513}, std::size_t{100000}}) {
    SCOPED_TRACE("max chunk " + std::to_string(max_chunk));
    const RunResult run =
        run_job(make_config(1, 512), c.query, events, PushMode::builder, max_chunk, max_chunk);
    expect_matches(run, events, ref, c.read_columns, true);
  }
}

TEST(Ingest, CopiedBatchesMayBeReusedAfterPush) {
  // A batch of a foreign dictionary is copied (its codes re-encoded): overwriting the caller's
  // arrays after each push changes nothing.
  const auto events = ingest_stream(54);
  const Case c = string_case();
  const RefResult ref = reference(events, c.ref, 1000, 1);

  auto result = std::make_shared<RunResult>();
  const Query q = collecting(c.query, result);
  Engine engine(make_config(1, 1000));
  Job job = engine.start(event_schema(), q);
  EventColumns buffer = EventColumns::from({}, nullptr);
  const std::size_t chunk = 777;
  for (std::size_t i = 0; i < events.size(); i += chunk) {
    const std::vector<Event> part(
        events.begin() + static_cast<std::ptrdiff_t>(i),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + chunk)));
    EventColumns cols = EventColumns::from(part, buffer.dictionary);
    job.push(cols.wrap());
    cols.scribble();  // the arrays the batch pointed to
  }
  job.finish();
  result->metrics = job.metrics();
  expect_matches(*result, events, ref, c.read_columns, true);
}

TEST(Ingest, InPlaceBatchesAreReadUntilFlush) {
  // Batches of the job's dictionary are read in place: their arrays may be overwritten once
  // flush() has returned, and not before.
  const auto events = ingest_stream(56);
  const Case c = string_case();
  auto result = std::make_shared<RunResult>();
  const Query q = collecting(c.query, result);
  Engine engine(make_config(1, 1000));
  Job job = engine.start(event_schema(), q);
  const DictionaryPtr dict = job.make_builder().dictionary(kHost);
  const std::size_t chunk = 3001;
  for (std::size_t i = 0; i < events.size(); i += chunk) {
    const std::vector<Event> part(
        events.begin() + static_cast<std::ptrdiff_t>(i),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + chunk)));
    EventColumns cols = EventColumns::from(part, dict);
    job.push(cols.wrap());
    job.flush();
    cols.scribble();
  }
  job.finish();
  result->metrics = job.metrics();
  // flush() seals a partial batch: each push of 3001 rows is batches of 1000, 1000, 1000, 1.
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < events.size(); i += chunk)
    for (std::size_t j = 0; j < std::min(chunk, events.size() - i); j += 1000)
      sizes.push_back(std::min<std::size_t>(1000, std::min(chunk, events.size() - i) - j));
  expect_matches(*result, events, reference_of_batches(events, c.ref, sizes, 1), c.read_columns,
                 true);
}

TEST(Ingest, WrapKeepAliveOwnsTheArrays) {
  // The arrays live only in keep_alive; the batch (and a copy) keep them alive.
  const auto events = ingest_stream(55);
  const Case c = string_case();
  const RefResult ref = reference(events, c.ref, 900, 1);
  auto owned = std::make_shared<EventColumns>(EventColumns::from(events));
  const Batch batch = Batch::wrap(
      event_schema(),
      {owned->ts.data(), owned->host.data(), owned->region.data(), owned->zone.data(),
       owned->cpu.data(), owned->status.data()},
      events.size(), {nullptr, owned->dictionary, nullptr, nullptr, nullptr, nullptr}, owned);
  owned.reset();
  auto result = std::make_shared<RunResult>();
  const Query q = collecting(c.query, result);
  Engine engine(make_config(1, 900));
  Job job = engine.start(event_schema(), q);
  const Batch copy = batch;
  job.push(copy.slice(0, 5000));
  job.push(copy.slice(5000, events.size() - 5000));
  job.finish();
  result->metrics = job.metrics();
  expect_matches(*result, events, ref, c.read_columns, true);
}

}  // namespace
}  // namespace sluice::e2e
