// Integer division rounding toward negative infinity (event times may be negative).
#pragma once

#include <cstdint>

#include "kernels/ops/hd.hpp"

namespace sluice::detail {

/// @pre b > 0.
SLUICE_HD inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
/// @pre b > 0.
SLUICE_HD inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }

}  // namespace sluice::detail
