// Tests of the expression interpreter (ops/program.hpp): loads, arithmetic, comparisons, logic.
#include "kernels/ops/program.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {
namespace {

using detail::ColumnType;
using detail::InputColumns;
using detail::Instr;
using detail::load_column;
using detail::OpCode;
using detail::ProgramRef;
using detail::run_program;
using detail::ValueKind;

/// Builds postfix code.
struct Code {
  std::vector<Instr> code;
  Code& load(int column, ColumnType type) {
    Instr i;
    i.op = OpCode::load;
    i.type = type;
    i.column = static_cast<std::uint16_t>(column);
    code.push_back(i);
    return *this;
  }
  Code& push_i(std::int64_t v) {
    Instr i;
    i.op = OpCode::push;
    i.literal = static_cast<std::uint64_t>(v);
    code.push_back(i);
    return *this;
  }
  Code& push_f(double v) {
    Instr i;
    i.op = OpCode::push;
    i.literal = dbits(v);
    code.push_back(i);
    return *this;
  }
  Code& op(OpCode o) {
    Instr i;
    i.op = o;
    code.push_back(i);
    return *this;
  }
  ProgramRef ref(ValueKind kind = ValueKind::i64) const {
    return ProgramRef{0, static_cast<std::uint16_t>(code.size()), kind};
  }
};

std::uint64_t run(const Code& c, const InputColumns& in = {}, std::size_t row = 0) {
  return run_program(c.code.data(), c.ref(), in, row);
}
std::int64_t run_i(const Code& c, const InputColumns& in = {}, std::size_t row = 0) {
  return static_cast<std::int64_t>(run(c, in, row));
}
double run_f(const Code& c, const InputColumns& in = {}, std::size_t row = 0) {
  return bitsd(run(c, in, row));
}

TEST(LoadColumn, WidensEveryStorageType) {
  const std::int32_t i32[] = {-7, std::numeric_limits<std::int32_t>::min(), 5};
  const std::int64_t i64[] = {-9000000000LL, std::numeric_limits<std::int64_t>::max(), 0};
  const std::uint32_t u32[] = {4000000000u, 0, 1};
  const std::uint64_t u64[] = {~0ULL, 1ULL << 63, 3};
  const float f32[] = {-1.5f, 3.25e10f, 0.1f};
  const double f64[] = {-0.0, 2.5, std::numeric_limits<double>::infinity()};
  const std::uint8_t boolean[] = {0, 1, 2};  // any nonzero byte is true
  const std::int64_t ts[] = {-1000, 1700000000000LL, 0};
  const std::uint32_t str[] = {0, 42, 0xfffffffeu};

  EXPECT_EQ(static_cast<std::int64_t>(load_column(i32, ColumnType::i32, 0)), -7);
  EXPECT_EQ(static_cast<std::int64_t>(load_column(i32, ColumnType::i32, 1)),
            std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(static_cast<std::int64_t>(load_column(i64, ColumnType::i64, 0)), -9000000000LL);
  EXPECT_EQ(static_cast<std::int64_t>(load_column(i64, ColumnType::i64, 1)),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(load_column(u32, ColumnType::u32, 0), 4000000000u);  // zero-extended, not sign
  EXPECT_EQ(load_column(u64, ColumnType::u64, 0), ~0ULL);
  EXPECT_EQ(load_column(u64, ColumnType::u64, 1), 1ULL << 63);
  EXPECT_EQ(bitsd(load_column(f32, ColumnType::f32, 0)), -1.5);
  EXPECT_EQ(bitsd(load_column(f32, ColumnType::f32, 1)), static_cast<double>(3.25e10f));
  EXPECT_EQ(bitsd(load_column(f32, ColumnType::f32, 2)), static_cast<double>(0.1f));
  EXPECT_EQ(load_column(f64, ColumnType::f64, 0), dbits(-0.0));  // raw bits, no key folding
  EXPECT_EQ(bitsd(load_column(f64, ColumnType::f64, 1)), 2.5);
  EXPECT_EQ(load_column(boolean, ColumnType::boolean, 0), 0u);
  EXPECT_EQ(load_column(boolean, ColumnType::boolean, 1), 1u);
  EXPECT_EQ(load_column(boolean, ColumnType::boolean, 2), 1u);
  EXPECT_EQ(static_cast<std::int64_t>(load_column(ts, ColumnType::timestamp, 0)), -1000);
  EXPECT_EQ(static_cast<std::int64_t>(load_column(ts, ColumnType::timestamp, 1)), 1700000000000LL);
  EXPECT_EQ(load_column(str, ColumnType::string, 1), 42u);
  EXPECT_EQ(load_column(str, ColumnType::string, 2), 0xfffffffeu);
}

TEST(RunProgram, LoadsThroughInputColumns) {
  const std::int32_t a[] = {1, -2, 3};
  const double b[] = {0.5, 1.5, -2.5};
  InputColumns in;
  in.count = 2;
  in.data[0] = a;
  in.type[0] = ColumnType::i32;
  in.data[1] = b;
  in.type[1] = ColumnType::f64;
  for (std::size_t row = 0; row < 3; ++row) {
    EXPECT_EQ(run_i(Code{}.load(0, ColumnType::i32), in, row), a[row]);
    EXPECT_EQ(run_f(Code{}.load(1, ColumnType::f64), in, row), b[row]);
    // a * 2 + 1 as float: to_f64(a) * b
    EXPECT_EQ(run_f(Code{}
                        .load(0, ColumnType::i32)
                        .op(OpCode::to_f64)
                        .load(1, ColumnType::f64)
                        .op(OpCode::mul_f),
                    in, row),
              static_cast<double>(a[row]) * b[row]);
  }
}

TEST(RunProgram, EmptyProgramYieldsZero) { EXPECT_EQ(run(Code{}), 0u); }

TEST(RunProgram, IntegerArithmeticWrapsLikeTwosComplement) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(run_i(Code{}.push_i(7).push_i(-3).op(OpCode::add_i)), 4);
  EXPECT_EQ(run_i(Code{}.push_i(7).push_i(-3).op(OpCode::sub_i)), 10);
  EXPECT_EQ(run_i(Code{}.push_i(7).push_i(-3).op(OpCode::mul_i)), -21);
  EXPECT_EQ(run_i(Code{}.push_i(5).op(OpCode::neg_i)), -5);
  EXPECT_EQ(run_i(Code{}.push_i(kMax).push_i(1).op(OpCode::add_i)), kMin);
  EXPECT_EQ(run_i(Code{}.push_i(kMin).push_i(1).op(OpCode::sub_i)), kMax);
  EXPECT_EQ(run_i(Code{}.push_i(kMin).op(OpCode::neg_i)), kMin);
  EXPECT_EQ(run_i(Code{}.push_i(1LL << 62).push_i(4).op(OpCode::mul_i)), 0);
  // Order of operands: (10 - 4) - 3, not 10 - (4 - 3).
  EXPECT_EQ(run_i(Code{}.push_i(10).push_i(4).op(OpCode::sub_i).push_i(3).op(OpCode::sub_i)), 3);
  EXPECT_EQ(run_i(Code{}.push_i(10).push_i(4).push_i(3).op(OpCode::sub_i).op(OpCode::sub_i)), 9);
}

TEST(RunProgram, FloatArithmeticAndDivision) {
  EXPECT_EQ(run_f(Code{}.push_f(1.5).push_f(2.25).op(OpCode::add_f)), 3.75);
  EXPECT_EQ(run_f(Code{}.push_f(1.5).push_f(2.25).op(OpCode::sub_f)), -0.75);
  EXPECT_EQ(run_f(Code{}.push_f(1.5).push_f(-2.0).op(OpCode::mul_f)), -3.0);
  EXPECT_EQ(run_f(Code{}.push_f(1.5).op(OpCode::neg_f)), -1.5);
  EXPECT_EQ(run(Code{}.push_f(0.0).op(OpCode::neg_f)), dbits(-0.0));
  // Integer operands divided as floats: 7 / 2 = 3.5, -7 / 2 = -3.5 (no integer truncation).
  EXPECT_EQ(
      run_f(Code{}.push_i(7).op(OpCode::to_f64).push_i(2).op(OpCode::to_f64).op(OpCode::div_f)),
      3.5);
  EXPECT_EQ(
      run_f(Code{}.push_i(-7).op(OpCode::to_f64).push_i(2).op(OpCode::to_f64).op(OpCode::div_f)),
      -3.5);
  EXPECT_EQ(run_f(Code{}.push_f(1.0).push_f(3.0).op(OpCode::div_f)), 1.0 / 3.0);
  EXPECT_EQ(run_f(Code{}.push_f(1.0).push_f(0.0).op(OpCode::div_f)),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(run_f(Code{}.push_f(-1.0).push_f(0.0).op(OpCode::div_f)),
            -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(run_f(Code{}.push_f(0.0).push_f(0.0).op(OpCode::div_f))));
  EXPECT_EQ(run_f(Code{}.push_i(-(1LL << 53) - 1).op(OpCode::to_f64)),
            static_cast<double>(-(1LL << 53) - 1));
}

TEST(RunProgram, IntegerComparisonsAreSigned) {
  const std::int64_t values[] = {std::numeric_limits<std::int64_t>::min(), -5, -1, 0, 1, 5,
                                 std::numeric_limits<std::int64_t>::max()};
  for (std::int64_t a : values) {
    for (std::int64_t b : values) {
      auto cmp = [&](OpCode op) { return run(Code{}.push_i(a).push_i(b).op(op)); };
      EXPECT_EQ(cmp(OpCode::eq_i), a == b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::ne_i), a != b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::lt_i), a < b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::le_i), a <= b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::gt_i), a > b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::ge_i), a >= b ? 1u : 0u) << a << " " << b;
    }
  }
}

TEST(RunProgram, FloatComparisonsFollowIeee) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double values[] = {-inf, -2.5, -0.0, 0.0, 1e-300, 2.5, inf, nan};
  for (double a : values) {
    for (double b : values) {
      auto cmp = [&](OpCode op) { return run(Code{}.push_f(a).push_f(b).op(op)); };
      EXPECT_EQ(cmp(OpCode::eq_f), a == b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::ne_f), a != b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::lt_f), a < b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::le_f), a <= b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::gt_f), a > b ? 1u : 0u) << a << " " << b;
      EXPECT_EQ(cmp(OpCode::ge_f), a >= b ? 1u : 0u) << a << " " << b;
    }
  }
}

TEST(RunProgram, LogicalOperatorsTruthTables) {
  for (std::int64_t a : {0, 1}) {
    EXPECT_EQ(run(Code{}.push_i(a).op(OpCode::logical_not)), a ? 0u : 1u);
    for (std::int64_t b : {0, 1}) {
      EXPECT_EQ(run(Code{}.push_i(a).push_i(b).op(OpCode::logical_and)), (a && b) ? 1u : 0u);
      EXPECT_EQ(run(Code{}.push_i(a).push_i(b).op(OpCode::logical_or)), (a || b) ? 1u : 0u);
    }
  }
  // Not binds to its operand only: not(0) and 0 == 0; not(0 and 0) == 1.
  EXPECT_EQ(run(Code{}.push_i(0).op(OpCode::logical_not).push_i(0).op(OpCode::logical_and)), 0u);
  EXPECT_EQ(run(Code{}.push_i(0).push_i(0).op(OpCode::logical_and).op(OpCode::logical_not)), 1u);
}

TEST(RunProgram, UsesTheFullStackDepth) {
  // v0 v1 ... v15 sub sub ... sub  ==  v0 - (v1 - (... - (v14 - v15))), all 16 values stacked.
  auto v = [](int i) { return static_cast<std::int64_t>(i * 3 - 7); };
  Code c;
  for (int i = 0; i < detail::kMaxStackDepth; ++i) c.push_i(v(i));
  for (int i = 0; i < detail::kMaxStackDepth - 1; ++i) c.op(OpCode::sub_i);
  std::int64_t want = v(detail::kMaxStackDepth - 1);
  for (int i = detail::kMaxStackDepth - 2; i >= 0; --i) want = v(i) - want;
  EXPECT_EQ(run_i(c), want);
}

TEST(RunProgram, RunsAProgramInsideSharedCode) {
  Code c;
  c.push_i(100).push_i(1).op(OpCode::add_i);  // program 0: [0, 3)
  c.push_i(5).push_i(6).op(OpCode::mul_i);    // program 1: [3, 6)
  const InputColumns in;
  EXPECT_EQ(static_cast<std::int64_t>(
                run_program(c.code.data(), ProgramRef{0, 3, ValueKind::i64}, in, 0)),
            101);
  EXPECT_EQ(static_cast<std::int64_t>(
                run_program(c.code.data(), ProgramRef{3, 3, ValueKind::i64}, in, 0)),
            30);
}

// Random well-typed expressions over random rows, checked against a recursive evaluation of the
// expression tree with ordinary C++ arithmetic.
struct Node {
  OpCode op = OpCode::push;
  ValueKind kind = ValueKind::i64;
  ColumnType type = ColumnType::i64;
  int column = 0;
  std::uint64_t literal = 0;
  std::unique_ptr<Node> a, b;
};

struct Table {
  std::vector<std::int64_t> i64;
  std::vector<std::int32_t> i32;
  std::vector<double> f64;
  std::vector<float> f32;
  std::vector<std::uint8_t> boolean;
  InputColumns in() const {
    InputColumns c;
    c.count = 5;
    c.data[0] = i64.data();
    c.type[0] = ColumnType::i64;
    c.data[1] = i32.data();
    c.type[1] = ColumnType::i32;
    c.data[2] = f64.data();
    c.type[2] = ColumnType::f64;
    c.data[3] = f32.data();
    c.type[3] = ColumnType::f32;
    c.data[4] = boolean.data();
    c.type[4] = ColumnType::boolean;
    return c;
  }
};

class ExprGen {
 public:
  explicit ExprGen(std::mt19937_64& rng) : rng_(rng) {}

  std::unique_ptr<Node> gen(ValueKind kind, int depth) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    const bool leaf = depth == 0 || pick(4) == 0;
    if (kind == ValueKind::i64) {
      if (leaf) {
        switch (pick(3)) {
          case 0:
            return load(n, 0, ColumnType::i64);
          case 1:
            return load(n, 1, ColumnType::i32);
          default:
            n->literal = static_cast<std::uint64_t>(static_cast<std::int64_t>(pick(200)) - 100);
            return n;
        }
      }
      const OpCode ops[] = {OpCode::add_i, OpCode::sub_i, OpCode::mul_i, OpCode::neg_i};
      n->op = ops[pick(4)];
      n->a = gen(ValueKind::i64, depth - 1);
      if (n->op != OpCode::neg_i) n->b = gen(ValueKind::i64, depth - 1);
      return n;
    }
    if (kind == ValueKind::f64) {
      if (leaf) {
        switch (pick(4)) {
          case 0:
            return load(n, 2, ColumnType::f64);
          case 1:
            return load(n, 3, ColumnType::f32);
          case 2:
            n->op = OpCode::to_f64;
            n->a = gen(ValueKind::i64, 0);
            return n;
          default:
            n->literal = dbits(static_cast<double>(pick(1000)) / 8.0 - 60.0);
            return n;
        }
      }
      const OpCode ops[] = {OpCode::add_f, OpCode::sub_f, OpCode::mul_f,
                            OpCode::div_f, OpCode::neg_f, OpCode::to_f64};
      n->op = ops[pick(6)];
      if (n->op == OpCode::to_f64) {
        n->a = gen(ValueKind::i64, depth - 1);
        return n;
      }
      n->a = gen(ValueKind::f64, depth - 1);
      if (n->op != OpCode::neg_f) n->b = gen(ValueKind::f64, depth - 1);
      return n;
    }
    // boolean
    if (leaf) return load(n, 4, ColumnType::boolean);
    switch (pick(4)) {
      case 0: {
        const OpCode ops[] = {OpCode::eq_i, OpCode::ne_i, OpCode::lt_i,
                              OpCode::le_i, OpCode::gt_i, OpCode::ge_i};
        n->op = ops[pick(6)];
        n->a = gen(ValueKind::i64, depth - 1);
        n->b = gen(ValueKind::i64, depth - 1);
        return n;
      }
      case 1: {
        const OpCode ops[] = {OpCode::eq_f, OpCode::ne_f, OpCode::lt_f,
                              OpCode::le_f, OpCode::gt_f, OpCode::ge_f};
        n->op = ops[pick(6)];
        n->a = gen(ValueKind::f64, depth - 1);
        n->b = gen(ValueKind::f64, depth - 1);
        return n;
      }
      case 2:
        n->op = OpCode::logical_not;
        n->a = gen(ValueKind::boolean, depth - 1);
        return n;
      default:
        n->op = pick(2) ? OpCode::logical_and : OpCode::logical_or;
        n->a = gen(ValueKind::boolean, depth - 1);
        n->b = gen(ValueKind::boolean, depth - 1);
        return n;
    }
  }

 private:
  std::unique_ptr<Node> load(std::unique_ptr<Node>& n, int column, ColumnType type) {
    n->op = OpCode::load;
    n->column = column;
    n->type = type;
    return std::move(n);
  }
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  std::mt19937_64& rng_;
};

void compile(const Node& n, std::vector<Instr>& code) {
  if (n.a) compile(*n.a, code);
  if (n.b) compile(*n.b, code);
  Instr i;
  i.op = n.op;
  i.type = n.type;
  i.column = static_cast<std::uint16_t>(n.column);
  i.literal = n.literal;
  code.push_back(i);
}

// Values as a tagged pair; booleans are 0/1 integers.
struct Val {
  std::int64_t i = 0;
  double f = 0;
};

Val eval(const Node& n, const Table& t, std::size_t row) {
  Val r;
  switch (n.op) {
    case OpCode::push:
      if (n.kind == ValueKind::f64)
        r.f = bitsd(n.literal);
      else
        r.i = static_cast<std::int64_t>(n.literal);
      return r;
    case OpCode::load:
      switch (n.column) {
        case 0:
          r.i = t.i64[row];
          break;
        case 1:
          r.i = t.i32[row];
          break;
        case 2:
          r.f = t.f64[row];
          break;
        case 3:
          r.f = t.f32[row];
          break;
        default:
          r.i = t.boolean[row] != 0;
          break;
      }
      return r;
    default:
      break;
  }
  const Val a = eval(*n.a, t, row);
  const Val b = n.b ? eval(*n.b, t, row) : Val{};
  auto wrap = [](std::uint64_t x) { return static_cast<std::int64_t>(x); };
  const auto ua = static_cast<std::uint64_t>(a.i), ub = static_cast<std::uint64_t>(b.i);
  switch (n.op) {
    case OpCode::to_f64:
      r.f = static_cast<double>(a.i);
      break;
    case OpCode::neg_i:
      r.i = wrap(0 - ua);
      break;
    case OpCode::add_i:
      r.i = wrap(ua + ub);
      break;
    case OpCode::sub_i:
      r.i = wrap(ua - ub);
      break;
    case OpCode::mul_i:
      r.i = wrap(ua * ub);
      break;
    case OpCode::neg_f:
      r.f = -a.f;
      break;
    case OpCode::add_f:
      r.f = a.f + b.f;
      break;
    case OpCode::sub_f:
      r.f = a.f - b.f;
      break;
    case OpCode::mul_f:
      r.f = a.f * b.f;
      break;
    case OpCode::div_f:
      r.f = a.f / b.f;
      break;
    case OpCode::eq_i:
      r.i = a.i == b.i;
      break;
    case OpCode::ne_i:
      r.i = a.i != b.i;
      break;
    case OpCode::lt_i:
      r.i = a.i < b.i;
      break;
    case OpCode::le_i:
      r.i = a.i <= b.i;
      break;
    case OpCode::gt_i:
      r.i = a.i > b.i;
      break;
    case OpCode::ge_i:
      r.i = a.i >= b.i;
      break;
    case OpCode::eq_f:
      r.i = a.f == b.f;
      break;
    case OpCode::ne_f:
      r.i = a.f != b.f;
      break;
    case OpCode::lt_f:
      r.i = a.f < b.f;
      break;
    case OpCode::le_f:
      r.i = a.f <= b.f;
      break;
    case OpCode::gt_f:
      r.i = a.f > b.f;
      break;
    case OpCode::ge_f:
      r.i = a.f >= b.f;
      break;
    case OpCode::logical_not:
      r.i = a.i == 0;
      break;
    case OpCode::logical_and:
      r.i = a.i != 0 && b.i != 0;
      break;
    case OpCode::logical_or:
      r.i = a.i != 0 || b.i != 0;
      break;
    default:
      ADD_FAILURE() << "unexpected op";
      break;
  }
  return r;
}

TEST(RunProgram, RandomExpressionsMatchTreeEvaluation) {
  SLUICE_SEEDED_RNG(rng);
  constexpr std::size_t kRows = 31;
  Table t;
  std::uniform_int_distribution<std::int64_t> iv(-1000000, 1000000);
  std::uniform_real_distribution<double> fv(-100.0, 100.0);
  for (std::size_t r = 0; r < kRows; ++r) {
    t.i64.push_back(r == 0 ? std::numeric_limits<std::int64_t>::min() : iv(rng));
    t.i32.push_back(static_cast<std::int32_t>(iv(rng)));
    t.f64.push_back(r == 1 ? 0.0 : fv(rng));
    t.f32.push_back(static_cast<float>(fv(rng)));
    t.boolean.push_back(static_cast<std::uint8_t>(rng() % 3));
  }
  const InputColumns in = t.in();
  ExprGen gen(rng);
  for (int e = 0; e < 3000; ++e) {
    const auto kind = static_cast<ValueKind>(e % 3);
    const std::unique_ptr<Node> tree = gen.gen(kind, 5);  // depth 5: at most 6 stack slots
    std::vector<Instr> code;
    compile(*tree, code);
    for (std::size_t r = 0; r < kRows; ++r) {
      const std::uint64_t got = run_program(
          code.data(), ProgramRef{0, static_cast<std::uint16_t>(code.size()), kind}, in, r);
      const Val want = eval(*tree, t, r);
      if (kind == ValueKind::f64) {
        const double g = bitsd(got);
        if (std::isnan(want.f)) {
          ASSERT_TRUE(std::isnan(g)) << "expression " << e << " row " << r;
        } else {
          ASSERT_EQ(got, dbits(want.f))
              << "expression " << e << " row " << r << ": " << g << " vs " << want.f;
        }
      } else {
        ASSERT_EQ(static_cast<std::int64_t>(got), want.i) << "expression " << e << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace sluice::test
