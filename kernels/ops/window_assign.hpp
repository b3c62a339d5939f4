// Window assignment through panes: pane of an event, the windows a pane belongs to, lateness.
#pragma once

#include <cstdint>

#include "kernels/ops/floor_div.hpp"
#include "kernels/ops/hd.hpp"

namespace sluice::detail {

inline constexpr std::int64_t kNoWatermark = INT64_MIN;     ///< before any event
inline constexpr std::int64_t kFinalWatermark = INT64_MAX;  ///< at finish(): fire everything
inline constexpr std::uint32_t kLateCut = 0xffffffffu;      ///< cut of an event too late for all

/// @brief Window geometry in the time column's units. Windows start at offset + k * slide and
/// last `size`; panes of length gcd(size, slide) tile time so each pane lies wholly inside or
/// outside every window. Windows containing a pane are numbered 0.. in order of end; an
/// event's "cut" is the first of them it may still update (earlier ones ended more than the
/// allowed lateness before the watermark), so a partial keyed by (key, pane, cut) updates
/// exactly the windows a per-window assignment would.
struct PaneSpec {
  std::int64_t size = 1;
  std::int64_t slide = 1;
  std::int64_t offset = 0;
  std::int64_t pane = 1;      ///< gcd(size, slide)
  std::int64_t lateness = 0;  ///< allowed lateness
  bool global = false;        ///< one window over all time (pane 0, fires at the final watermark)

  SLUICE_HD std::int64_t pane_of(std::int64_t t) const {
    return global ? 0 : floor_div(t - offset, pane);
  }
  SLUICE_HD std::int64_t pane_start(std::int64_t p) const { return offset + p * pane; }
  /// @brief Index k of the earliest window (start offset + k*slide) containing pane p.
  SLUICE_HD std::int64_t first_window(std::int64_t p) const {
    return global ? 0 : ceil_div(pane_start(p) + pane - size - offset, slide);
  }
  /// @brief Index k of the latest window containing pane p.
  SLUICE_HD std::int64_t last_window(std::int64_t p) const {
    return global ? 0 : floor_div(pane_start(p) - offset, slide);
  }
  SLUICE_HD std::int64_t window_start(std::int64_t k) const {
    return global ? INT64_MIN : offset + k * slide;
  }
  SLUICE_HD std::int64_t window_end(std::int64_t k) const {
    return global ? INT64_MAX : offset + k * slide + size;
  }
  /// @brief Index of the window starting at `start`.
  SLUICE_HD std::int64_t window_index(std::int64_t start) const {
    return global ? 0 : floor_div(start - offset, slide);
  }
  /// @brief True when window k may still change at watermark wm (end + lateness > wm).
  SLUICE_HD bool window_alive(std::int64_t k, std::int64_t wm) const {
    if (global || wm == kNoWatermark) return true;
    const std::int64_t end = window_end(k);
    return end > wm - lateness;  // end + lateness > wm without overflow for wm near INT64_MAX
  }
  /// @brief Cut of pane p for an event arriving at watermark wm: 0 when every window of the
  /// pane may still change, kLateCut when none may (or, with slide > size, when the pane lies
  /// in a gap between windows: such an event belongs to no window and counts as late).
  SLUICE_HD std::uint32_t cut_of(std::int64_t p, std::int64_t wm) const {
    if (global) return 0;
    const std::int64_t lo = first_window(p);
    const std::int64_t hi = last_window(p);
    if (lo > hi) return kLateCut;
    if (wm == kNoWatermark) return 0;
    if (!window_alive(hi, wm)) return kLateCut;
    // First alive window: end + lateness > wm  <=>  k > (wm - lateness - size - offset) / slide.
    std::int64_t k = floor_div(wm - lateness - size - offset, slide) + 1;
    if (k < lo) k = lo;
    return static_cast<std::uint32_t>(k - lo);
  }
  /// @brief True once every window containing pane p is past the lateness at watermark wm.
  SLUICE_HD bool pane_expired(std::int64_t p, std::int64_t wm) const {
    if (global) return wm == kFinalWatermark;
    return wm != kNoWatermark && !window_alive(last_window(p), wm);
  }
};

}  // namespace sluice::detail
