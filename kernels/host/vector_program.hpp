// Host fast path of run_program: a typed program interpreted over a vector of rows at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/program.hpp"

namespace sluice::detail {

inline constexpr std::size_t kVectorRows = 1024;

/// @brief A vector of kVectorRows values of one VType (the type decides how to read `bytes`).
struct alignas(64) ValueVector {
  unsigned char bytes[kVectorRows * 8];
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(bytes);
  }
  template <class T>
  const T* as() const {
    return reinterpret_cast<const T*>(bytes);
  }
};

/// @brief Evaluation stack of one thread: kMaxStackDepth vectors plus a spare.
struct VectorStack {
  ValueVector storage[kMaxStackDepth + 1];
};

/// @brief Runs `program` over `count` <= kVectorRows rows: row first_row + i, or rows[i] when
/// `rows` is not null. Returns the vector holding the results (values of program.result), valid
/// until the next call on `stack`. Agrees value for value with run_program (the portable
/// definition): both use the operator definitions of kernels/ops/program.hpp.
const ValueVector& run_program_vector(const Instr* code, ProgramRef program, const InputColumns& in,
                                      std::size_t first_row, const std::uint32_t* rows,
                                      std::size_t count, VectorStack& stack);

/// @brief Converts `count` values of type `t` to 64-bit words (to_word), e.g. for key words
/// or state inputs.
void vector_to_words(const ValueVector& v, VType t, std::size_t count, std::uint64_t* out);

/// @brief True when `program` is one load of a column, possibly followed by one cast: the
/// column index and the cast target (or the column's own value type) are returned.
bool plain_column(const Instr* code, ProgramRef program, int& column, VType& result);

}  // namespace sluice::detail
