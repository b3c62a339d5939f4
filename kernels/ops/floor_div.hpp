// Integer division rounding toward negative infinity, and division by an invariant divisor.
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

__extension__ using uint128_t = unsigned __int128;  // a GCC/Clang extension, as __extension__ says

/// @brief High 64 bits of the 128-bit product a * b.
SLUICE_HD inline std::uint64_t mul_high(std::uint64_t a, std::uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return static_cast<std::uint64_t>((static_cast<uint128_t>(a) * b) >> 64);
#endif
}

/// @brief Unsigned and floor division by a divisor fixed at construction, by one multiply-high,
/// an add and shifts instead of a hardware division (Granlund and Montgomery, "Division by
/// invariant integers using multiplication", 1994, figure 4.1). Exact for every dividend.
/// Trivially copyable; built on the host, used on host and device.
class FastDivisor {
 public:
  FastDivisor() = default;
  /// @pre d > 0.
  explicit FastDivisor(std::int64_t d) : d_(d) {
    const auto ud = static_cast<std::uint64_t>(d);
    int l = 0;  // ceil(log2(d))
    while (l < 64 && (std::uint64_t{1} << l) < ud) ++l;
    const uint128_t two_l = static_cast<uint128_t>(1) << l;
    multiplier_ = static_cast<std::uint64_t>(((two_l - ud) << 64) / ud + 1);
    shift1_ = l < 1 ? l : 1;
    shift2_ = l > 1 ? l - 1 : 0;
  }
  SLUICE_HD std::int64_t divisor() const { return d_; }
  /// @brief n / d for unsigned n.
  SLUICE_HD std::uint64_t divide(std::uint64_t n) const {
    const std::uint64_t t = mul_high(multiplier_, n);
    return (t + ((n - t) >> shift1_)) >> shift2_;
  }
  /// @brief floor(a / d) for any signed a.
  SLUICE_HD std::int64_t floor_divide(std::int64_t a) const {
    if (a >= 0) return static_cast<std::int64_t>(divide(static_cast<std::uint64_t>(a)));
    // floor(a / d) = -ceil(-a / d) = -(floor((-a - 1) / d) + 1), with -a - 1 = ~a >= 0.
    return -static_cast<std::int64_t>(divide(~static_cast<std::uint64_t>(a))) - 1;
  }

 private:
  std::int64_t d_ = 1;
  std::uint64_t multiplier_ = 1;
  int shift1_ = 0;
  int shift2_ = 0;
};

}  // namespace sluice::detail
