// End-to-end tests of event times near the ends of the 64-bit range: times whose windows cannot
// be represented are dropped and counted, never wrapped, and hold the watermark back for no one;
// times just inside the range give windows with exact bounds.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "api/expect_error.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

__extension__ using int128 = __int128;
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

Schema limits_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)}, {"k", TypeId::i64}});
}

struct Geometry {
  const char* name;
  WindowSpec window;
  std::int64_t size, slide;  // ms; 0: the global window
};

std::vector<Geometry> geometries() {
  return {{"tumbling 10ms", WindowSpec::tumbling(10ms), 10, 10},
          {"sliding 10ms/4ms", WindowSpec::sliding(10ms, 4ms), 10, 4},
          {"global", WindowSpec::global(), 0, 0}};
}

constexpr std::int64_t kDelay = 5;  // ms of out-of-orderness

/// The documented range of representable event times (PaneSpec::bound_times): a margin of two
/// window lengths and two slides (plus one) at the top, and the delay and lateness besides at
/// the bottom; the global window keeps INT64_MIN and INT64_MAX as sentinels.
std::pair<std::int64_t, std::int64_t> representable(const Geometry& g) {
  const std::int64_t margin = 1 + 2 * g.size + 2 * g.slide;
  return {kMin + margin + kDelay, kMax - margin};
}

Query count_query(std::vector<WindowResult>& out, const Geometry& g) {
  Query q;
  q.key_by({"k"}).event_time("ts", std::chrono::milliseconds(kDelay)).window(g.window);
  q.aggregate({count()});
  q.sink([&out](std::span<const WindowResult> rows) {
    out.insert(out.end(), rows.begin(), rows.end());
  });
  return q;
}

/// Pushes rows (ts, k): in one batch read in place when `in_place`, else row by row (copied).
void push(Job& job, const std::vector<std::pair<std::int64_t, std::int64_t>>& rows, bool in_place) {
  if (!in_place) {
    for (const auto& [ts, k] : rows) job.push_row({Value(ts), Value(k)});
    return;
  }
  BatchBuilder b = job.make_builder();
  for (const auto& [ts, k] : rows) b.append_row({Value(ts), Value(k)});
  job.push(b.finish());
}

/// Every window of the brute force over the representable rows: (start, key) -> count.
std::map<std::tuple<std::int64_t, std::int64_t>, std::int64_t> brute_force(
    const Geometry& g, const std::vector<std::pair<std::int64_t, std::int64_t>>& rows) {
  const auto [lo, hi] = representable(g);
  std::map<std::tuple<std::int64_t, std::int64_t>, std::int64_t> want;
  for (const auto& [ts, k] : rows) {
    if (ts < lo || ts > hi) continue;
    if (g.size == 0) {
      ++want[{kMin, k}];
      continue;
    }
    // Windows [s, s + size) with s a multiple of the slide, from the latest start <= ts down.
    const int128 last = (static_cast<int128>(ts) - (ts % g.slide + g.slide) % g.slide);
    for (int128 s = last; s > static_cast<int128>(ts) - g.size; s -= g.slide)
      ++want[{static_cast<std::int64_t>(s), k}];
  }
  return want;
}

TEST(TimeLimits, UnrepresentableTimesAreDroppedAndCountedAndHoldNothingBack) {
  std::mt19937_64 rng(3);
  for (const Geometry& g : geometries())
    for (int workers : {1, 3})
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(std::string(g.name) + ", " + std::to_string(workers) + " workers, " +
                     (in_place ? "in place" : "copied"));
        const auto [lo, hi] = representable(g);
        // The extremes first (before any other event), then an out-of-order stream with more
        // of them mixed in.
        std::vector<std::pair<std::int64_t, std::int64_t>> rows = {
            {kMax, 1}, {kMin, 2}, {kMin + 1, 2}, {hi + 1, 3}, {lo - 1, 3}};
        const std::size_t bad = rows.size() + 2;
        for (int i = 0; i < 600; ++i) {
          rows.emplace_back(static_cast<std::int64_t>(i) - static_cast<std::int64_t>(rng() % 4),
                            static_cast<std::int64_t>(rng() % 5));
          if (i == 100) rows.emplace_back(kMax, 4);
          if (i == 300) rows.emplace_back(kMin, 4);
        }
        std::vector<WindowResult> out;
        Engine engine(make_config(workers, 64));
        Job job = engine.start(limits_schema(), count_query(out, g));
        push(job, rows, in_place);
        job.finish();
        const Metrics m = job.metrics();
        EXPECT_EQ(m.events_unrepresentable, bad);
        EXPECT_EQ(m.events_malformed, bad);
        EXPECT_EQ(m.events_late, 0u) << "the first events are not late";
        EXPECT_EQ(m.events_in, rows.size());
        EXPECT_EQ(m.events_filtered, 0u);
        const auto want = brute_force(g, rows);
        std::map<std::tuple<std::int64_t, std::int64_t>, std::int64_t> got;
        for (const WindowResult& w : out)
          got[{w.window_start, std::get<std::int64_t>(w.keys[0])}] =
              std::get<std::int64_t>(w.values[0]);
        EXPECT_EQ(got, want);
      }
}

TEST(TimeLimits, TimesAtTheEdgesOfTheRangeGetExactWindowBounds) {
  for (const Geometry& g : geometries()) {
    if (g.size == 0) continue;
    for (int workers : {1, 2}) {
      SCOPED_TRACE(std::string(g.name) + ", " + std::to_string(workers) + " workers");
      const auto [lo, hi] = representable(g);
      // Each edge in a job of its own: the top one's watermark makes everything after it late.
      for (const std::int64_t ts : {lo, lo + 1, hi - 1, hi}) {
        std::vector<WindowResult> out;
        Engine engine(make_config(workers, 64));
        Job job = engine.start(limits_schema(), count_query(out, g));
        push(job, {{ts, 7}}, false);
        job.finish();
        EXPECT_EQ(job.metrics().events_unrepresentable, 0u);
        const auto want = brute_force(g, {{ts, 7}});
        ASSERT_EQ(out.size(), want.size()) << ts;
        for (const WindowResult& w : out) {
          EXPECT_TRUE(want.count({w.window_start, 7}) == 1) << w.window_start;
          EXPECT_EQ(static_cast<int128>(w.window_end) - w.window_start, g.size);
          EXPECT_LE(w.window_start, ts);
          EXPECT_GT(w.window_end, ts);
        }
      }
    }
  }
}

TEST(TimeLimits, AWindowTooLargeForSixtyFourBitTimesIsRefused) {
  Query q;
  q.key_by({"k"}).event_time("ts", 1s).window(
      WindowSpec::tumbling(std::chrono::hours(24 * 365 * 100)));
  q.aggregate({count()}).sink([](std::span<const WindowResult>) {});
  Engine engine(make_config(1, 64));
  const Schema ns({{"ts", DataType::timestamp(TimeUnit::ns)}, {"k", TypeId::i64}});
  const std::string msg =
      test::error_message([&] { engine.start(ns, q); }, ErrorCode::invalid_argument);
  EXPECT_TRUE(test::contains(msg, "too large for 64-bit event times in ns")) << msg;
  // In milliseconds the same window fits.
  EXPECT_NO_THROW(engine.start(limits_schema(), q).finish());
}

}  // namespace
}  // namespace sluice::e2e
