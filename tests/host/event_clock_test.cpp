// EventClock and time rows: the watermark before every batch, replayed from the batches' time
// rows in any order, equals a brute-force computation from all earlier events.
#include "host/engine/event_clock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

namespace sluice::detail {
namespace {

/// One batch of a random stream: per source, the event times it carries.
struct TestBatch {
  std::uint64_t id;
  std::vector<std::pair<int, std::vector<std::int64_t>>> by_source;
};

std::vector<TestBatch> random_stream(std::size_t batches, int sources, std::mt19937_64& rng) {
  std::vector<TestBatch> out;
  std::int64_t now = 0;
  for (std::size_t b = 0; b < batches; ++b) {
    TestBatch batch{b + 1, {}};
    const int n = 1 + static_cast<int>(rng() % static_cast<unsigned>(sources));
    for (int j = 0; j < n; ++j) {
      const int source = static_cast<int>(rng() % static_cast<unsigned>(sources));
      std::vector<std::int64_t> times;
      const std::size_t count = 1 + rng() % 40;
      for (std::size_t i = 0; i < count; ++i)
        times.push_back(now + static_cast<std::int64_t>(rng() % 3000) - 1500);
      batch.by_source.emplace_back(source, std::move(times));
    }
    now += static_cast<std::int64_t>(rng() % 2000);
    out.push_back(std::move(batch));
  }
  return out;
}

/// The time rows of a batch: its sources as slices read in place.
std::vector<std::uint64_t> rows_of(const TestBatch& b) {
  MicroBatch m;
  m.id = b.id;
  SliceTimes times;
  times.clear();
  for (const auto& [source, ts] : b.by_source) {
    m.sources[m.num_slices] = source;
    times.min[m.num_slices] = *std::min_element(ts.begin(), ts.end());
    times.max[m.num_slices] = *std::max_element(ts.begin(), ts.end());
    ++m.num_slices;
  }
  std::vector<std::uint64_t> rows;
  append_time_rows(m, times, 0, PaneSpec{}, 0, ColumnType::i64, rows);  // every time representable
  return rows;
}

/// Brute force: the watermark before batch k is the largest, over every earlier batch j, of
/// the minimum over the sources seen up to j of their largest event time up to j, less delay.
std::vector<std::int64_t> brute_force_before(const std::vector<TestBatch>& stream,
                                             std::int64_t delay) {
  std::vector<std::int64_t> out;
  std::int64_t wm = kNoWatermark;
  for (std::size_t k = 0; k < stream.size(); ++k) {
    out.push_back(wm);
    std::map<int, std::int64_t> max_time;
    for (std::size_t j = 0; j <= k; ++j)
      for (const auto& [source, ts] : stream[j].by_source) {
        const std::int64_t m = *std::max_element(ts.begin(), ts.end());
        max_time[source] = max_time.count(source) ? std::max(max_time[source], m) : m;
      }
    std::int64_t low = INT64_MAX;
    for (const auto& [source, m] : max_time) low = std::min(low, m - delay);
    wm = wm == kNoWatermark ? low : std::max(wm, low);
  }
  return out;
}

TEST(EventClock, WatermarkBeforeEachBatchMatchesBruteForce) {
  std::mt19937_64 rng(11);
  const PaneSpec panes = PaneSpec::make(1000, 1000, 0, 0);
  for (int sources : {1, 2, 5}) {
    const auto stream = random_stream(60, sources, rng);
    const auto want = brute_force_before(stream, 250);
    EventClock clock(panes, true, 250);
    clock.begin_round({}, stream.size());
    for (std::size_t k = 0; k < stream.size(); ++k) {
      const auto rows = rows_of(stream[k]);
      EXPECT_EQ(clock.advance(rows), want[k]) << sources << " sources, batch " << k;
    }
  }
}

TEST(EventClock, RowsTradedInAnyOrderGiveTheSameWatermarks) {
  std::mt19937_64 rng(12);
  const PaneSpec panes = PaneSpec::make(1000, 500, 0, 0);
  const auto stream = random_stream(48, 3, rng);
  const auto want = brute_force_before(stream, 100);
  EventClock clock(panes, true, 100);
  // Rounds of 4 batches, as 4 workers would trade them: rows of the round shuffled.
  for (std::size_t first = 0; first < stream.size(); first += 4) {
    std::vector<std::vector<std::uint64_t>> rows;
    for (std::size_t k = first; k < first + 4; ++k) {
      const auto r = rows_of(stream[k]);
      for (std::size_t at = 0; at < r.size(); at += kTimeRowWords)
        rows.emplace_back(r.begin() + static_cast<std::ptrdiff_t>(at),
                          r.begin() + static_cast<std::ptrdiff_t>(at + kTimeRowWords));
    }
    std::shuffle(rows.begin(), rows.end(), rng);
    std::vector<std::uint64_t> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    clock.begin_round({}, 4);
    std::vector<std::pair<std::uint64_t, std::int64_t>> before;
    clock.advance_all(flat, before);
    ASSERT_EQ(before.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(before[i].first, stream[first + i].id);
      EXPECT_EQ(before[i].second, want[first + i]) << "batch " << first + i;
    }
  }
}

TEST(EventClock, PaneBoundsLeaveOutPanesLateForEveryWindow) {
  const PaneSpec panes = PaneSpec::make(1000, 1000, 0, 0);  // tumbling 1 s, no lateness
  EventClock clock(panes, true, 0);
  clock.begin_round({}, 1);
  TestBatch first{1, {{0, {12'500, 14'200}}}};
  clock.advance(rows_of(first));
  EXPECT_EQ(clock.first_pane(), 12);
  EXPECT_EQ(clock.last_pane(), 14);
  clock.begin_round({}, 1);
  // The watermark is 14.2 s now: panes before 14 are late for every window.
  TestBatch second{2, {{0, {3'000, 15'100}}}};
  EXPECT_EQ(clock.advance(rows_of(second)), 14'200);
  EXPECT_EQ(clock.first_pane(), 14);
  EXPECT_EQ(clock.last_pane(), 15);
}

TEST(EventClock, IdleSourcesOfARoundStopHoldingItBack) {
  const PaneSpec panes = PaneSpec::make(1000, 1000, 0, 0);
  EventClock clock(panes, true, 0);
  clock.begin_round({}, 1);
  TestBatch b{1, {{-1, {1000}}, {2, {9000}}}};
  clock.advance(rows_of(b));
  EXPECT_EQ(clock.end_round(false), 1000);
  const std::vector<std::uint64_t> idle{source_word(0, -1)};
  clock.begin_round(idle, 0);  // an empty round after source -1 went idle
  EXPECT_EQ(clock.end_round(false), 9000);
}

TEST(TimeRows, CopiedRowsCountByTheirSources) {
  MicroBatch m;
  m.id = 7;
  m.num_slices = 3;
  m.sources[0] = 4;
  m.sources[1] = -1;  // a negative source id is a source like any other
  m.copied[1] = true;
  m.sources[2] = 4;
  m.copied_min = 50;
  m.copied_max = 900;
  m.copied_source_max = {{4, 600}, {9, 900}};
  SliceTimes times;
  times.clear();
  times.min[0] = 100;
  times.max[0] = 700;
  times.min[1] = -1;  // measured by the fold, but the copied rows' own figures count
  times.max[1] = 99'999;
  times.min[2] = 200;
  times.max[2] = 300;
  std::vector<std::uint64_t> rows;
  append_time_rows(m, times, 0, PaneSpec{}, 0, ColumnType::i64, rows);  // every time representable
  std::map<std::uint64_t, std::vector<std::int64_t>> got;
  for (std::size_t r = 0; r < rows.size(); r += kTimeRowWords) {
    EXPECT_EQ(rows[r], 7u);
    got[rows[r + 1]].push_back(static_cast<std::int64_t>(rows[r + 2]));
    if (rows[r + 1] == kTimeRange)
      got[rows[r + 1]].push_back(static_cast<std::int64_t>(rows[r + 3]));
  }
  EXPECT_EQ(got[kTimeRange], (std::vector<std::int64_t>{50, 900}));
  EXPECT_EQ(got[source_word(0, 4)], (std::vector<std::int64_t>{700}));
  EXPECT_EQ(got[source_word(0, 9)], (std::vector<std::int64_t>{900}));
  EXPECT_EQ(got.size(), 3u);
}

}  // namespace
}  // namespace sluice::detail
