// Column types of the data model: fixed-width numbers, booleans, timestamps with a unit and
// dictionary-encoded strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

/// Physical kind of a column.
enum class TypeId : std::uint8_t { i32, i64, u32, u64, f32, f64, boolean, timestamp, string };

/// Unit of a timestamp column; timestamps are int64 counts of this unit since the epoch.
enum class TimeUnit : std::uint8_t { ns, us, ms, s };

/// @brief A column type. `unit` is meaningful for timestamps only.
struct DataType {
  TypeId id = TypeId::i64;
  TimeUnit unit = TimeUnit::ms;

  constexpr DataType() = default;
  constexpr DataType(TypeId type_id, TimeUnit time_unit = TimeUnit::ms)  // NOLINT: implicit
      : id(type_id), unit(time_unit) {}
  static constexpr DataType timestamp(TimeUnit u) { return {TypeId::timestamp, u}; }

  friend constexpr bool operator==(DataType a, DataType b) {
    return a.id == b.id && (a.id != TypeId::timestamp || a.unit == b.unit);
  }
};

/// @brief Bytes one value occupies in a column (strings store a 4-byte dictionary code,
/// booleans one byte).
std::size_t type_width(TypeId id) noexcept;
/// @brief True for i32, i64, u32, u64, timestamp.
bool is_integral(TypeId id) noexcept;
/// @brief True for f32, f64.
bool is_floating(TypeId id) noexcept;
/// @brief Nanoseconds in one tick of the unit.
std::int64_t nanos_per_unit(TimeUnit unit) noexcept;
/// @brief "ms", "ns", ...
const char* to_string(TimeUnit unit) noexcept;
/// @brief "i32", "timestamp[ms]", "string", ...
std::string to_string(DataType type);
/// @brief Parses a type name as written by to_string ("f32", "timestamp[ms]", "bool").
/// @throws Error(parse_error) naming the text.
DataType parse_type(std::string_view text);

}  // namespace sluice
