// WatermarkTracker and SourceActivity: the job's event-time watermark, the minimum over its
// active sources, and which sources are idle.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "host/engine/snapshot_words.hpp"

namespace sluice::detail {

/// @brief The largest event time recorded for a source that is expected (Job::expect_source) but
/// has sent no event yet: it holds the watermark where it is until its first event, or until it
/// is idle. Never a real one: event times are bounded well inside the 64-bit range.
inline constexpr std::int64_t kAwaitingEvents = INT64_MIN + 1;

/// @brief Each source's watermark is its largest event time minus the allowed delay; the job's
/// is the minimum over sources that have sent events and are not idle; while an expected source
/// (kAwaitingEvents) that is not idle has sent none, it does not move. When every source is
/// idle, the largest source watermark is used. The result never moves backwards. Knows no
/// clock (which sources are idle comes from SourceActivity), so that replicas fed the same
/// observations agree. Not thread-safe.
class WatermarkTracker {
 public:
  explicit WatermarkTracker(std::int64_t max_delay);

  /// @brief Records that `source` (a source word: see source_word) has sent events up to
  /// `max_event_time`.
  void observe(std::uint64_t source, std::int64_t max_event_time);
  /// @brief Forgets the sources in [first, last] (their input ended): they hold nothing back.
  void retire(std::uint64_t first, std::uint64_t last);
  /// @brief Recomputes the watermark with the sources in `idle` (ascending) not holding it
  /// back. @return true if it advanced.
  bool refresh(std::span<const std::uint64_t> idle);
  /// @brief The watermark as of the last refresh (kNoWatermark before any event).
  std::int64_t current() const noexcept { return watermark_; }
  /// @brief Writes the watermark and each source's largest event time (a checkpoint).
  void save(WordWriter& out) const;
  /// @brief Loads what save() wrote, replacing this tracker's sources and watermark.
  void restore(WordReader& in);

 private:
  std::int64_t max_delay_;
  std::map<std::uint64_t, std::int64_t> max_time_;  ///< per source that has sent events
  std::int64_t watermark_;
};

/// @brief When each source last pushed, and so which are idle (no push for `idle_timeout`; zero
/// means never idle). Not thread-safe.
class SourceActivity {
 public:
  using Clock = std::chrono::steady_clock;
  explicit SourceActivity(Clock::duration idle_timeout);

  /// @brief Records a push from `source` at `now` (keeps it active).
  void touch(int source, Clock::time_point now);
  /// @brief The sources idle at `now`, ascending, into `out` (cleared first).
  void idle_at(Clock::time_point now, std::vector<int>& out) const;

 private:
  Clock::duration idle_timeout_;
  std::map<int, Clock::time_point> last_push_;
};

}  // namespace sluice::detail
