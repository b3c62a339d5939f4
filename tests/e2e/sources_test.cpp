// Several sources pushing at random through the Engine, with short batch timeouts and idleness:
// whatever the wall clock decides, every row is late or in its window exactly once, a late row
// was late against some watermark the pushes allowed, and an idle source stops holding windows.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kWindow = 1000;  // ms, tumbling
constexpr std::int64_t kDelay = 100;
constexpr std::int64_t kLateness = 500;

std::int64_t window_start(std::int64_t ts) {
  return ts >= 0 ? ts / kWindow * kWindow : -((-ts + kWindow - 1) / kWindow) * kWindow;
}

/// One pushed row: which source pushed it, in what place of the push order.
struct Pushed {
  Event event;
  int source = 0;
};

/// Three sources whose event times advance together with disorder, source 2 about a second
/// behind the others; they push in runs of 1 to 40 rows, and source 2 falls silent for stretches
/// (long enough to count as idle, then its rows are late or update fired windows). region is
/// the row's id.
std::vector<Pushed> random_pushes(std::uint64_t seed, std::size_t rows) {
  std::mt19937_64 rng(seed);
  std::int64_t clock[3] = {10'000, 10'300, 8'800};
  std::uniform_int_distribution<std::int64_t> jitter(-150, 150);
  std::uniform_int_distribution<std::size_t> run(1, 40);
  std::vector<Pushed> out;
  bool quiet = false;
  while (out.size() < rows) {
    if (rng() % 12 == 0) quiet = !quiet;
    int s = static_cast<int>(rng() % 3);
    if (s == 2 && quiet) s = static_cast<int>(rng() % 2);
    for (std::size_t n = run(rng); n > 0 && out.size() < rows; --n) {
      clock[s] += 4;
      Pushed p;
      p.source = s;
      p.event.ts = clock[s] + jitter(rng);
      p.event.host = "h" + std::to_string(rng() % 20);
      p.event.region = static_cast<std::int64_t>(out.size());
      p.event.zone = static_cast<std::int32_t>(rng() % 10);
      p.event.status = 200;
      out.push_back(p);
    }
    // Keep the sources' clocks together (each advances only when it pushes).
    const std::int64_t lead = std::max(clock[0], clock[1]);
    clock[0] = clock[1] = lead;
    clock[2] = std::max(clock[2], lead - 1200);
  }
  return out;
}

using WindowKey = std::tuple<std::int64_t, std::string>;
using Cell = std::pair<std::int64_t, std::int64_t>;  // count, sum(zone)

TEST(Sources, RandomPushesWithIdlenessKeepEveryRowOnceAndLateRowsWereLate) {
  std::uint64_t late_rows = 0;
  for (std::uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::vector<Pushed> pushes = random_pushes(seed, 6000);
    std::mutex mutex;
    std::map<WindowKey, Cell> finals;
    std::set<std::int64_t> late_ids;
    std::size_t fired_before_finish = 0;
    bool finishing = false;
    Query q;
    q.key_by({"host"})
        .event_time("ts", std::chrono::milliseconds(kDelay))
        .allowed_lateness(std::chrono::milliseconds(kLateness))
        .window(WindowSpec::tumbling(std::chrono::milliseconds(kWindow)))
        .aggregate({count(), sum(col("zone")), max(col("region"))})
        .sink([&](std::span<const WindowResult> rows) {
          std::lock_guard lock(mutex);
          for (const WindowResult& r : rows) {
            finals[{r.window_start, std::get<std::string>(r.keys.at(0))}] = {
                std::get<std::int64_t>(r.values.at(0)), std::get<std::int64_t>(r.values.at(1))};
            if (!finishing) ++fired_before_finish;
          }
        })
        .late_sink([&](const Batch& b) {
          std::lock_guard lock(mutex);
          const std::size_t id = b.schema().index_of("region");
          for (std::size_t r = 0; r < b.rows(); ++r)
            late_ids.insert(std::get<std::int64_t>(b.at(r, id)));
        });
    EngineConfig config = make_config(seed == 2 ? 2 : 1, 64);
    config.batch_timeout = 2ms;
    config.source_idle_timeout = 15ms;
    Engine engine(config);
    Job job = engine.start(event_schema(), q);
    std::mt19937_64 rng(seed * 77);
    BatchBuilder builder = job.make_builder();
    for (std::size_t i = 0; i < pushes.size();) {
      // A run of one source's rows, as rows or as a batch; now and then a pause long enough
      // for the batch timeout, and rarely for the idle timeout.
      const int s = pushes[i].source;
      std::size_t end = i;
      while (end < pushes.size() && pushes[end].source == s && end - i < 40) ++end;
      if (rng() % 2 == 0) {
        for (; i < end; ++i) job.push_row(event_row(pushes[i].event), s);
      } else {
        for (; i < end; ++i) detail_harness::set_event(builder, pushes[i].event);
        job.push(builder.finish(), s);
      }
      const auto pause = rng() % 100;
      if (pause < 3)
        std::this_thread::sleep_for(25ms);
      else if (pause < 15)
        std::this_thread::sleep_for(3ms);
    }
    // Source 0 goes on alone while the others fall idle: its windows fire before finish().
    std::int64_t t = 0;
    for (const Pushed& p : pushes) t = std::max(t, p.event.ts);
    std::vector<Pushed> tail;
    for (int k = 0; k < 40; ++k) {
      Pushed p;
      p.event.ts = t + 1000 * (k + 1);
      p.event.host = "tail";
      p.event.region = static_cast<std::int64_t>(pushes.size() + tail.size());
      p.event.status = 200;
      tail.push_back(p);
      job.push_row(event_row(p.event), 0);
      std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(100ms);
    std::size_t tail_windows_before_finish = 0;
    {
      std::lock_guard lock(mutex);
      for (const auto& [key, cell] : finals)
        if (std::get<1>(key) == "tail") ++tail_windows_before_finish;
      finishing = true;
    }
    job.finish();
    const Metrics m = job.metrics();
    std::vector<Pushed> all = pushes;
    all.insert(all.end(), tail.begin(), tail.end());

    // Every row once: late, or folded into its window.
    EXPECT_EQ(m.events_in, all.size());
    EXPECT_EQ(m.events_late, late_ids.size());
    EXPECT_EQ(m.events_late + m.events_aggregated, all.size());
    std::map<WindowKey, Cell> expected;
    for (const Pushed& p : all) {
      if (late_ids.count(p.event.region) != 0) continue;
      Cell& c = expected[{window_start(p.event.ts), p.event.host}];
      ++c.first;
      c.second += p.event.zone;
    }
    EXPECT_EQ(finals, expected);
    // A late row's window had closed for updates by a watermark no greater than the largest
    // time pushed before it, less the delay (the watermark before a batch comes from earlier
    // batches only, and is at most any source's largest time less the delay).
    std::int64_t max_before = INT64_MIN / 2;  // no row before the first
    for (const Pushed& p : all) {
      if (late_ids.count(p.event.region) != 0) {
        EXPECT_LE(window_start(p.event.ts) + kWindow + kLateness, max_before - kDelay)
            << "row " << p.event.region << " at " << p.event.ts << " counted late";
      }
      max_before = std::max(max_before, p.event.ts);
    }
    // Sources 1 and 2 idle: the tail's windows fired while the job ran.
    EXPECT_GT(tail_windows_before_finish, 20u);
    EXPECT_GT(fired_before_finish, 0u);
    late_rows += m.events_late;
  }
  EXPECT_GT(late_rows, 0u) << "the idle stretches of source 2 should make some of its rows late";
}

}  // namespace
}  // namespace sluice::e2e
