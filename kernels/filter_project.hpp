// Operator: filter and projection of a stateless query, into typed output columns.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/program.hpp"

namespace sluice::detail {

/// @brief What filter_project evaluates: filter conjuncts and output programs (indices into
/// the ProgramSetView), and where the outputs go.
struct ProjectionSpec {
  int filter_begin = 0;  ///< conjuncts [begin, begin + count), all must hold
  int filter_count = 0;
  int outputs_begin = 0;  ///< outputs [begin, begin + count)
  int outputs_count = 0;
};

inline constexpr int kMaxOutputColumns = 64;

/// @brief Output columns in the executor's memory: column j holds values of output program j's
/// result type at its own width (booleans one byte).
struct OutputColumns {
  void* data[kMaxOutputColumns] = {};
};

/// @brief Keeps the rows of `in` where the filter holds and writes the output programs' values
/// for them, compacted and in row order.
/// @param n rows in `in` (< 2^32).
/// @param kept_rows receives the kept row indices (room for n); *kept their number (executor
///        memory). @param out room for n values per column.
/// Only queues work; reading *kept is the caller's synchronization.
template <class Exec>
void filter_project(Exec& exec, const InputColumns& in, std::size_t n, ProgramSetView programs,
                    const ProjectionSpec& spec, std::uint32_t* kept_rows, unsigned long long* kept,
                    unsigned long long* scratch, OutputColumns out);

/// @brief Bytes of one value of `t` in an output column.
SLUICE_HD inline std::size_t value_width(VType t) {
  switch (t) {
    case VType::boolean:
      return 1;
    case VType::i32:
    case VType::u32:
    case VType::f32:
      return 4;
    default:
      return 8;
  }
}

/// @brief Stores a value word of type `t` at `cell` (value_width(t) bytes).
SLUICE_HD inline void store_value(void* cell, VType t, std::uint64_t w) {
  switch (value_width(t)) {
    case 1: {
      const auto v = static_cast<std::uint8_t>(w != 0);
      std::memcpy(cell, &v, 1);
      return;
    }
    case 4: {
      const auto v = static_cast<std::uint32_t>(w);
      std::memcpy(cell, &v, 4);
      return;
    }
    default:
      std::memcpy(cell, &w, 8);
  }
}

}  // namespace sluice::detail
