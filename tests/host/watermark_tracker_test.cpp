// WatermarkTracker: minimum over active sources, idle sources excluded, never backwards.
// SourceActivity: which sources are idle at a time.
#include "host/engine/watermark_tracker.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {
namespace {

using Clock = SourceActivity::Clock;
using std::chrono::seconds;

const std::vector<std::uint64_t> kNoneIdle;

TEST(WatermarkTracker, NoWatermarkBeforeAnyEvent) {
  WatermarkTracker wm(100);
  EXPECT_FALSE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), kNoWatermark);
}

TEST(WatermarkTracker, OneSourceIsItsMaxMinusDelay) {
  WatermarkTracker wm(100);
  wm.observe(0, 1000);
  EXPECT_TRUE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), 900);
  wm.observe(0, 500);  // an older event does not move it back
  EXPECT_FALSE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), 900);
}

TEST(WatermarkTracker, MinimumOverSources) {
  WatermarkTracker wm(0);
  wm.observe(1, 5000);
  wm.observe(2, 2000);
  wm.refresh(kNoneIdle);
  EXPECT_EQ(wm.current(), 2000);
  wm.observe(2, 7000);
  wm.refresh(kNoneIdle);
  EXPECT_EQ(wm.current(), 5000);
}

TEST(WatermarkTracker, NewSlowSourceDoesNotMoveItBackwards) {
  WatermarkTracker wm(0);
  wm.observe(1, 5000);
  wm.refresh(kNoneIdle);
  wm.observe(2, 1000);
  EXPECT_FALSE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), 5000);
  wm.observe(1, 9000);  // held back by source 2 now
  EXPECT_FALSE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), 5000);
}

TEST(WatermarkTracker, AnExpectedSourceHoldsItUntilItsFirstEvent) {
  WatermarkTracker wm(100);
  wm.observe(0, 5000);
  wm.observe(1, kAwaitingEvents);
  EXPECT_FALSE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), kNoWatermark);
  wm.observe(1, 2000);
  EXPECT_TRUE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), 1900);
  wm.observe(1, kAwaitingEvents);  // a later mark never lowers what was seen
  wm.observe(0, 9000);
  wm.observe(1, 3000);
  EXPECT_TRUE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), 2900);
}

TEST(WatermarkTracker, AnExpectedSourceHoldsItWhereItIsOnceItMoved) {
  WatermarkTracker wm(0);
  wm.observe(0, 5000);
  EXPECT_TRUE(wm.refresh(kNoneIdle));
  wm.observe(2, kAwaitingEvents);
  wm.observe(0, 8000);
  EXPECT_FALSE(wm.refresh(kNoneIdle));
  EXPECT_EQ(wm.current(), 5000);
  // Idle, it holds nothing back.
  const std::vector<std::uint64_t> idle{2};
  EXPECT_TRUE(wm.refresh(idle));
  EXPECT_EQ(wm.current(), 8000);
}

TEST(WatermarkTracker, IdleSourceStopsHoldingItBack) {
  WatermarkTracker wm(0);
  wm.observe(1, 1000);
  wm.observe(2, 9000);
  wm.refresh(kNoneIdle);
  EXPECT_EQ(wm.current(), 1000);
  const std::vector<std::uint64_t> one_idle{1};
  EXPECT_TRUE(wm.refresh(one_idle));
  EXPECT_EQ(wm.current(), 9000);
  // Everyone idle: the largest source watermark holds.
  const std::vector<std::uint64_t> all_idle{1, 2};
  EXPECT_FALSE(wm.refresh(all_idle));
  EXPECT_EQ(wm.current(), 9000);
}

TEST(SourceActivity, IdleAfterTheTimeoutWithoutAPush) {
  SourceActivity activity(seconds(5));
  const auto start = Clock::now();
  activity.touch(2, start);
  activity.touch(1, start);
  std::vector<int> idle{7};
  activity.idle_at(start + seconds(4), idle);
  EXPECT_TRUE(idle.empty());
  activity.touch(2, start + seconds(4));
  activity.idle_at(start + seconds(6), idle);
  EXPECT_EQ(idle, std::vector<int>({1}));
  activity.idle_at(start + seconds(60), idle);
  EXPECT_EQ(idle, std::vector<int>({1, 2}));  // ascending
}

TEST(SourceActivity, ZeroTimeoutMeansNeverIdle) {
  SourceActivity activity(Clock::duration::zero());
  const auto start = Clock::now();
  activity.touch(0, start);
  std::vector<int> idle;
  activity.idle_at(start + seconds(3600), idle);
  EXPECT_TRUE(idle.empty());
}

}  // namespace
}  // namespace sluice::detail
