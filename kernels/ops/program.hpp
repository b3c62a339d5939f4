// Expression programs: compiled expressions as compact postfix code, interpreted per row.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/hd.hpp"
#include "kernels/ops/key_word.hpp"

namespace sluice::detail {

/// Evaluation type of a program value. Booleans are 0/1 integers.
enum class ValueKind : std::uint8_t { i64, f64, boolean };

enum class OpCode : std::uint8_t {
  load,    ///< push column `column` of the row, converted to i64 or f64 by `type`
  push,    ///< push the literal word
  to_f64,  ///< convert the top (i64) to f64
  neg_i,
  neg_f,
  add_i,
  add_f,
  sub_i,
  sub_f,
  mul_i,
  mul_f,
  div_f,
  eq_i,
  ne_i,
  lt_i,
  le_i,
  gt_i,
  ge_i,
  eq_f,
  ne_f,
  lt_f,
  le_f,
  gt_f,
  ge_f,
  logical_and,
  logical_or,
  logical_not,
};

/// Storage types of input columns as the interpreter sees them (mirrors sluice::TypeId).
enum class ColumnType : std::uint8_t { i32, i64, u32, u64, f32, f64, boolean, timestamp, string };

/// @brief One instruction: 16 bytes.
struct Instr {
  OpCode op = OpCode::push;
  ColumnType type = ColumnType::i64;  ///< for load
  std::uint16_t column = 0;           ///< for load: index into InputColumns
  std::uint64_t literal = 0;          ///< for push: i64 or f64 bits
};

inline constexpr int kMaxInputColumns = 32;
inline constexpr int kMaxStackDepth = 16;

/// @brief The columns a query reads from a batch: raw pointers in the executor's memory.
struct InputColumns {
  const void* data[kMaxInputColumns] = {};
  ColumnType type[kMaxInputColumns] = {};
  int count = 0;
};

/// @brief A program inside a shared instruction array: code[begin, begin + size).
struct ProgramRef {
  std::uint32_t begin = 0;
  std::uint16_t size = 0;
  ValueKind kind = ValueKind::i64;
};

/// @brief Column value of `row` as a word: integers as i64 (u64 reinterpreted), floats as f64
/// bits, bool as 0/1, strings as their dictionary code.
SLUICE_HD inline std::uint64_t load_column(const void* data, ColumnType type, std::size_t row) {
  switch (type) {
    case ColumnType::i32:
      return static_cast<std::uint64_t>(
          static_cast<std::int64_t>(static_cast<const std::int32_t*>(data)[row]));
    case ColumnType::u32:
    case ColumnType::string:
      return static_cast<const std::uint32_t*>(data)[row];
    case ColumnType::i64:
    case ColumnType::u64:
    case ColumnType::timestamp:
      return static_cast<const std::uint64_t*>(data)[row];
    case ColumnType::f32:
      return double_bits(static_cast<double>(static_cast<const float*>(data)[row]));
    case ColumnType::f64:
      return static_cast<const std::uint64_t*>(data)[row];
    case ColumnType::boolean:
      return static_cast<const std::uint8_t*>(data)[row] != 0 ? 1 : 0;
  }
  return 0;
}

/// @brief The result of binary opcode Op on two words: the one definition of each operator,
/// shared by run_program and the host's vectorized interpreter.
template <OpCode Op>
SLUICE_HD inline std::uint64_t apply_binary(std::uint64_t a, std::uint64_t b) {
  const auto ai = static_cast<std::int64_t>(a);
  const auto bi = static_cast<std::int64_t>(b);
  const double af = bits_double(a);
  const double bf = bits_double(b);
  // Integer arithmetic wraps (two's complement) rather than overflowing.
  if constexpr (Op == OpCode::add_i) return a + b;
  if constexpr (Op == OpCode::sub_i) return a - b;
  if constexpr (Op == OpCode::mul_i) return a * b;
  if constexpr (Op == OpCode::add_f) return double_bits(af + bf);
  if constexpr (Op == OpCode::sub_f) return double_bits(af - bf);
  if constexpr (Op == OpCode::mul_f) return double_bits(af * bf);
  if constexpr (Op == OpCode::div_f) return double_bits(af / bf);
  if constexpr (Op == OpCode::eq_i) return ai == bi;
  if constexpr (Op == OpCode::ne_i) return ai != bi;
  if constexpr (Op == OpCode::lt_i) return ai < bi;
  if constexpr (Op == OpCode::le_i) return ai <= bi;
  if constexpr (Op == OpCode::gt_i) return ai > bi;
  if constexpr (Op == OpCode::ge_i) return ai >= bi;
  if constexpr (Op == OpCode::eq_f) return af == bf;
  if constexpr (Op == OpCode::ne_f) return af != bf;
  if constexpr (Op == OpCode::lt_f) return af < bf;
  if constexpr (Op == OpCode::le_f) return af <= bf;
  if constexpr (Op == OpCode::gt_f) return af > bf;
  if constexpr (Op == OpCode::ge_f) return af >= bf;
  if constexpr (Op == OpCode::logical_and) return (a != 0 && b != 0) ? 1 : 0;
  if constexpr (Op == OpCode::logical_or) return (a != 0 || b != 0) ? 1 : 0;
  return a;
}

/// @brief The result of unary opcode Op (to_f64, neg_i, neg_f, logical_not) on a word.
template <OpCode Op>
SLUICE_HD inline std::uint64_t apply_unary(std::uint64_t b) {
  if constexpr (Op == OpCode::to_f64)
    return double_bits(static_cast<double>(static_cast<std::int64_t>(b)));
  if constexpr (Op == OpCode::neg_i) return std::uint64_t{0} - b;
  if constexpr (Op == OpCode::neg_f) return double_bits(-bits_double(b));
  if constexpr (Op == OpCode::logical_not) return b == 0 ? 1 : 0;
  return b;
}

/// @brief Calls visit.template unary<Op>() or visit.template binary<Op>() for the opcode `op`
/// (not load or push): the one table from opcodes to operator definitions.
template <class Visit>
SLUICE_HD inline void dispatch_opcode(OpCode op, Visit&& visit) {
  switch (op) {
    case OpCode::to_f64:
      visit.template unary<OpCode::to_f64>();
      return;
    case OpCode::neg_i:
      visit.template unary<OpCode::neg_i>();
      return;
    case OpCode::neg_f:
      visit.template unary<OpCode::neg_f>();
      return;
    case OpCode::logical_not:
      visit.template unary<OpCode::logical_not>();
      return;
    case OpCode::add_i:
      visit.template binary<OpCode::add_i>();
      return;
    case OpCode::add_f:
      visit.template binary<OpCode::add_f>();
      return;
    case OpCode::sub_i:
      visit.template binary<OpCode::sub_i>();
      return;
    case OpCode::sub_f:
      visit.template binary<OpCode::sub_f>();
      return;
    case OpCode::mul_i:
      visit.template binary<OpCode::mul_i>();
      return;
    case OpCode::mul_f:
      visit.template binary<OpCode::mul_f>();
      return;
    case OpCode::div_f:
      visit.template binary<OpCode::div_f>();
      return;
    case OpCode::eq_i:
      visit.template binary<OpCode::eq_i>();
      return;
    case OpCode::ne_i:
      visit.template binary<OpCode::ne_i>();
      return;
    case OpCode::lt_i:
      visit.template binary<OpCode::lt_i>();
      return;
    case OpCode::le_i:
      visit.template binary<OpCode::le_i>();
      return;
    case OpCode::gt_i:
      visit.template binary<OpCode::gt_i>();
      return;
    case OpCode::ge_i:
      visit.template binary<OpCode::ge_i>();
      return;
    case OpCode::eq_f:
      visit.template binary<OpCode::eq_f>();
      return;
    case OpCode::ne_f:
      visit.template binary<OpCode::ne_f>();
      return;
    case OpCode::lt_f:
      visit.template binary<OpCode::lt_f>();
      return;
    case OpCode::le_f:
      visit.template binary<OpCode::le_f>();
      return;
    case OpCode::gt_f:
      visit.template binary<OpCode::gt_f>();
      return;
    case OpCode::ge_f:
      visit.template binary<OpCode::ge_f>();
      return;
    case OpCode::logical_and:
      visit.template binary<OpCode::logical_and>();
      return;
    case OpCode::logical_or:
      visit.template binary<OpCode::logical_or>();
      return;
    case OpCode::load:
    case OpCode::push:
      return;
  }
}

/// Applies one operator to the top of a row's stack.
struct ScalarStep {
  std::uint64_t* stack;
  int& top;
  template <OpCode Op>
  SLUICE_HD void unary() {
    stack[top] = apply_unary<Op>(stack[top]);
  }
  template <OpCode Op>
  SLUICE_HD void binary() {
    stack[top - 1] = apply_binary<Op>(stack[top - 1], stack[top]);
    --top;
  }
};

/// @brief Runs `program` on `row`. Returns the result word (i64, f64 bits, or 0/1).
/// @pre The program was produced by the query compiler: well-typed, stack depth within
/// kMaxStackDepth, column indices within `in.count`.
SLUICE_HD inline std::uint64_t run_program(const Instr* code, ProgramRef program,
                                           const InputColumns& in, std::size_t row) {
  std::uint64_t stack[kMaxStackDepth];
  int top = -1;
  const Instr* pc = code + program.begin;
  const Instr* end = pc + program.size;
  for (; pc != end; ++pc) {
    const Instr ins = *pc;
    if (ins.op == OpCode::load) {
      stack[++top] = load_column(in.data[ins.column], ins.type, row);
    } else if (ins.op == OpCode::push) {
      stack[++top] = ins.literal;
    } else {
      dispatch_opcode(ins.op, ScalarStep{stack, top});
    }
  }
  return top >= 0 ? stack[top] : 0;
}

}  // namespace sluice::detail
