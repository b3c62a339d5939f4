// Vectorized interpretation of expression programs (one instruction over many rows).
#include "kernels/host/vector_program.hpp"

#include <cstring>

namespace sluice::detail {
namespace {

template <class T, class Convert>
void load_rows(const void* data, std::size_t first, const std::uint32_t* rows, std::size_t n,
               std::uint64_t* out, Convert convert) {
  const T* column = static_cast<const T*>(data);
  if (rows == nullptr) {
    for (std::size_t i = 0; i < n; ++i) out[i] = convert(column[first + i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = convert(column[rows[i]]);
  }
}

void load_vector(const void* data, ColumnType type, std::size_t first, const std::uint32_t* rows,
                 std::size_t n, std::uint64_t* out) {
  // Each conversion is load_column's for that type.
  switch (type) {
    case ColumnType::i32:
      load_rows<std::int32_t>(data, first, rows, n, out, [](std::int32_t v) {
        return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
      });
      return;
    case ColumnType::u32:
    case ColumnType::string:
      load_rows<std::uint32_t>(data, first, rows, n, out,
                               [](std::uint32_t v) { return std::uint64_t{v}; });
      return;
    case ColumnType::f32:
      load_rows<float>(data, first, rows, n, out,
                       [](float v) { return double_bits(static_cast<double>(v)); });
      return;
    case ColumnType::boolean:
      load_rows<std::uint8_t>(data, first, rows, n, out,
                              [](std::uint8_t v) { return std::uint64_t{v != 0 ? 1u : 0u}; });
      return;
    default:
      load_rows<std::uint64_t>(data, first, rows, n, out, [](std::uint64_t v) { return v; });
      return;
  }
}

/// Applies one operator to the top vectors of the stack.
struct VectorStep {
  VectorStack& stack;
  int& top;
  std::size_t n;
  template <OpCode Op>
  void unary() {
    std::uint64_t* b = stack.slots[top];
    for (std::size_t i = 0; i < n; ++i) b[i] = apply_unary<Op>(b[i]);
  }
  template <OpCode Op>
  void binary() {
    std::uint64_t* a = stack.slots[top - 1];
    const std::uint64_t* b = stack.slots[top];
    for (std::size_t i = 0; i < n; ++i) a[i] = apply_binary<Op>(a[i], b[i]);
    --top;
  }
};

}  // namespace

void run_program_vector(const Instr* code, ProgramRef program, const InputColumns& in,
                        std::size_t first_row, const std::uint32_t* rows, std::size_t count,
                        VectorStack& stack, std::uint64_t* out) {
  int top = -1;
  const Instr* pc = code + program.begin;
  const Instr* end = pc + program.size;
  for (; pc != end; ++pc) {
    const Instr ins = *pc;
    if (ins.op == OpCode::load) {
      ++top;
      load_vector(in.data[ins.column], ins.type, first_row, rows, count, stack.slots[top]);
    } else if (ins.op == OpCode::push) {
      ++top;
      for (std::size_t i = 0; i < count; ++i) stack.slots[top][i] = ins.literal;
    } else {
      dispatch_opcode(ins.op, VectorStep{stack, top, count});
    }
  }
  if (top >= 0)
    std::memcpy(out, stack.slots[top], count * sizeof(std::uint64_t));
  else
    std::memset(out, 0, count * sizeof(std::uint64_t));
}

}  // namespace sluice::detail
