// Triggers: when a window's results are emitted besides its final firing at the watermark.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/duration.hpp"
#include "sluice/expr.hpp"

namespace sluice {

/// @brief When windows fire. Every window fires once when the watermark passes its end (the
/// final firing, always there); a trigger adds early firings before it, emitted as updates
/// (`update` = true), each with the window's value so far. Early firings happen at the end of
/// a round of micro-batches (the engine's unit of firing): a window fires early at most once a
/// round, and not at a round whose watermark fires it finally.
struct TriggerSpec {
  enum class Kind : std::uint8_t {
    watermark,  ///< only the final firing (the default)
    every,      ///< also every `interval` of processing (wall-clock) time, all open windows
    count,      ///< also a (window, key) whose events passed a multiple of `events` in the round
    on,         ///< also a (window, key) that received an event for which `condition` is true
  };
  Kind kind = Kind::watermark;
  Duration interval{0};
  std::uint64_t events = 0;
  std::optional<Expr> condition;

  static TriggerSpec watermark() { return {}; }
  /// @pre interval > 0.
  static TriggerSpec every(Duration interval);
  /// @pre n > 0.
  static TriggerSpec count(std::uint64_t n);
  /// @brief `condition` is a boolean expression over the event's columns (as a filter is);
  /// where it is null (a broadcast lookup without a row) it does not fire.
  static TriggerSpec on(Expr condition);
};

/// @brief Parses "watermark", "every:5s", "count:1000" or "on:EXPR" (e.g. "on:status == 500").
/// @throws Error(parse_error) naming the text (and, for EXPR, the position in it).
TriggerSpec parse_trigger(std::string_view text);

/// @brief The text parse_trigger reads back: "watermark", "every:5s", "count:1000", "on:...".
std::string to_string(const TriggerSpec& trigger);

}  // namespace sluice
