// WatermarkTracker: minimum over active sources, idle sources excluded, monotone.
#include "host/engine/watermark_tracker.hpp"

#include <algorithm>

#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {

WatermarkTracker::WatermarkTracker(std::int64_t max_delay, Clock::duration idle_timeout)
    : max_delay_(max_delay), idle_timeout_(idle_timeout), watermark_(kNoWatermark) {}

void WatermarkTracker::touch(int source, Clock::time_point now) {
  sources_[source].last_push = now;
}

void WatermarkTracker::observe(int source, std::int64_t max_event_time) {
  Source& s = sources_[source];
  s.max_time = std::max(s.max_time, max_event_time);
}

bool WatermarkTracker::refresh(Clock::time_point now) {
  std::int64_t active_min = INT64_MAX;
  std::int64_t any_max = INT64_MIN;
  bool any_active = false;
  for (const auto& [id, s] : sources_) {
    if (s.max_time == INT64_MIN) continue;  // no events yet: holds nothing back
    const std::int64_t wm = s.max_time - max_delay_;
    any_max = std::max(any_max, wm);
    const bool idle = idle_timeout_ > Clock::duration::zero() && now - s.last_push >= idle_timeout_;
    if (!idle) {
      active_min = std::min(active_min, wm);
      any_active = true;
    }
  }
  if (any_max == INT64_MIN) return false;
  const std::int64_t candidate = any_active ? active_min : any_max;
  if (watermark_ != kNoWatermark && candidate <= watermark_) return false;
  watermark_ = candidate;
  return true;
}

}  // namespace sluice::detail
