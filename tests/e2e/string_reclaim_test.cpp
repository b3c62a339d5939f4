// Endless streams whose string keys churn: the job reclaims strings no live window holds, so its
// dictionary and state stay flat over thousands of batches, and every window stays exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../api/expect_error.hpp"
#include "churn_stream.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;
using churn::kStart;
using churn::kWindowMs;
using churn::window_of;
using Cell = churn::Cell;
using WindowKey = churn::WindowKey;

/// 600 windows of churning hosts through batches of 32 rows (about 1 900 batches): with a
/// threshold of 512 strings the job reclaims many times, and every window is exact, whatever
/// the workers and however the rows were coded (the job's dictionary of the moment, a builder
/// made before a reclaim, rows, the job's first dictionary for the whole stream).
TEST(StringReclaim, ChurningKeysGiveExactWindowsThroughManyReclaims) {
  const std::vector<Event> events = churn::churning_stream(600, 100, 30, 7);
  const std::map<WindowKey, Cell> expected = churn::reference(events);
  for (int workers : {1, 3})
    for (PushMode mode : {PushMode::builder, PushMode::rows, PushMode::wrap_job_dictionary,
                          PushMode::foreign_dictionary}) {
      SCOPED_TRACE(std::to_string(workers) + " workers, " + mode_name(mode));
      EngineConfig config = make_config(workers, 32);
      config.string_reclaim_threshold = 512;
      const RunResult r = run_job(config, churn::churn_query(), events, mode, 3, 80);
      EXPECT_TRUE(r.order_errors.empty()) << r.order_errors.front();
      EXPECT_EQ(r.metrics.events_late, 0u);
      EXPECT_GE(r.metrics.batches, 1800u);
      EXPECT_GT(r.metrics.string_reclaims, 10u);
      EXPECT_GT(r.metrics.strings_reclaimed, 10000u);
      EXPECT_LT(r.metrics.dictionary_strings, 1024u);
      EXPECT_EQ(churn::final_windows(r), expected);
    }
}

/// The dictionary, its bytes and the window state stay flat however long the stream: sampled
/// after every push, their largest values over the stream's second half are no larger than over
/// its first (beyond a margin for a reclaim's timing), and the dictionary never holds more than
/// the threshold plus one push's strings.
TEST(StringReclaim, DictionaryAndStateStayFlatUnderKeyChurn) {
  const std::vector<Event> events = churn::churning_stream(2000, 50, 25, 11);
  for (int workers : {1, 2}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    EngineConfig config = make_config(workers, 64);
    config.string_reclaim_threshold = 1024;
    Query q = churn::churn_query();
    q.sink([](const Batch&) {});
    Engine engine(config);
    Job job = engine.start(event_schema(), q);
    constexpr std::size_t kChunk = 50;
    struct Peak {
      std::uint64_t strings = 0, dictionary_bytes = 0, state_bytes = 0;
    } first, second;
    for (std::size_t at = 0; at < events.size(); at += kChunk) {
      BatchBuilder b = job.make_builder();
      for (std::size_t i = at; i < std::min(events.size(), at + kChunk); ++i)
        detail_harness::set_event(b, events[i]);
      job.push(b.finish());
      const Metrics m = job.metrics();
      Peak& p = at < events.size() / 2 ? first : second;
      p.strings = std::max(p.strings, m.dictionary_strings);
      p.dictionary_bytes = std::max(p.dictionary_bytes, m.dictionary_bytes);
      p.state_bytes = std::max(p.state_bytes, m.state_bytes);
      ASSERT_LE(m.dictionary_strings, 1024u + kChunk);
    }
    job.finish();
    const Metrics m = job.metrics();
    EXPECT_GT(m.string_reclaims, 30u);
    EXPECT_EQ(m.events_aggregated + m.events_filtered, events.size());
    EXPECT_LE(second.strings, first.strings + kChunk);
    EXPECT_LE(second.dictionary_bytes, first.dictionary_bytes + first.dictionary_bytes / 4);
    EXPECT_LE(second.state_bytes, first.state_bytes + first.state_bytes / 4);
  }
}

/// Strings a live window holds survive reclaims: a global window keeps every host until the end,
/// so there is nothing to reclaim and every key comes out right; sliding windows keep hosts for
/// several windows, and a late event re-emits a window whose host string is old.
TEST(StringReclaim, LiveWindowsKeepTheirStrings) {
  const std::vector<Event> events = churn::churning_stream(60, 100, 30, 5);
  {
    Query q;
    q.key_by({"host"}).event_time("ts", 200ms).window(WindowSpec::global()).aggregate({count()});
    EngineConfig config = make_config(2, 32);
    config.string_reclaim_threshold = 64;
    const RunResult r = run_job(config, q, events, PushMode::builder, 9, 80);
    std::map<std::string, std::int64_t> expected, got;
    for (const Event& e : events) ++expected[e.host];
    for (const auto& call : r.calls)
      for (const WindowResult& w : call)
        got[std::get<std::string>(w.keys.at(0))] = std::get<std::int64_t>(w.values.at(0));
    EXPECT_EQ(got, expected);
    // Every string is live: the job looks, finds nothing worth a new dictionary, and keeps it.
    EXPECT_EQ(r.metrics.string_reclaims, 0u);
    EXPECT_EQ(r.metrics.strings_reclaimed, 0u);
    EXPECT_EQ(r.metrics.dictionary_strings, expected.size());
  }
  {
    // Sliding windows of 3 s every 1 s, 2 s of lateness: events moved 1.5 s back re-emit.
    std::vector<Event> moved = events;
    for (std::size_t i = 0; i < moved.size(); i += 97) moved[i].ts -= 1500;
    Query q;
    q.key_by({"host"})
        .event_time("ts", 200ms)
        .allowed_lateness(2s)
        .window(WindowSpec::sliding(3s, 1s))
        .aggregate({count()});
    std::map<WindowKey, std::int64_t> expected;
    for (const Event& e : moved)
      for (std::int64_t start = window_of(e.ts) - 2 * kWindowMs; start <= e.ts; start += kWindowMs)
        ++expected[{start, e.host}];
    for (int workers : {1, 3}) {
      SCOPED_TRACE(std::to_string(workers) + " workers");
      EngineConfig config = make_config(workers, 32);
      config.string_reclaim_threshold = 128;
      const RunResult r = run_job(config, q, moved, PushMode::builder, 4, 80);
      std::map<WindowKey, std::int64_t> got;
      for (const auto& call : r.calls)
        for (const WindowResult& w : call)
          got[{w.window_start, std::get<std::string>(w.keys.at(0))}] =
              std::get<std::int64_t>(w.values.at(0));
      EXPECT_GT(r.metrics.string_reclaims, 3u);
      EXPECT_GT(r.metrics.window_updates, 0u);
      EXPECT_EQ(r.metrics.events_late, 0u);
      EXPECT_EQ(got, expected);
    }
  }
}

/// A state that outgrows EngineConfig::state_memory_limit fails the job with out_of_memory,
/// naming the sizes and the setting; within the limit the same job runs.
TEST(StringReclaim, StateBeyondTheMemoryLimitFailsWithANamedError) {
  StreamOptions o;
  o.events = 60000;
  o.keys = 50000;
  o.zipf = 0;
  const std::vector<Event> events = generate(o);
  Query q;
  q.key_by({"host"}).event_time("ts").window(WindowSpec::global()).aggregate({count()});
  q.sink([](const Batch&) {});
  EngineConfig config = make_config(1, 4096);
  config.state_memory_limit = 512 * 1024;
  Engine engine(config);
  const std::string message = test::error_message(
      [&] {
        Job job = engine.start(event_schema(), q);
        push_events(job, events, PushMode::builder, 1, 5000);
        job.finish();
      },
      ErrorCode::out_of_memory);
  EXPECT_TRUE(test::contains(message, "state memory limit of 524288 bytes"));
  EXPECT_TRUE(test::contains(message, "EngineConfig::state_memory_limit"));
  EXPECT_TRUE(test::contains(message, "live groups"));
  config.state_memory_limit = 64u << 20;
  const RunResult r = run_job(config, q, events);
  EXPECT_EQ(r.metrics.events_aggregated, events.size());
}

}  // namespace
}  // namespace sluice::e2e
