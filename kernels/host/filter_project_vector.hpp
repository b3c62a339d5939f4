// Host fast path of filter_project: vectorized interpretation over blocks of rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/exec/host_exec.hpp"
#include "kernels/filter_project.hpp"

namespace sluice::detail {

/// @brief Same contract and results as filter_project (the portable operator it must agree
/// with, word for word): kept rows in order in out_rows, output j of kept row i at
/// out_words[j * out_stride + i]. Runs each program one instruction at a time over blocks of
/// kVectorRows rows, on the calling thread's OpenMP team.
/// @param scratch per-block counts and selections; reused across calls.
std::size_t filter_project_vector(HostExec& exec, const InputColumns& in, std::size_t n,
                                  ProgramSetView programs, const ProjectionSpec& spec,
                                  std::uint32_t* out_rows, std::uint64_t* out_words,
                                  std::size_t out_stride, std::vector<std::uint32_t>& scratch);

}  // namespace sluice::detail
