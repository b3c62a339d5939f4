// Live streams through the Engine: a micro-batch seals once its oldest row has waited the batch
// timeout, however steadily rows arrive, so windows fire while the stream goes on; and stop()
// ends a job without draining: the windows the watermark passed are fired, the open ones not.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

const Schema kSchema({{"ts", DataType::timestamp(TimeUnit::ms)}, {"v", TypeId::i64}});

/// The windows a job fired, as (start, count), with a way to wait for the first ones.
struct FiredWindows {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<std::int64_t, std::int64_t>> windows;

  BatchSink sink() {
    return [this](const Batch& batch) {
      std::lock_guard lock(mutex);
      for (const WindowResult& r : window_results(batch, 0))
        windows.emplace_back(r.window_start, std::get<std::int64_t>(r.values.at(0)));
      changed.notify_all();
    };
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return windows.size();
  }
};

Job start(const EngineConfig& config, FiredWindows& fired) {
  Query query;
  query.event_time("ts", 0s).window(WindowSpec::tumbling(1s)).aggregate({count()});
  query.sink(fired.sink());
  return Engine(config).start(kSchema, query);
}

TEST(LiveStreams, ASteadyTrickleSealsItsBatchesByAge) {
  // A row every 2 ms, 20 ms of event time apart: never idle for the 50 ms timeout, and far from
  // a full batch. The window [0, 1 s) closes with the 51st row, and must come out while rows
  // still arrive (a timeout counted from the last push alone would hold it to finish()).
  EngineConfig config;
  config.backend = test_backend();
  config.batch_timeout = 50ms;
  config.batch_rows = std::size_t{1} << 20;
  FiredWindows fired;
  Job job = start(config, fired);
  const auto began = std::chrono::steady_clock::now();
  int pushed = 0;
  while (fired.size() == 0 && std::chrono::steady_clock::now() - began < 20s) {
    job.push_row({std::int64_t{pushed} * 20, std::int64_t{pushed}});
    ++pushed;
    std::this_thread::sleep_for(2ms);
  }
  const std::size_t before_finish = fired.size();
  job.finish();
  ASSERT_GE(before_finish, 1u) << "no window fired while " << pushed << " rows trickled in";
  std::lock_guard lock(fired.mutex);
  EXPECT_EQ(fired.windows.front(), (std::pair<std::int64_t, std::int64_t>{0, 50}));
}

TEST(LiveStreams, StopFiresWhatTheWatermarkPassedAndDropsTheRest) {
  for (const bool drain : {false, true}) {
    SCOPED_TRACE(drain ? "finish" : "stop");
    EngineConfig config;
    config.backend = test_backend();
    config.batch_timeout = 0s;
    config.batch_rows = 4;
    config.workers = 1;
    FiredWindows fired;
    Job job = start(config, fired);
    // Batches of 4 rows, a round each: the first's watermark (1200) fires [0, 1 s) with 2 rows,
    // so 900 in the second is late; the second's (2500) fires [1 s, 2 s). The last row waits in
    // a batch not yet full: stop() processes it too, and its watermark (3500) fires [2 s, 3 s),
    // but [3 s, 4 s) stays open.
    for (std::int64_t ts : {100, 200, 1100, 1200, 900, 1900, 2100, 2500, 3500})
      job.push_row({ts, ts});
    if (drain)
      job.finish();
    else
      job.stop();
    const Metrics m = job.metrics();
    EXPECT_EQ(m.events_in, 9u);
    EXPECT_EQ(m.events_late, 1u);
    std::lock_guard lock(fired.mutex);
    std::vector<std::pair<std::int64_t, std::int64_t>> want = {{0, 2}, {1000, 3}, {2000, 2}};
    if (drain) want.emplace_back(3000, 1);
    EXPECT_EQ(fired.windows, want);
  }
}

}  // namespace
}  // namespace sluice::e2e
