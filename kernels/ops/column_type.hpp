// ColumnType: the one description of a column's storage type and width, for host and device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ops/hd.hpp"

namespace sluice::detail {

/// Storage types of columns as the kernels see them (mirrors sluice::TypeId). Strings are u32
/// dictionary codes, booleans one byte, timestamps i64.
enum class ColumnType : std::uint8_t { i32, i64, u32, u64, f32, f64, boolean, timestamp, string };

/// @brief Bytes one value of `t` occupies.
SLUICE_HD inline std::size_t column_width(ColumnType t) {
  switch (t) {
    case ColumnType::boolean:
      return 1;
    case ColumnType::i32:
    case ColumnType::u32:
    case ColumnType::f32:
    case ColumnType::string:
      return 4;
    default:
      return 8;
  }
}

/// @brief Reads value `row` of a column of T (unaligned-safe).
template <class T>
SLUICE_HD inline T load_value(const void* data, std::size_t row) {
  T v;
  std::memcpy(&v, static_cast<const unsigned char*>(data) + row * sizeof(T), sizeof(T));
  return v;
}

}  // namespace sluice::detail
