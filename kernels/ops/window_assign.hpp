// Window assignment through panes: pane of an event, the windows a pane belongs to, lateness.
#pragma once

#include <cstdint>

#include "kernels/ops/floor_div.hpp"
#include "kernels/ops/hd.hpp"

namespace sluice::detail {

inline constexpr std::int64_t kNoWatermark = INT64_MIN;     ///< before any event
inline constexpr std::int64_t kFinalWatermark = INT64_MAX;  ///< at finish(): fire everything
inline constexpr std::uint32_t kLateCut = 0xffffffffu;      ///< cut of an event too late for all
/// @brief What evaluate_event sets instead of a cut for an event time outside
/// [PaneSpec::time_lo, time_hi]: the event is dropped, as if filtered (the engine counts it).
inline constexpr std::uint32_t kUnrepresentableCut = 0xfffffffeu;

/// @brief The panes whose events need no per-event cut computation at one watermark: panes
/// below `alive` are late for every window, panes from `full` on may update all of their
/// windows (cut 0). Between the two, PaneSpec::cut_of decides.
struct CutBounds {
  std::int64_t alive = INT64_MIN;
  std::int64_t full = INT64_MIN;
};

/// @brief Window geometry in the time column's units. Windows start at offset + k * slide and
/// last `size`; panes of length gcd(size, slide) tile time so each pane lies wholly inside or
/// outside every window. Windows containing a pane are numbered 0.. in order of end; an
/// event's "cut" is the first of them it may still update (earlier ones ended more than the
/// allowed lateness before the watermark), so a partial keyed by (key, pane, cut) updates
/// exactly the windows a per-window assignment would. Build with make() (or global()); the
/// divisions by the pane length go through a FastDivisor.
///
/// Cumulating windows (make_cumulate, `steps` > 0) share a start within each period of `size`
/// and end every `slide` (the step) after it: window k starts at offset + (k / steps) * size
/// and ends at offset + (k + 1) * slide, so windows stay numbered in order of end and the
/// panes are the steps.
struct PaneSpec {
  std::int64_t size = 1;
  std::int64_t slide = 1;
  std::int64_t offset = 0;
  std::int64_t pane = 1;      ///< gcd(size, slide)
  std::int64_t lateness = 0;  ///< allowed lateness
  bool global = false;        ///< one window over all time (pane 0, fires at the final watermark)
  std::int64_t steps = 0;     ///< cumulating windows: windows per period (size / slide); else 0
  /// Event times in [time_lo, time_hi] have windows, panes and watermarks that 64-bit arithmetic
  /// represents (bound_times); the folds drop others (the engine counts them as malformed).
  std::int64_t time_lo = INT64_MIN;
  std::int64_t time_hi = INT64_MAX;
  FastDivisor pane_divisor;
  FastDivisor slide_divisor;
  FastDivisor steps_divisor;  ///< cumulating windows

  /// @pre size > 0, slide > 0, lateness >= 0 (the query compiler passes an offset in
  /// [0, slide); any offset works, it only renumbers the windows).
  static PaneSpec make(std::int64_t size, std::int64_t slide, std::int64_t offset,
                       std::int64_t lateness) {
    PaneSpec p;
    p.size = size;
    p.slide = slide;
    std::int64_t a = size, b = slide;
    while (b != 0) {
      const std::int64_t t = a % b;
      a = b;
      b = t;
    }
    p.pane = a;
    p.offset = offset;
    p.lateness = lateness;
    p.pane_divisor = FastDivisor(p.pane);
    p.slide_divisor = FastDivisor(slide);
    return p;
  }
  /// @brief Cumulating windows: every `step` a window grows by one step from the start of its
  /// period of `size`. @pre step > 0, size a positive multiple of step, lateness >= 0.
  static PaneSpec make_cumulate(std::int64_t size, std::int64_t step, std::int64_t offset,
                                std::int64_t lateness) {
    PaneSpec p = make(size, step, offset, lateness);
    p.steps = size / step;
    p.steps_divisor = FastDivisor(p.steps);
    return p;
  }
  /// @brief One window over all time.
  static PaneSpec make_global(std::int64_t lateness = 0) {
    PaneSpec p;
    p.global = true;
    p.lateness = lateness;
    return p;
  }

  /// @brief Narrows [time_lo, time_hi] to the event times whose windows (start and end), panes,
  /// lateness bounds and watermark (the time minus `max_delay`) stay clear of the 64-bit limits,
  /// with a margin of two window lengths and two slides on each side (INT64_MIN and INT64_MAX
  /// themselves are the no-watermark and final-watermark sentinels). @return false when the
  /// geometry itself is too large for that margin. @pre max_delay >= 0.
  bool bound_times(std::int64_t max_delay) {
    std::int64_t margin = 1;
    const auto add = [&](std::int64_t v) { return !__builtin_add_overflow(margin, v, &margin); };
    if (!global &&
        !(add(size) && add(size) && add(slide) && add(slide) && add(offset < 0 ? -offset : offset)))
      return false;
    const std::int64_t above = margin;
    if (!add(max_delay) || (!global && !add(lateness))) return false;
    time_lo = INT64_MIN + margin;
    time_hi = INT64_MAX - above;
    return time_lo < time_hi;
  }
  /// @brief True when event time t lies in [time_lo, time_hi].
  SLUICE_HD bool time_representable(std::int64_t t) const { return t >= time_lo && t <= time_hi; }

  /// @brief Windows per pane at most (size / pane); 1 for tumbling and global windows.
  SLUICE_HD std::int64_t windows_per_pane() const { return global ? 1 : size / pane; }
  SLUICE_HD bool tumbling() const { return global || size == slide; }

  SLUICE_HD std::int64_t pane_of(std::int64_t t) const {
    return global ? 0 : pane_divisor.floor_divide(t - offset);
  }
  SLUICE_HD std::int64_t pane_start(std::int64_t p) const { return offset + p * pane; }
  /// @brief Index k of the earliest window (start offset + k*slide) containing pane p.
  SLUICE_HD std::int64_t first_window(std::int64_t p) const {
    if (steps > 0) return p;  // the window ending with the pane's step
    return global ? 0 : -slide_divisor.floor_divide(size - pane - p * pane);
  }
  /// @brief Index k of the latest window containing pane p.
  SLUICE_HD std::int64_t last_window(std::int64_t p) const {
    if (steps > 0) return period_first(p) + steps - 1;  // the period's whole window
    return global ? 0 : slide_divisor.floor_divide(p * pane);
  }
  SLUICE_HD std::int64_t window_start(std::int64_t k) const {
    if (steps > 0) return offset + steps_divisor.floor_divide(k) * size;
    return global ? INT64_MIN : offset + k * slide;
  }
  SLUICE_HD std::int64_t window_end(std::int64_t k) const {
    if (steps > 0) return offset + (k + 1) * slide;
    return global ? INT64_MAX : offset + k * slide + size;
  }
  /// @brief Index of the (first) window starting at `start`.
  SLUICE_HD std::int64_t window_index(std::int64_t start) const {
    if (steps > 0) return slide_divisor.floor_divide(start - offset);
    return global ? 0 : slide_divisor.floor_divide(start - offset);
  }
  /// @brief Index of the first window whose end lies after t: end(k) > t.
  SLUICE_HD std::int64_t first_window_ending_after(std::int64_t t) const {
    if (steps > 0) return slide_divisor.floor_divide(t - offset);
    return slide_divisor.floor_divide(t - offset - size) + 1;
  }
  /// @brief The panes window k covers: [first_pane_of(k), last_pane_of(k)].
  SLUICE_HD std::int64_t first_pane_of(std::int64_t k) const {
    if (steps > 0) return period_first(k);
    return global ? 0 : pane_divisor.floor_divide(k * slide);
  }
  SLUICE_HD std::int64_t last_pane_of(std::int64_t k) const {
    if (steps > 0) return k;
    return global ? 0 : pane_divisor.floor_divide(k * slide + size) - 1;
  }
  /// @brief Cumulating windows: the first pane (and window) of the period holding pane or
  /// window i.
  SLUICE_HD std::int64_t period_first(std::int64_t i) const {
    return steps_divisor.floor_divide(i) * steps;
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
    std::int64_t k = first_window_ending_after(wm - lateness);
    if (k < lo) k = lo;
    return static_cast<std::uint32_t>(k - lo);
  }
  /// @brief The pane bounds of cut_of at watermark wm (see CutBounds): for p < alive cut_of is
  /// kLateCut, for p >= full it is 0 unless p lies in a gap between windows (slide > size).
  CutBounds cut_bounds(std::int64_t wm) const {
    if (global || wm == kNoWatermark) return {INT64_MIN, INT64_MIN};
    const std::int64_t k = first_window_ending_after(wm - lateness);  // first alive window
    CutBounds b;
    if (steps > 0) {  // pane p's windows are [p, the end of its period]
      b.alive = period_first(k);
      b.full = k;
      return b;
    }
    // Pane p is alive iff last_window(p) >= k  <=>  p * pane >= k * slide.
    b.alive = ceil_div(k * slide, pane);
    // Every window of p is alive iff first_window(p) >= k  <=>  (p + 1) * pane - size >
    // (k - 1) * slide.
    b.full = floor_div((k - 1) * slide + size - pane, pane) + 1;
    return b;
  }
  /// @brief True once every window containing pane p is past the lateness at watermark wm.
  SLUICE_HD bool pane_expired(std::int64_t p, std::int64_t wm) const {
    if (global) return wm == kFinalWatermark;
    return wm != kNoWatermark && !window_alive(last_window(p), wm);
  }
  /// @brief The first pane that is not expired at watermark wm.
  std::int64_t first_live_pane(std::int64_t wm) const {
    if (global || wm == kNoWatermark) return INT64_MIN;
    return cut_bounds(wm).alive;
  }
};

}  // namespace sluice::detail
