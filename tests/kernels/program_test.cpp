// Tests of compiled expression programs: random typed expressions, compiled by the query
// compiler, evaluated by run_program and by the host's vector interpreter, against a reference
// evaluator written from the documented semantics.
#include "kernels/ops/program.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "host/query_compiler.hpp"
#include "kernel_test_util.hpp"
#include "kernels/host/vector_program.hpp"
#include "sluice/sluice.hpp"

namespace sluice::test {
namespace {

using detail::from_word;
using detail::ProgramRef;
using detail::VType;

// The test table: one column per type.
const Schema kSchema({{"a", TypeId::i32},
                      {"b", TypeId::i64},
                      {"c", TypeId::u32},
                      {"d", TypeId::u64},
                      {"e", TypeId::f32},
                      {"f", TypeId::f64},
                      {"g", TypeId::boolean},
                      {"h", TypeId::string},
                      {"t", DataType::timestamp(TimeUnit::ms)}});

struct Table {
  std::vector<std::int32_t> a;
  std::vector<std::int64_t> b;
  std::vector<std::uint32_t> c;
  std::vector<std::uint64_t> d;
  std::vector<float> e;
  std::vector<double> f;
  std::vector<std::uint8_t> g;
  std::vector<std::uint32_t> h;  // codes of `strings`
  std::vector<std::int64_t> t;
  std::vector<std::string> strings{"x", "y", "z"};
  std::size_t rows() const { return a.size(); }
};

Table random_table(std::size_t n, std::mt19937_64& rng) {
  Table t;
  const float specials_f[] = {0.0f,
                              -0.0f,
                              10.0f,
                              10.1f,
                              0.1f,
                              -3.5f,
                              1e30f,
                              std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::quiet_NaN()};
  const double specials_d[] = {0.0,
                               -0.0,
                               10.1,
                               0.1,
                               1e300,
                               -1e300,
                               std::numeric_limits<double>::infinity(),
                               std::numeric_limits<double>::quiet_NaN()};
  for (std::size_t i = 0; i < n; ++i) {
    const bool small = rng() % 2 == 0;
    t.a.push_back(small ? static_cast<std::int32_t>(rng() % 401) - 200
                        : static_cast<std::int32_t>(rng()));
    t.b.push_back(small ? static_cast<std::int64_t>(rng() % 401) - 200
                        : static_cast<std::int64_t>(rng()));
    t.c.push_back(small ? static_cast<std::uint32_t>(rng() % 300)
                        : static_cast<std::uint32_t>(rng()));
    t.d.push_back(small ? rng() % 300 : rng());
    t.e.push_back(rng() % 5 == 0
                      ? specials_f[rng() % 9]
                      : static_cast<float>(static_cast<int>(rng() % 4001) - 2000) / 16.0f);
    t.f.push_back(rng() % 5 == 0
                      ? specials_d[rng() % 8]
                      : static_cast<double>(static_cast<int>(rng() % 4001) - 2000) / 8.0);
    t.g.push_back(static_cast<std::uint8_t>(rng() % 2));
    t.h.push_back(static_cast<std::uint32_t>(rng() % 3));
    t.t.push_back(static_cast<std::int64_t>(rng() % 100000));
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Reference semantics: integers are i64 (u32 zero-extended, u64 read as i64), floats doubles,
// `/` is a float division, numeric comparisons compare doubles when either side is a float.

using RefValue = std::variant<std::int64_t, double, bool, std::string>;

enum class Kind { integer, floating, boolean, string };

Kind kind_of(const RefValue& v) {
  switch (v.index()) {
    case 0:
      return Kind::integer;
    case 1:
      return Kind::floating;
    case 2:
      return Kind::boolean;
    default:
      return Kind::string;
  }
}

double as_double(const RefValue& v) {
  return v.index() == 0 ? static_cast<double>(std::get<0>(v)) : std::get<1>(v);
}

RefValue column_value(const Table& t, const std::string& name, std::size_t i) {
  switch (name[0]) {
    case 'a':
      return std::int64_t{t.a[i]};
    case 'b':
      return t.b[i];
    case 'c':
      return std::int64_t{t.c[i]};
    case 'd':
      return static_cast<std::int64_t>(t.d[i]);
    case 'e':
      return static_cast<double>(t.e[i]);
    case 'f':
      return t.f[i];
    case 'g':
      return t.g[i] != 0;
    case 'h':
      return t.strings[t.h[i]];
    default:
      return t.t[i];
  }
}

RefValue eval(const ExprNode& n, const Table& t, std::size_t i) {
  switch (n.op) {
    case ExprOp::column:
      return column_value(t, n.column, i);
    case ExprOp::literal:
      if (const auto* x = std::get_if<std::int64_t>(&n.literal)) return *x;
      if (const auto* x = std::get_if<double>(&n.literal)) return *x;
      if (const auto* x = std::get_if<bool>(&n.literal)) return *x;
      return std::get<std::string>(n.literal);
    case ExprOp::neg: {
      const RefValue a = eval(*n.args[0], t, i);
      if (kind_of(a) == Kind::floating) return -std::get<double>(a);
      return static_cast<std::int64_t>(std::uint64_t{0} -
                                       static_cast<std::uint64_t>(std::get<0>(a)));
    }
    case ExprOp::logical_not:
      return !std::get<bool>(eval(*n.args[0], t, i));
    default:
      break;
  }
  const RefValue a = eval(*n.args[0], t, i);
  const RefValue b = eval(*n.args[1], t, i);
  switch (n.op) {
    case ExprOp::logical_and:
      return std::get<bool>(a) && std::get<bool>(b);
    case ExprOp::logical_or:
      return std::get<bool>(a) || std::get<bool>(b);
    default:
      break;
  }
  const bool fl = kind_of(a) == Kind::floating || kind_of(b) == Kind::floating;
  if (n.op == ExprOp::add || n.op == ExprOp::sub || n.op == ExprOp::mul || n.op == ExprOp::div) {
    if (fl || n.op == ExprOp::div) {
      const double x = as_double(a), y = as_double(b);
      switch (n.op) {
        case ExprOp::add:
          return x + y;
        case ExprOp::sub:
          return x - y;
        case ExprOp::mul:
          return x * y;
        default:
          return x / y;
      }
    }
    const auto x = static_cast<std::uint64_t>(std::get<0>(a));
    const auto y = static_cast<std::uint64_t>(std::get<0>(b));
    switch (n.op) {
      case ExprOp::add:
        return static_cast<std::int64_t>(x + y);
      case ExprOp::sub:
        return static_cast<std::int64_t>(x - y);
      default:
        return static_cast<std::int64_t>(x * y);
    }
  }
  // Comparisons.
  int cmp_less = 0, cmp_equal = 0, unordered = 0;
  if (kind_of(a) == Kind::string || kind_of(a) == Kind::boolean) {
    cmp_equal = a == b;
  } else if (fl) {
    const double x = as_double(a), y = as_double(b);
    unordered = std::isnan(x) || std::isnan(y);
    cmp_less = x < y;
    cmp_equal = x == y;
  } else {
    cmp_less = std::get<0>(a) < std::get<0>(b);
    cmp_equal = std::get<0>(a) == std::get<0>(b);
  }
  switch (n.op) {
    case ExprOp::eq:
      return cmp_equal != 0;
    case ExprOp::ne:
      return cmp_equal == 0;
    case ExprOp::lt:
      return cmp_less != 0;
    case ExprOp::le:
      return !unordered && (cmp_less != 0 || cmp_equal != 0);
    case ExprOp::gt:
      return !unordered && cmp_less == 0 && cmp_equal == 0;
    default:
      return !unordered && cmp_less == 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Random well-typed expressions.

class ExprGen {
 public:
  explicit ExprGen(std::mt19937_64& rng) : rng_(rng) {}
  Expr number(int depth) {
    if (depth == 0 || pick(3) == 0) return number_leaf();
    switch (pick(5)) {
      case 0:
        return number(depth - 1) + number(depth - 1);
      case 1:
        return number(depth - 1) - number(depth - 1);
      case 2:
        return number(depth - 1) * number(depth - 1);
      case 3:
        return number(depth - 1) / number(depth - 1);
      default:
        return -number(depth - 1);
    }
  }
  Expr boolean(int depth) {
    if (depth == 0 || pick(4) == 0) {
      if (pick(3) == 0)
        return pick(2) ? col("g") : (col("h") == lit(std::string(1, "xyzw"[pick(4)])));
      return compare(number(0), number(0));
    }
    switch (pick(5)) {
      case 0:
        return boolean(depth - 1) && boolean(depth - 1);
      case 1:
        return boolean(depth - 1) || boolean(depth - 1);
      case 2:
        return !boolean(depth - 1);
      default:
        return compare(number(depth - 1), number(depth - 1));
    }
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  Expr number_leaf() {
    static const char* columns[] = {"a", "b", "c", "d", "e", "f", "t"};
    if (pick(2) == 0) return col(columns[pick(7)]);
    static const std::int64_t ints[] = {0,           1, -1, 200, 10, -2147483649LL, 4294967296LL,
                                        3000000000LL};
    static const double doubles[] = {10.1, 0.1, -3.5, 1e39, 2.5, 10.0, -0.0};
    return pick(2) ? lit(ints[pick(8)]) : lit(doubles[pick(7)]);
  }
  Expr compare(Expr a, Expr b) {
    switch (pick(6)) {
      case 0:
        return a == b;
      case 1:
        return a != b;
      case 2:
        return a < b;
      case 3:
        return a <= b;
      case 4:
        return a > b;
      default:
        return a >= b;
    }
  }
  std::mt19937_64& rng_;
};

/// The program of `expr` as the compiler builds it (a stateless query's one output).
struct Compiled {
  detail::CompiledQuery query;
  ProgramRef program;
};

Compiled compile(const Expr& expr, StringDictionary& dict) {
  Query q;
  q.map("out", expr).project({"out"});
  Compiled c{detail::compile_query(kSchema, q, dict, 1, PartitionSpec{}), {}};
  c.program = c.query.plan.programs[static_cast<std::size_t>(c.query.plan.outputs_begin)];
  return c;
}

detail::InputColumns inputs_of(const Table& t, const detail::CompiledQuery& q) {
  detail::InputColumns in;
  in.count = static_cast<int>(q.read_columns.size());
  const void* all[] = {t.a.data(), t.b.data(), t.c.data(), t.d.data(), t.e.data(),
                       t.f.data(), t.g.data(), t.h.data(), t.t.data()};
  for (int r = 0; r < in.count; ++r) {
    in.data[r] = all[q.read_columns[static_cast<std::size_t>(r)]];
    in.type[r] = q.plan.input_types[static_cast<std::size_t>(r)];
  }
  return in;
}

/// The program's value word as a reference value.
RefValue decode(std::uint64_t w, VType type, bool string) {
  switch (type) {
    case VType::boolean:
      return w != 0;
    case VType::f64:
      return from_word<double>(w);
    case VType::f32:
      return static_cast<double>(from_word<float>(w));
    case VType::u32:
      return string ? RefValue(std::to_string(w)) : RefValue(static_cast<std::int64_t>(w));
    default:
      return static_cast<std::int64_t>(w);
  }
}

::testing::AssertionResult same(const RefValue& got, const RefValue& want) {
  if (got.index() == 1 && want.index() == 1) {
    const double g = std::get<1>(got), w = std::get<1>(want);
    if ((std::isnan(g) && std::isnan(w)) || std::memcmp(&g, &w, 8) == 0 || g == w)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got " << g << ", want " << w;
  }
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got alternative " << got.index() << ", want " << want.index();
}

void check_expressions(bool boolean, int depth) {
  SLUICE_SEEDED_RNG(rng);
  const Table t = random_table(2000, rng);
  ExprGen gen(rng);
  detail::VectorStack stack;
  for (int e = 0; e < 300; ++e) {
    StringDictionary dict;
    for (const std::string& s : t.strings) dict.intern(s);
    const Expr expr = boolean ? gen.boolean(depth) : gen.number(depth);
    SCOPED_TRACE(expr.to_string());
    Compiled c;
    try {
      c = compile(expr, dict);
    } catch (const Error& err) {
      if (err.code() == ErrorCode::invalid_argument) continue;  // too deep for the stack
      throw;
    }
    const detail::InputColumns in = inputs_of(t, c.query);
    const detail::Instr* code = c.query.plan.code.data();
    for (std::size_t first = 0; first < t.rows(); first += detail::kVectorRows) {
      const std::size_t n = std::min(detail::kVectorRows, t.rows() - first);
      const detail::ValueVector& v =
          detail::run_program_vector(code, c.program, in, first, nullptr, n, stack);
      std::vector<std::uint64_t> words(n);
      detail::vector_to_words(v, c.program.result, n, words.data());
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t row = first + i;
        const std::uint64_t scalar = detail::run_program(code, c.program, in, row);
        const RefValue want = eval(expr.node(), t, row);
        ASSERT_TRUE(same(decode(scalar, c.program.result, false), want)) << "row " << row;
        ASSERT_TRUE(same(decode(words[i], c.program.result, false), want))
            << "row " << row << " (vector interpreter)";
      }
    }
  }
}

TEST(Programs, NumericExpressionsMatchTheReference) { check_expressions(false, 3); }

TEST(Programs, BooleanExpressionsMatchTheReference) { check_expressions(true, 3); }

TEST(Programs, ComparisonsWithConstantsRunAtTheColumnsWidth) {
  StringDictionary dict;
  // status == 200 on an i32 column: one load and one i32 comparison with the constant.
  const Compiled i32 = compile(col("a") == lit(200), dict);
  ASSERT_EQ(i32.program.size, 2);
  EXPECT_EQ(i32.query.plan.code[1].op, detail::Op::eq_k);
  EXPECT_EQ(i32.query.plan.code[1].type, VType::i32);
  // cpu > 10 on an f32 column: one f32 comparison.
  const Compiled f32 = compile(col("e") > lit(10.1), dict);
  ASSERT_EQ(f32.program.size, 2);
  EXPECT_EQ(f32.query.plan.code[1].type, VType::f32);
  // A constant beyond the column's range compares at 64 bits.
  const Compiled wide = compile(col("a") < lit(std::int64_t{5000000000LL}), dict);
  EXPECT_EQ(wide.query.plan.code.back().type, VType::i64);
}

TEST(Programs, FloatThresholdsAgreeAroundInexactConstants) {
  // x op c for floats x next to an inexact double c, every comparison.
  const double c = 10.1;
  const float f = static_cast<float>(c);
  const float near[] = {std::nextafter(f, 0.0f), f, std::nextafter(f, 100.0f),
                        std::numeric_limits<float>::quiet_NaN()};
  Table t;
  for (float x : near) {
    t.a.push_back(0);
    t.b.push_back(0);
    t.c.push_back(0);
    t.d.push_back(0);
    t.e.push_back(x);
    t.f.push_back(0);
    t.g.push_back(0);
    t.h.push_back(0);
    t.t.push_back(0);
  }
  StringDictionary dict;
  const Expr cases[] = {col("e") < lit(c),  col("e") <= lit(c), col("e") > lit(c),
                        col("e") >= lit(c), col("e") == lit(c), col("e") != lit(c),
                        lit(c) < col("e"),  lit(c) >= col("e")};
  for (const Expr& e : cases) {
    SCOPED_TRACE(e.to_string());
    const Compiled p = compile(e, dict);
    const detail::InputColumns in = inputs_of(t, p.query);
    for (std::size_t i = 0; i < t.rows(); ++i)
      EXPECT_TRUE(same(decode(detail::run_program(p.query.plan.code.data(), p.program, in, i),
                              p.program.result, false),
                       eval(e.node(), t, i)))
          << "x = " << t.e[i];
  }
}

}  // namespace
}  // namespace sluice::test
