// Vectorized interpretation of typed expression programs (one instruction over many rows).
#include "kernels/host/vector_program.hpp"

#include <cstring>
#include <utility>

namespace sluice::detail {
namespace {

template <class T>
void gather(const void* data, std::size_t first, const std::uint32_t* rows, std::size_t n, T* out) {
  const T* column = static_cast<const T*>(data);
  if (rows == nullptr) {
    std::memcpy(out, column + first, n * sizeof(T));
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = column[rows[i]];
  }
}

void load_vector(const void* data, ColumnType type, std::size_t first, const std::uint32_t* rows,
                 std::size_t n, ValueVector& out) {
  switch (type) {
    case ColumnType::i32:
      return gather(data, first, rows, n, out.as<std::int32_t>());
    case ColumnType::u32:
    case ColumnType::string:
      return gather(data, first, rows, n, out.as<std::uint32_t>());
    case ColumnType::f32:
      return gather(data, first, rows, n, out.as<float>());
    case ColumnType::f64:
      return gather(data, first, rows, n, out.as<double>());
    case ColumnType::boolean: {
      const auto* column = static_cast<const std::uint8_t*>(data);
      std::uint8_t* o = out.as<std::uint8_t>();
      for (std::size_t i = 0; i < n; ++i) o[i] = column[rows ? rows[i] : first + i] != 0 ? 1 : 0;
      return;
    }
    default:
      return gather(data, first, rows, n, out.as<std::uint64_t>());
  }
}

template <class T>
void broadcast(std::uint64_t word, std::size_t n, ValueVector& out) {
  const T v = from_word<T>(word);
  T* o = out.as<T>();
  for (std::size_t i = 0; i < n; ++i) o[i] = v;
}

template <class From, class To>
void convert(const ValueVector& in, std::size_t n, ValueVector& out) {
  const From* a = in.as<From>();
  To* o = out.as<To>();
  for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<To>(a[i]);
}

/// Widening casts as cast_word defines them (integers and booleans to i64, numbers to f64).
void cast_vector(const ValueVector& in, VType from, VType to, std::size_t n, ValueVector& out) {
  if (to == VType::f64) {
    switch (from) {
      case VType::i32:
        return convert<std::int32_t, double>(in, n, out);
      case VType::u32:
        return convert<std::uint32_t, double>(in, n, out);
      case VType::f32:
        return convert<float, double>(in, n, out);
      case VType::f64:
        return convert<double, double>(in, n, out);
      case VType::boolean:
        return convert<std::uint8_t, double>(in, n, out);
      default:  // i64, and u64 read as i64
        return convert<std::int64_t, double>(in, n, out);
    }
  }
  if (to == VType::f32) return convert<double, float>(in, n, out);
  switch (from) {  // to i64 (or u64: the same bits)
    case VType::i32:
      return convert<std::int32_t, std::int64_t>(in, n, out);
    case VType::u32:
      return convert<std::uint32_t, std::int64_t>(in, n, out);
    case VType::boolean:
      return convert<std::uint8_t, std::int64_t>(in, n, out);
    default:
      return convert<std::int64_t, std::int64_t>(in, n, out);
  }
}

struct VectorBinary {
  const ValueVector& a;
  const ValueVector& b;
  Op op;
  std::size_t n;
  ValueVector& out;
  template <class T>
  void operator()() const {
    const T* x = a.as<T>();
    const T* y = b.as<T>();
    if (is_compare(op)) {
      std::uint8_t* o = out.as<std::uint8_t>();
      switch (op) {  // one loop per comparison, so each is a tight, vectorizable loop
        case Op::eq:
          for (std::size_t i = 0; i < n; ++i) o[i] = x[i] == y[i];
          return;
        case Op::ne:
          for (std::size_t i = 0; i < n; ++i) o[i] = x[i] != y[i];
          return;
        case Op::lt:
          for (std::size_t i = 0; i < n; ++i) o[i] = x[i] < y[i];
          return;
        case Op::le:
          for (std::size_t i = 0; i < n; ++i) o[i] = x[i] <= y[i];
          return;
        case Op::gt:
          for (std::size_t i = 0; i < n; ++i) o[i] = x[i] > y[i];
          return;
        default:
          for (std::size_t i = 0; i < n; ++i) o[i] = x[i] >= y[i];
          return;
      }
    }
    T* o = out.as<T>();
    for (std::size_t i = 0; i < n; ++i) o[i] = apply_arith<T>(op, x[i], y[i]);
  }
};

struct VectorCompareKonst {
  const ValueVector& a;
  std::uint64_t imm;
  Op op;
  std::size_t n;
  ValueVector& out;
  template <class T>
  void operator()() const {
    const T* x = a.as<T>();
    const T k = from_word<T>(imm);
    std::uint8_t* o = out.as<std::uint8_t>();
    for (std::size_t i = 0; i < n; ++i) o[i] = apply_compare<T>(op, x[i], k);
  }
};

/// Replaces n key words (of `key`: i64 or u32) by the looked-up words of type `out`.
void lookup_vector(const LookupTableView& table, std::uint32_t column, VType key, VType out,
                   std::size_t n, const ValueVector& in, ValueVector& result) {
  const std::uint64_t missing = missing_lookup_word(out);
  visit_type(out, [&]<class R>() {
    R* o = result.as<R>();
    if (key == VType::u32) {
      const std::uint32_t* k = in.as<std::uint32_t>();
      for (std::size_t i = 0; i < n; ++i) o[i] = from_word<R>(table.lookup(k[i], column, missing));
    } else {
      const std::uint64_t* k = in.as<std::uint64_t>();
      for (std::size_t i = 0; i < n; ++i) o[i] = from_word<R>(table.lookup(k[i], column, missing));
    }
  });
}

}  // namespace

const ValueVector& run_program_vector(const Instr* code, ProgramRef program, const InputColumns& in,
                                      std::size_t first_row, const std::uint32_t* rows,
                                      std::size_t count, VectorStack& stack) {
  // Slots by pointer: results go to the spare vector, which then takes the operand's place.
  ValueVector* slot[kMaxStackDepth + 1];
  for (int i = 0; i <= kMaxStackDepth; ++i) slot[i] = &stack.storage[i];
  ValueVector*& spare = slot[kMaxStackDepth];
  int top = -1;
  const Instr* pc = code + program.begin;
  const Instr* end = pc + program.size;
  const std::size_t n = count;
  for (; pc != end; ++pc) {
    const Instr ins = *pc;
    switch (ins.op) {
      case Op::load:
        ++top;
        load_vector(in.data[ins.column], in.type[ins.column], first_row, rows, n, *slot[top]);
        break;
      case Op::konst:
        ++top;
        visit_type(ins.type, [&]<class T>() { broadcast<T>(ins.imm, n, *slot[top]); });
        break;
      case Op::cast:
        cast_vector(*slot[top], ins.type, ins.out, n, *spare);
        std::swap(slot[top], spare);
        break;
      case Op::neg:
        if (ins.type == VType::f64) {
          double* v = slot[top]->as<double>();
          for (std::size_t i = 0; i < n; ++i) v[i] = -v[i];
        } else {
          std::uint64_t* v = slot[top]->as<std::uint64_t>();
          for (std::size_t i = 0; i < n; ++i) v[i] = std::uint64_t{0} - v[i];
        }
        break;
      case Op::logical_not: {
        std::uint8_t* v = slot[top]->as<std::uint8_t>();
        for (std::size_t i = 0; i < n; ++i) v[i] = v[i] == 0 ? 1 : 0;
        break;
      }
      case Op::logical_and:
      case Op::logical_or: {
        const std::uint8_t* a = slot[top - 1]->as<std::uint8_t>();
        const std::uint8_t* b = slot[top]->as<std::uint8_t>();
        std::uint8_t* o = spare->as<std::uint8_t>();
        if (ins.op == Op::logical_and)
          for (std::size_t i = 0; i < n; ++i) o[i] = (a[i] != 0) & (b[i] != 0);
        else
          for (std::size_t i = 0; i < n; ++i) o[i] = (a[i] != 0) | (b[i] != 0);
        std::swap(slot[top - 1], spare);
        --top;
        break;
      }
      case Op::lookup:
        lookup_vector(in.lookups.table[lookup_table_of(ins.imm)], lookup_column_of(ins.imm),
                      ins.type, ins.out, n, *slot[top], *spare);
        std::swap(slot[top], spare);
        break;
      default:
        if (is_compare_konst(ins.op)) {
          visit_type(ins.type, VectorCompareKonst{*slot[top], ins.imm, ins.op, n, *spare});
          std::swap(slot[top], spare);
        } else {
          visit_type(ins.type, VectorBinary{*slot[top - 1], *slot[top], ins.op, n, *spare});
          std::swap(slot[top - 1], spare);
          --top;
        }
        break;
    }
  }
  return *slot[top < 0 ? 0 : top];
}

void vector_to_words(const ValueVector& v, VType t, std::size_t count, std::uint64_t* out) {
  visit_type(t, [&]<class T>() {
    const T* x = v.as<T>();
    for (std::size_t i = 0; i < count; ++i) out[i] = to_word(x[i]);
  });
}

bool plain_column(const Instr* code, ProgramRef program, int& column, VType& result) {
  if (program.size == 0 || code[program.begin].op != Op::load) return false;
  if (program.size == 1) {
    column = code[program.begin].column;
    result = program.result;
    return true;
  }
  if (program.size == 2 && code[program.begin + 1].op == Op::cast) {
    column = code[program.begin].column;
    result = program.result;
    return true;
  }
  return false;
}

}  // namespace sluice::detail
