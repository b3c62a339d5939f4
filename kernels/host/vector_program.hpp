// Host fast path of run_program: a program interpreted over a vector of rows at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/program.hpp"

namespace sluice::detail {

inline constexpr std::size_t kVectorRows = 512;

/// @brief Evaluation stack of one thread: kMaxStackDepth vectors of kVectorRows words.
struct VectorStack {
  std::uint64_t slots[kMaxStackDepth][kVectorRows];
};

/// @brief Runs `program` on `count` <= kVectorRows rows and writes the results to out[0, count).
/// Rows are first_row + i, or rows[i] when `rows` is not null. Agrees word for word with
/// run_program (the portable definition): both use apply_unary/apply_binary.
void run_program_vector(const Instr* code, ProgramRef program, const InputColumns& in,
                        std::size_t first_row, const std::uint32_t* rows, std::size_t count,
                        VectorStack& stack, std::uint64_t* out);

}  // namespace sluice::detail
