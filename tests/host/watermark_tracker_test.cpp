// WatermarkTracker: minimum over active sources, idle sources excluded, never backwards.
#include "host/engine/watermark_tracker.hpp"

#include <gtest/gtest.h>

#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {
namespace {

using Clock = WatermarkTracker::Clock;
using std::chrono::seconds;

TEST(WatermarkTracker, NoWatermarkBeforeAnyEvent) {
  WatermarkTracker wm(100, Clock::duration::zero());
  const auto now = Clock::now();
  wm.touch(0, now);
  EXPECT_FALSE(wm.refresh(now));
  EXPECT_EQ(wm.current(), kNoWatermark);
}

TEST(WatermarkTracker, OneSourceIsItsMaxMinusDelay) {
  WatermarkTracker wm(100, Clock::duration::zero());
  const auto now = Clock::now();
  wm.touch(0, now);
  wm.observe(0, 1000);
  EXPECT_TRUE(wm.refresh(now));
  EXPECT_EQ(wm.current(), 900);
  wm.observe(0, 500);  // an older event does not move it back
  EXPECT_FALSE(wm.refresh(now));
  EXPECT_EQ(wm.current(), 900);
}

TEST(WatermarkTracker, MinimumOverSources) {
  WatermarkTracker wm(0, Clock::duration::zero());
  const auto now = Clock::now();
  wm.touch(1, now);
  wm.touch(2, now);
  wm.observe(1, 5000);
  wm.observe(2, 2000);
  wm.refresh(now);
  EXPECT_EQ(wm.current(), 2000);
  wm.observe(2, 7000);
  wm.refresh(now);
  EXPECT_EQ(wm.current(), 5000);
}

TEST(WatermarkTracker, NewSlowSourceDoesNotMoveItBackwards) {
  WatermarkTracker wm(0, Clock::duration::zero());
  const auto now = Clock::now();
  wm.observe(1, 5000);
  wm.refresh(now);
  wm.observe(2, 1000);
  EXPECT_FALSE(wm.refresh(now));
  EXPECT_EQ(wm.current(), 5000);
  wm.observe(1, 9000);  // held back by source 2 now
  EXPECT_FALSE(wm.refresh(now));
  EXPECT_EQ(wm.current(), 5000);
}

TEST(WatermarkTracker, IdleSourceStopsHoldingItBack) {
  WatermarkTracker wm(0, seconds(5));
  const auto start = Clock::now();
  wm.touch(1, start);
  wm.touch(2, start);
  wm.observe(1, 1000);
  wm.observe(2, 9000);
  wm.refresh(start);
  EXPECT_EQ(wm.current(), 1000);
  wm.touch(2, start + seconds(4));
  EXPECT_TRUE(wm.refresh(start + seconds(6)));  // source 1 idle since start
  EXPECT_EQ(wm.current(), 9000);
  // Everyone idle: the largest source watermark holds.
  EXPECT_FALSE(wm.refresh(start + seconds(60)));
  EXPECT_EQ(wm.current(), 9000);
}

}  // namespace
}  // namespace sluice::detail
