// Durations of windows, delays and lateness.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sluice {

using Duration = std::chrono::nanoseconds;

/// @brief Parses "250ms", "10s", "2m", "1h", "500us", "100ns" or "0".
/// @throws Error(parse_error) naming the text.
Duration parse_duration(std::string_view text);
/// @brief Shortest exact text for a duration ("10s", "1500ms").
std::string to_string(Duration d);

}  // namespace sluice
