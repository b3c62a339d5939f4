// Expression programs: compiled expressions as typed postfix code. Each instruction works on
// values of its own type (a 32-bit column is loaded and compared at 32 bits); the scalar
// interpreter here and the host's vector interpreter share the operator definitions below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/ops/column_type.hpp"
#include "kernels/ops/hd.hpp"
#include "kernels/ops/key_word.hpp"
#include "kernels/table/lookup_table.hpp"

namespace sluice::detail {

/// Type of a program value. String codes are u32, timestamps i64, booleans 0/1.
enum class VType : std::uint8_t { i32, i64, u32, u64, f32, f64, boolean };

/// @brief The value type a column of `t` loads as.
SLUICE_HD inline VType value_type_of(ColumnType t) {
  switch (t) {
    case ColumnType::i32:
      return VType::i32;
    case ColumnType::u32:
    case ColumnType::string:
      return VType::u32;
    case ColumnType::u64:
      return VType::u64;
    case ColumnType::f32:
      return VType::f32;
    case ColumnType::f64:
      return VType::f64;
    case ColumnType::boolean:
      return VType::boolean;
    case ColumnType::i64:
    case ColumnType::timestamp:
      return VType::i64;
  }
  return VType::i64;
}

enum class Op : std::uint8_t {
  load,   ///< push column `column` of the row (its type is `type`)
  konst,  ///< push `imm`, a word of `type`
  cast,   ///< convert the top from `type` to `out`
  neg,    ///< negate the top (i64 wraps, f64)
  add,    ///< a + b in `type` (i64 wraps, f64)
  sub,
  mul,
  div,  ///< f64 only
  eq,   ///< compare a and b of `type`; pushes a boolean
  ne,
  lt,
  le,
  gt,
  ge,
  eq_k,  ///< compare the top (of `type`) with `imm`; pushes a boolean
  ne_k,
  lt_k,
  le_k,
  gt_k,
  ge_k,
  logical_and,
  logical_or,
  logical_not,
  lookup,  ///< replace the top (a key word of `type`: i64 or u32) by the word of type `out`
           ///< that lookup_immediate `imm` names (a boolean for kLookupFound)
};

/// @brief One instruction: 16 bytes.
struct Instr {
  Op op = Op::konst;
  VType type = VType::i64;   ///< operand type
  VType out = VType::i64;    ///< for cast and lookup: the result type
  std::uint16_t column = 0;  ///< for load: index into InputColumns
  std::uint64_t imm = 0;     ///< for konst and *_k: a word of `type`; for lookup: its target
};

inline constexpr int kMaxInputColumns = 32;
inline constexpr int kMaxStackDepth = 16;

/// @brief What a query's programs read for one batch: the batch's columns and the lookup
/// tables in effect for it, in the executor's memory.
struct InputColumns {
  const void* data[kMaxInputColumns] = {};
  ColumnType type[kMaxInputColumns] = {};
  int count = 0;
  LookupTables lookups;
};

/// @brief A program inside a shared instruction array: code[begin, begin + size), yielding a
/// value of type `result`.
struct ProgramRef {
  std::uint32_t begin = 0;
  std::uint16_t size = 0;
  VType result = VType::i64;
};

/// @brief Compiled programs in an executor's memory.
struct ProgramSetView {
  const Instr* code = nullptr;
  const ProgramRef* programs = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Value words: every value of a program is carried in a 64-bit word in its type's natural form
// (i32 sign-extended, u32 zero-extended, f32 as its bits in the low half, f64 as its bits,
// booleans as 0 or 1).

template <class T>
SLUICE_HD inline std::uint64_t to_word(T v) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::uint8_t>) {
    return v != 0 ? 1 : 0;
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_same_v<T, std::uint32_t>) {
    return v;
  } else if constexpr (std::is_same_v<T, float>) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    return u;
  } else {
    static_assert(sizeof(T) == 8);
    std::uint64_t w;
    std::memcpy(&w, &v, 8);
    return w;
  }
}

template <class T>
SLUICE_HD inline T from_word(std::uint64_t w) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::uint8_t>) {
    return static_cast<T>(w != 0);
  } else if constexpr (sizeof(T) == 4) {
    const auto low = static_cast<std::uint32_t>(w);
    T v;
    std::memcpy(&v, &low, 4);
    return v;
  } else {
    static_assert(sizeof(T) == 8);
    T v;
    std::memcpy(&v, &w, 8);
    return v;
  }
}

/// @brief Reads value `row` of a column as a word of value_type_of(type).
SLUICE_HD inline std::uint64_t load_word(const void* data, ColumnType type, std::size_t row) {
  switch (type) {
    case ColumnType::i32:
      return to_word(load_value<std::int32_t>(data, row));
    case ColumnType::u32:
    case ColumnType::string:
      return to_word(load_value<std::uint32_t>(data, row));
    case ColumnType::f32:
      return to_word(load_value<float>(data, row));
    case ColumnType::boolean:
      return load_value<std::uint8_t>(data, row) != 0 ? 1 : 0;
    default:
      return load_value<std::uint64_t>(data, row);
  }
}

// ---------------------------------------------------------------------------------------------
// Operator definitions, shared by every interpreter.

/// @brief a op b for the arithmetic ops (integers wrap: they are computed as unsigned).
template <class T>
SLUICE_HD inline T apply_arith(Op op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {  // two's complement wrap-around
    using U = std::uint64_t;
    const U ua = static_cast<U>(a), ub = static_cast<U>(b);
    switch (op) {
      case Op::add:
        return static_cast<T>(ua + ub);
      case Op::sub:
        return static_cast<T>(ua - ub);
      case Op::mul:
        return static_cast<T>(ua * ub);
      default:
        return a;
    }
  } else {
    switch (op) {
      case Op::add:
        return a + b;
      case Op::sub:
        return a - b;
      case Op::mul:
        return a * b;
      case Op::div:
        return a / b;
      default:
        return a;
    }
  }
}

/// @brief a op b for the comparisons (eq..ge and eq_k..ge_k).
template <class T>
SLUICE_HD inline bool apply_compare(Op op, T a, T b) {
  switch (op) {
    case Op::eq:
    case Op::eq_k:
      return a == b;
    case Op::ne:
    case Op::ne_k:
      return a != b;
    case Op::lt:
    case Op::lt_k:
      return a < b;
    case Op::le:
    case Op::le_k:
      return a <= b;
    case Op::gt:
    case Op::gt_k:
      return a > b;
    case Op::ge:
    case Op::ge_k:
      return a >= b;
    default:
      return false;
  }
}

SLUICE_HD inline bool is_compare(Op op) { return op >= Op::eq && op <= Op::ge; }
SLUICE_HD inline bool is_compare_konst(Op op) { return op >= Op::eq_k && op <= Op::ge_k; }

/// @brief Converts a word of type `from` to a word of type `to` (the compiler emits only
/// widening casts: to i64 from integers and booleans, to f64 from any number).
SLUICE_HD inline std::uint64_t cast_word(std::uint64_t w, VType from, VType to) {
  if (to == VType::f64) {
    switch (from) {
      case VType::f32:
        return to_word(static_cast<double>(from_word<float>(w)));
      case VType::u32:
        return to_word(static_cast<double>(from_word<std::uint32_t>(w)));
      case VType::f64:
        return w;
      default:  // i32 and u32 words are already extended; u64 reads as i64
        return to_word(static_cast<double>(static_cast<std::int64_t>(w)));
    }
  }
  if (to == VType::f32 && from == VType::f64)
    return to_word(static_cast<float>(from_word<double>(w)));
  return w;  // integers and booleans are kept extended to 64 bits already
}

/// @brief Calls f.template operator()<T>() with T the C++ type of `t`.
template <class F>
SLUICE_HD inline auto visit_type(VType t, F&& f) {
  switch (t) {
    case VType::i32:
      return f.template operator()<std::int32_t>();
    case VType::u32:
      return f.template operator()<std::uint32_t>();
    case VType::u64:
      return f.template operator()<std::uint64_t>();
    case VType::f32:
      return f.template operator()<float>();
    case VType::f64:
      return f.template operator()<double>();
    case VType::boolean:
      return f.template operator()<std::uint8_t>();
    case VType::i64:
      break;
  }
  return f.template operator()<std::int64_t>();
}

/// Applies one non-load instruction to a scalar stack.
struct ScalarStep {
  std::uint64_t* stack;
  int& top;
  Instr ins;
  template <class T>
  SLUICE_HD void operator()() const {
    if (is_compare_konst(ins.op)) {
      stack[top] = apply_compare<T>(ins.op, from_word<T>(stack[top]), from_word<T>(ins.imm));
    } else if (is_compare(ins.op)) {
      stack[top - 1] =
          apply_compare<T>(ins.op, from_word<T>(stack[top - 1]), from_word<T>(stack[top]));
      --top;
    } else {
      stack[top - 1] =
          to_word(apply_arith<T>(ins.op, from_word<T>(stack[top - 1]), from_word<T>(stack[top])));
      --top;
    }
  }
};

/// @brief What Op::lookup yields for a key without a row: NaN for floats (so that an ordered
/// comparison with it is false, as the compiler relies on), 0 otherwise.
SLUICE_HD inline std::uint64_t missing_lookup_word(VType out) {
  if (out == VType::f64) return 0x7ff8000000000000ULL;
  if (out == VType::f32) return 0x7fc00000ULL;
  return 0;
}

/// @brief Runs `program` on `row`; returns its value word.
/// @pre The program was produced by the query compiler: well-typed, stack depth within
/// kMaxStackDepth, column indices within `in.count`, lookup tables within `in.lookups`.
SLUICE_HD inline std::uint64_t run_program(const Instr* code, ProgramRef program,
                                           const InputColumns& in, std::size_t row) {
  std::uint64_t stack[kMaxStackDepth];
  int top = -1;
  const Instr* pc = code + program.begin;
  const Instr* end = pc + program.size;
  for (; pc != end; ++pc) {
    const Instr ins = *pc;
    switch (ins.op) {
      case Op::load:
        stack[++top] = load_word(in.data[ins.column], in.type[ins.column], row);
        break;
      case Op::konst:
        stack[++top] = ins.imm;
        break;
      case Op::cast:
        stack[top] = cast_word(stack[top], ins.type, ins.out);
        break;
      case Op::neg:
        stack[top] = ins.type == VType::f64 ? to_word(-from_word<double>(stack[top]))
                                            : std::uint64_t{0} - stack[top];
        break;
      case Op::logical_not:
        stack[top] = stack[top] == 0 ? 1 : 0;
        break;
      case Op::logical_and:
        stack[top - 1] = (stack[top - 1] != 0 && stack[top] != 0) ? 1 : 0;
        --top;
        break;
      case Op::logical_or:
        stack[top - 1] = (stack[top - 1] != 0 || stack[top] != 0) ? 1 : 0;
        --top;
        break;
      case Op::lookup:
        stack[top] = in.lookups.table[lookup_table_of(ins.imm)].lookup(
            stack[top], lookup_column_of(ins.imm), missing_lookup_word(ins.out));
        break;
      default:
        visit_type(ins.type, ScalarStep{stack, top, ins});
        break;
    }
  }
  return top >= 0 ? stack[top] : 0;
}

/// @brief The key word of a program value of type `t`: integers as i64 (u32 zero-extended,
/// u64 as is), floats through float_key_word (so -0.0 and +0.0, and all NaNs, group together),
/// booleans as 0/1.
SLUICE_HD inline std::uint64_t key_word_of(std::uint64_t w, VType t) {
  if (t == VType::f64) return float_key_word(from_word<double>(w));
  if (t == VType::f32) return float_key_word(static_cast<double>(from_word<float>(w)));
  return w;
}

}  // namespace sluice::detail
