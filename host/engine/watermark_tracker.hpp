// WatermarkTracker: the job's event-time watermark, the minimum over its active sources.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

namespace sluice::detail {

/// @brief Each source's watermark is its largest event time minus the allowed delay; the job's
/// is the minimum over sources that have sent events and are not idle (no push for
/// `idle_timeout`; zero means never idle). When every source is idle, the largest source
/// watermark is used. The result never moves backwards. Not thread-safe.
class WatermarkTracker {
 public:
  using Clock = std::chrono::steady_clock;
  WatermarkTracker(std::int64_t max_delay, Clock::duration idle_timeout);

  /// @brief Records a push from `source` at `now` (keeps it active).
  void touch(int source, Clock::time_point now);
  /// @brief Records that `source` has sent events up to `max_event_time`.
  void observe(int source, std::int64_t max_event_time);
  /// @brief Recomputes the watermark at `now`. @return true if it advanced.
  bool refresh(Clock::time_point now);
  /// @brief The watermark as of the last refresh (kNoWatermark before any event).
  std::int64_t current() const noexcept { return watermark_; }

 private:
  struct Source {
    std::int64_t max_time = INT64_MIN;
    Clock::time_point last_push{};
  };
  std::int64_t max_delay_;
  Clock::duration idle_timeout_;
  std::map<int, Source> sources_;
  std::int64_t watermark_;
};

}  // namespace sluice::detail
