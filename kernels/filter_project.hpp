// Operator: fused filter + projection with stream compaction.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/program.hpp"

namespace sluice::detail {

/// @brief Compiled programs of a query in an executor's memory.
struct ProgramSetView {
  const Instr* code = nullptr;
  const ProgramRef* programs = nullptr;
};

/// @brief What filter_project evaluates: the filter program (or none) and a contiguous range of
/// output programs. Outputs in [key_begin, key_end) are keys: their floats become key words
/// (float_key_word) so equal keys have equal words.
struct ProjectionSpec {
  int filter = -1;  ///< program index, -1 keeps every row
  int first_output = 0;
  int num_outputs = 0;
  int key_begin = 0;
  int key_end = 0;
};

/// @brief Keeps the rows of `in` where the filter holds and evaluates the output programs for
/// them, compacted and in row order.
/// @param n rows in `in` (< 2^32).
/// @param out_rows receives the kept row indices; capacity n.
/// @param out_words receives output j of kept row i at out_words[j * out_stride + i];
///        out_stride >= n.
/// @return the number of kept rows.
/// All pointers are in the executor's memory. With a filter it synchronizes (the count is read
/// back); without one it only queues work.
template <class Exec>
std::size_t filter_project(Exec& exec, const InputColumns& in, std::size_t n,
                           ProgramSetView programs, const ProjectionSpec& spec,
                           std::uint32_t* out_rows, std::uint64_t* out_words,
                           std::size_t out_stride);

}  // namespace sluice::detail
