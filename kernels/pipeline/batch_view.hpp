// BatchView: one micro-batch as the pipeline reads it, a list of column slices.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/program.hpp"

namespace sluice::detail {

/// Slices one micro-batch holds at most.
inline constexpr int kMaxSlices = 16;

/// @brief `rows` consecutive rows of the columns a query reads (plan order), in one memory.
struct ColumnSlice {
  const void* columns[kMaxInputColumns] = {};
  std::size_t rows = 0;
};

/// @brief A micro-batch: the concatenation of its slices (rows are numbered across them). The
/// slices lie in host memory (pinned or not) unless `resident`: then in the pipeline
/// executor's own memory, read in place.
struct BatchView {
  const ColumnSlice* slices = nullptr;
  int num_slices = 0;
  std::size_t rows = 0;
  std::uint64_t id = 0;  ///< tells batches apart for staging (the engine's batch sequence)
  bool resident = false;
  /// The lookup tables (broadcast state) in effect for the batch, in host memory, and their
  /// version (0: none); a device stages a version once and reuses it while it holds.
  const LookupTables* lookups = nullptr;
  std::uint64_t lookup_version = 0;
};

/// @brief The lookup tables of a batch in host memory (none if it carries none).
inline LookupTables host_lookups(const BatchView& batch) {
  return batch.lookups != nullptr ? *batch.lookups : LookupTables{};
}

/// @brief The smallest and largest event time of each slice of a batch (INT64_MAX and
/// INT64_MIN for a slice without rows): what the watermark learns from the batch.
struct SliceTimes {
  std::int64_t min[kMaxSlices];
  std::int64_t max[kMaxSlices];
  void clear() {
    for (int s = 0; s < kMaxSlices; ++s) {
      min[s] = INT64_MAX;
      max[s] = INT64_MIN;
    }
  }
};

}  // namespace sluice::detail
