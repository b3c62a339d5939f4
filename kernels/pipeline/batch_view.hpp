// BatchView: one micro-batch as the pipeline reads it, a list of column slices.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/program.hpp"

namespace sluice::detail {

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
};

}  // namespace sluice::detail
