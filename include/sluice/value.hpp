// Value: one dynamically typed cell, used by row-wise building and by window results.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace sluice {

/// @brief A single value: null, bool, signed or unsigned integer, double or string.
using Value = std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string>;

/// @brief Readable text of a value ("" for null; integers exactly; doubles with round-trip
/// precision).
std::string to_string(const Value& value);

}  // namespace sluice
