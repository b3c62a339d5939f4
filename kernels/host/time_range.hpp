// Event-time ranges of host columns: what the watermark learns from a batch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/column_type.hpp"
#include "kernels/pipeline/batch_view.hpp"

namespace sluice::detail {

/// @brief Widens [lo, hi] to the smallest and largest value of rows [first, first + n) of an
/// event-time column in host memory.
/// @pre `type` is i32, u32, i64, u64 (read as i64) or timestamp.
void widen_time_range(const void* column, ColumnType type, std::size_t first, std::size_t n,
                      std::int64_t& lo, std::int64_t& hi);

/// @brief widen_time_range over the values in [bound_lo, bound_hi] only (those outside are not
/// measured). @return how many values lie outside. @pre as widen_time_range.
std::size_t widen_time_range_within(const void* column, ColumnType type, std::size_t first,
                                    std::size_t n, std::int64_t bound_lo, std::int64_t bound_hi,
                                    std::int64_t& lo, std::int64_t& hi);

/// @brief Throws Error(internal) unless the batch has at most kMaxSlices slices, the most a
/// SliceTimes holds.
void require_measurable(const BatchView& batch);

/// @brief The event-time range of every slice of a batch in host memory, from its input column
/// `time_column` of type `type`. @pre At most kMaxSlices slices (Error(internal) if not).
void scan_slice_times(const BatchView& batch, int time_column, ColumnType type, SliceTimes& out);

}  // namespace sluice::detail
