// Triggers: when a window's results are emitted besides its final firing at the watermark.
#pragma once

#include <cstdint>
#include <string_view>

#include "sluice/duration.hpp"

namespace sluice {

/// @brief When windows fire. Every window fires once when the watermark passes its end (the
/// final firing, always there); a trigger adds early firings before it, emitted as updates
/// (`update` = true), each with the window's value so far.
struct TriggerSpec {
  enum class Kind : std::uint8_t {
    watermark,  ///< only the final firing (the default)
    every,      ///< also every `interval` of processing (wall-clock) time, all open windows
  };
  Kind kind = Kind::watermark;
  Duration interval{0};

  static TriggerSpec watermark() { return {}; }
  /// @pre interval > 0.
  static TriggerSpec every(Duration interval) { return {Kind::every, interval}; }
};

/// @brief Parses "watermark" or "every:5s".
/// @throws Error(parse_error) naming the text.
TriggerSpec parse_trigger(std::string_view text);

}  // namespace sluice
