// Event-time ranges: one pass of independent minima and maxima, vectorized where the CPU can.
#include "kernels/host/time_range.hpp"

#include <string>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

// 64-bit compares vectorize with AVX2; the baseline x86-64 target has none. The loader picks
// the clone the CPU runs.
#if defined(__x86_64__) && defined(__GNUC__)
#define SLUICE_TIME_RANGE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SLUICE_TIME_RANGE_CLONES
#endif

SLUICE_TIME_RANGE_CLONES
void widen_i64(const std::int64_t* v, std::size_t n, std::int64_t& lo, std::int64_t& hi) {
  std::int64_t a = lo, b = hi;
  for (std::size_t i = 0; i < n; ++i) {
    a = v[i] < a ? v[i] : a;
    b = v[i] > b ? v[i] : b;
  }
  lo = a;
  hi = b;
}

template <class T>
void widen_narrow(const T* v, std::size_t n, std::int64_t& lo, std::int64_t& hi) {
  T a = v[0], b = v[0];
  for (std::size_t i = 1; i < n; ++i) {
    a = v[i] < a ? v[i] : a;
    b = v[i] > b ? v[i] : b;
  }
  lo = static_cast<std::int64_t>(a) < lo ? static_cast<std::int64_t>(a) : lo;
  hi = static_cast<std::int64_t>(b) > hi ? static_cast<std::int64_t>(b) : hi;
}

}  // namespace

void widen_time_range(const void* column, ColumnType type, std::size_t first, std::size_t n,
                      std::int64_t& lo, std::int64_t& hi) {
  if (n == 0) return;
  switch (type) {
    case ColumnType::i32:
      return widen_narrow(static_cast<const std::int32_t*>(column) + first, n, lo, hi);
    case ColumnType::u32:
      return widen_narrow(static_cast<const std::uint32_t*>(column) + first, n, lo, hi);
    default:  // i64, u64 (read as i64), timestamp
      return widen_i64(static_cast<const std::int64_t*>(column) + first, n, lo, hi);
  }
}

std::size_t widen_time_range_within(const void* column, ColumnType type, std::size_t first,
                                    std::size_t n, std::int64_t bound_lo, std::int64_t bound_hi,
                                    std::int64_t& lo, std::int64_t& hi) {
  std::size_t outside = 0;
  const auto widen = [&](auto* v) {
    for (std::size_t i = first; i < first + n; ++i) {
      const auto t = static_cast<std::int64_t>(v[i]);
      if (t < bound_lo || t > bound_hi) {
        ++outside;
        continue;
      }
      lo = t < lo ? t : lo;
      hi = t > hi ? t : hi;
    }
  };
  switch (type) {
    case ColumnType::i32:
      widen(static_cast<const std::int32_t*>(column));
      break;
    case ColumnType::u32:
      widen(static_cast<const std::uint32_t*>(column));
      break;
    default:
      widen(static_cast<const std::int64_t*>(column));
      break;
  }
  return outside;
}

void require_measurable(const BatchView& batch) {
  if (batch.num_slices > kMaxSlices)
    throw Error(ErrorCode::internal, "a batch of " + std::to_string(batch.num_slices) +
                                         " slices (at most " + std::to_string(kMaxSlices) +
                                         " have their event times measured)");
}

void scan_slice_times(const BatchView& batch, int time_column, ColumnType type, SliceTimes& out) {
  out.clear();
  require_measurable(batch);
  for (int s = 0; s < batch.num_slices; ++s)
    widen_time_range(batch.slices[s].columns[time_column], type, 0, batch.slices[s].rows,
                     out.min[s], out.max[s]);
}

}  // namespace sluice::detail
