// Window specifications: tumbling, sliding, cumulating and global event-time windows.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/duration.hpp"

namespace sluice {

/// @brief How events are grouped in time. Windows are half-open [start, end), aligned to
/// `offset` (start = offset + k * slide). A window fires once its end <= the watermark.
/// Cumulating windows (Flink's CUMULATE) start at offset + k * size and end at every step
/// after the start up to the size: [start, start + step), [start, start + 2 * step), ...
struct WindowSpec {
  enum class Kind : std::uint8_t {
    tumbling,  ///< back-to-back windows of `size`
    sliding,   ///< windows of `size` every `slide` (overlapping when slide < size)
    global,    ///< one window over all time; fires when the job finishes
    cumulate,  ///< every `slide` (the step) a window from the start of its period of `size`
  };
  Kind kind = Kind::global;
  Duration size{0};
  Duration slide{0};
  Duration offset{0};

  /// @pre size > 0.
  static WindowSpec tumbling(Duration size, Duration offset = Duration{0});
  /// @pre size > 0, slide > 0.
  static WindowSpec sliding(Duration size, Duration slide, Duration offset = Duration{0});
  static WindowSpec global();
  /// @pre step > 0, size a positive multiple of step, offset in [0, size).
  static WindowSpec cumulate(Duration size, Duration step, Duration offset = Duration{0});
};

/// @brief Parses "tumbling:10s", "tumbling:10s@2s" (with an offset), "sliding:10s/2s",
/// "cumulate:1m/10s" (size/step) or "global".
/// @throws Error(parse_error) naming the text.
WindowSpec parse_window(std::string_view text);

/// @brief The text parse_window() reads back: "tumbling:10s", "tumbling:10s@2s",
/// "sliding:10s/2s", "cumulate:1m/10s", "global".
std::string to_string(const WindowSpec& window);

}  // namespace sluice
