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
  load,   ///< push column `column` of the row, converted to i64 or f64 by `type`
  push,   ///< push the literal word
  to_f64, ///< convert the top (i64) to f64
  neg_i, neg_f, add_i, add_f, sub_i, sub_f, mul_i, mul_f, div_f,
  eq_i, ne_i, lt_i, le_i, gt_i, ge_i,
  eq_f, ne_f, lt_f, le_f, gt_f, ge_f,
  logical_and, logical_or, logical_not,
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
      continue;
    }
    if (ins.op == OpCode::push) {
      stack[++top] = ins.literal;
      continue;
    }
    std::uint64_t& a = stack[top > 0 ? top - 1 : 0];
    const std::uint64_t b = stack[top];
    const auto ai = static_cast<std::int64_t>(a);
    const auto bi = static_cast<std::int64_t>(b);
    const double af = bits_double(a);
    const double bf = bits_double(b);
    switch (ins.op) {
      case OpCode::to_f64: stack[top] = double_bits(static_cast<double>(bi)); continue;
      case OpCode::neg_i:
        stack[top] = static_cast<std::uint64_t>(0) - b;
        continue;
      case OpCode::neg_f: stack[top] = double_bits(-bf); continue;
      case OpCode::logical_not: stack[top] = b == 0 ? 1 : 0; continue;
      // Integer arithmetic wraps (two's complement) rather than overflowing.
      case OpCode::add_i: a = a + b; break;
      case OpCode::sub_i: a = a - b; break;
      case OpCode::mul_i: a = a * b; break;
      case OpCode::add_f: a = double_bits(af + bf); break;
      case OpCode::sub_f: a = double_bits(af - bf); break;
      case OpCode::mul_f: a = double_bits(af * bf); break;
      case OpCode::div_f: a = double_bits(af / bf); break;
      case OpCode::eq_i: a = ai == bi; break;
      case OpCode::ne_i: a = ai != bi; break;
      case OpCode::lt_i: a = ai < bi; break;
      case OpCode::le_i: a = ai <= bi; break;
      case OpCode::gt_i: a = ai > bi; break;
      case OpCode::ge_i: a = ai >= bi; break;
      case OpCode::eq_f: a = af == bf; break;
      case OpCode::ne_f: a = af != bf; break;
      case OpCode::lt_f: a = af < bf; break;
      case OpCode::le_f: a = af <= bf; break;
      case OpCode::gt_f: a = af > bf; break;
      case OpCode::ge_f: a = af >= bf; break;
      case OpCode::logical_and: a = (a != 0 && b != 0) ? 1 : 0; break;
      case OpCode::logical_or: a = (a != 0 || b != 0) ? 1 : 0; break;
      default: break;
    }
    --top;
  }
  return top >= 0 ? stack[top] : 0;
}

}  // namespace sluice::detail
