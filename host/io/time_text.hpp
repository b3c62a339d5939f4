// Timestamps as text: RFC 3339 in UTC out, RFC 3339 / ISO 8601 or (fractional) epoch numbers in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/types.hpp"

namespace sluice::detail {

/// @brief Appends `value`, a count of `unit` since 1970-01-01T00:00:00Z, as RFC 3339 in UTC:
/// "2026-12-02T17:00:05Z", with 3, 6 or 9 fraction digits for ms, us and ns ("...05.250Z").
/// Years outside 0000-9999 are written with as many digits as they need (and a sign).
void append_rfc3339(std::string& out, std::int64_t value, TimeUnit unit);

/// @brief How a timestamp cell read.
enum class TimeParse : std::uint8_t { ok, bad, out_of_range };

/// @brief Reads a timestamp cell as a count of `unit` since the epoch: an integer in that unit
/// ("1764694805000" for ms); a decimal in that unit, whose fraction below one unit is dropped
/// towards the past ("1764694805.25" for s reads 1764694805); or an RFC 3339 / ISO 8601 date
/// and time: "2026-12-02", "2026-12-02T17:00:05", with a space for the T, a fraction of up to 9
/// digits and "Z" or an offset ("+01:00", "+0100", "-05"); none is UTC. Blanks around it are
/// ignored.
TimeParse parse_timestamp_text(std::string_view text, TimeUnit unit, std::int64_t& out);

}  // namespace sluice::detail
