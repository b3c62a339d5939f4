// WatermarkTracker: minimum over active sources, idle sources excluded, monotone.
#include "host/engine/watermark_tracker.hpp"

#include <algorithm>

#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {

WatermarkTracker::WatermarkTracker(std::int64_t max_delay)
    : max_delay_(max_delay), watermark_(kNoWatermark) {}

void WatermarkTracker::observe(std::uint64_t source, std::int64_t max_event_time) {
  auto [it, fresh] = max_time_.try_emplace(source, max_event_time);
  if (!fresh) it->second = std::max(it->second, max_event_time);
}

void WatermarkTracker::retire(std::uint64_t first, std::uint64_t last) {
  max_time_.erase(max_time_.lower_bound(first), max_time_.upper_bound(last));
}

bool WatermarkTracker::refresh(std::span<const std::uint64_t> idle) {
  std::int64_t active_min = INT64_MAX;
  std::int64_t any_max = INT64_MIN;
  bool any_active = false;
  bool awaited = false;
  for (const auto& [source, max_time] : max_time_) {
    if (max_time == INT64_MIN) continue;  // holds nothing back (and would overflow)
    if (max_time == kAwaitingEvents) {
      awaited = awaited || !std::binary_search(idle.begin(), idle.end(), source);
      continue;
    }
    const std::int64_t wm = max_time - max_delay_;
    any_max = std::max(any_max, wm);
    if (!std::binary_search(idle.begin(), idle.end(), source)) {
      active_min = std::min(active_min, wm);
      any_active = true;
    }
  }
  if (any_max == INT64_MIN || awaited) return false;
  const std::int64_t candidate = any_active ? active_min : any_max;
  if (watermark_ != kNoWatermark && candidate <= watermark_) return false;
  watermark_ = candidate;
  return true;
}

SourceActivity::SourceActivity(Clock::duration idle_timeout) : idle_timeout_(idle_timeout) {}

void SourceActivity::touch(int source, Clock::time_point now) { last_push_[source] = now; }

void SourceActivity::idle_at(Clock::time_point now, std::vector<int>& out) const {
  out.clear();
  if (idle_timeout_ <= Clock::duration::zero()) return;
  for (const auto& [source, last] : last_push_)
    if (now - last >= idle_timeout_) out.push_back(source);
}

void WatermarkTracker::save(WordWriter& out) const {
  out.put_i64(watermark_);
  out.put(max_time_.size());
  for (const auto& [source, time] : max_time_) {
    out.put(source);
    out.put_i64(time);
  }
}

void WatermarkTracker::restore(WordReader& in) {
  watermark_ = in.get_i64();
  max_time_.clear();
  const std::size_t sources = in.get_count(2);
  for (std::size_t i = 0; i < sources; ++i) {
    const std::uint64_t source = in.get();
    max_time_[source] = in.get_i64();
  }
}

}  // namespace sluice::detail
