// Tests of filter_project on HostExec: compaction, every column type, arithmetic and float keys.
#include "kernels/filter_project.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "filter_project_fixture.hpp"
#include "kernel_test_util.hpp"

namespace sluice::test {
namespace {

using detail::ColumnType;
using detail::filter_project;
using detail::InputColumns;
using detail::Instr;
using detail::OpCode;
using detail::ProgramRef;
using detail::ProgramSetView;
using detail::ProjectionSpec;
using detail::ValueKind;

Batch random_batch(std::size_t n, std::mt19937_64& rng) {
  Batch b;
  std::uniform_int_distribution<std::int32_t> small(-20, 20);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (std::size_t r = 0; r < n; ++r) {
    b.i32.push_back(r % 97 == 5 ? 0 : small(rng));
    const int pick = static_cast<int>(rng() % 10);
    b.i64.push_back(pick == 0 ? std::numeric_limits<std::int64_t>::max() -
                                    std::abs(small(rng) * small(rng))
                    : pick == 1 ? std::numeric_limits<std::int64_t>::min() + 3
                                : static_cast<std::int64_t>(rng() % 201) - 100);
    b.u32.push_back(static_cast<std::uint32_t>(rng()));
    b.u64.push_back(rng());
    b.f32.push_back(static_cast<float>(unit(rng)));
    const int fz = static_cast<int>(rng() % 8);
    b.f64.push_back(fz == 0 ? -0.0 : fz == 1 ? 0.0 : unit(rng));
    b.boolean.push_back(static_cast<std::uint8_t>(rng() % 2));
    b.ts.push_back(static_cast<std::int64_t>(rng() % 2000000) - 1000000);
    b.str.push_back(static_cast<std::uint32_t>(rng() % 10));
  }
  return b;
}

using RowPredicate = std::function<bool(const Batch&, std::size_t)>;

struct Filter {
  const char* name;
  std::function<int(ProgramSet&)> build;
  RowPredicate want;
};

// Filters with and/or/not over integer, float, bool, unsigned, string-code and timestamp columns.
std::vector<Filter> filters() {
  return {
      {"(i64 > 10 and f64 < 0.5) or not bool",
       [](ProgramSet& s) {
         return s.start(ValueKind::boolean)
             .load(kI64)
             .push_i(10)
             .op(OpCode::gt_i)
             .load(kF64)
             .push_f(0.5)
             .op(OpCode::lt_f)
             .op(OpCode::logical_and)
             .load(kBool)
             .op(OpCode::logical_not)
             .op(OpCode::logical_or)
             .done();
       },
       [](const Batch& b, std::size_t r) {
         return (b.i64[r] > 10 && b.f64[r] < 0.5) || !b.boolean[r];
       }},
      {"str == 3",
       [](ProgramSet& s) {
         return s.start(ValueKind::boolean).load(kStr).push_i(3).op(OpCode::eq_i).done();
       },
       [](const Batch& b, std::size_t r) { return b.str[r] == 3; }},
      {"i32 <= -5 and f32 >= 0.25",
       [](ProgramSet& s) {
         return s.start(ValueKind::boolean)
             .load(kI32)
             .push_i(-5)
             .op(OpCode::le_i)
             .load(kF32)
             .push_f(0.25)
             .op(OpCode::ge_f)
             .op(OpCode::logical_and)
             .done();
       },
       [](const Batch& b, std::size_t r) {
         return b.i32[r] <= -5 && static_cast<double>(b.f32[r]) >= 0.25;
       }},
      {"not (u32 > 3000000000 or ts < 0) and str != 7",
       [](ProgramSet& s) {
         return s.start(ValueKind::boolean)
             .load(kU32)
             .push_i(3000000000LL)
             .op(OpCode::gt_i)
             .load(kTs)
             .push_i(0)
             .op(OpCode::lt_i)
             .op(OpCode::logical_or)
             .op(OpCode::logical_not)
             .load(kStr)
             .push_i(7)
             .op(OpCode::ne_i)
             .op(OpCode::logical_and)
             .done();
       },
       [](const Batch& b, std::size_t r) {
         return !(b.u32[r] > 3000000000u || b.ts[r] < 0) && b.str[r] != 7;
       }},
      {"i64 / i32 (as floats) > 2.0",
       [](ProgramSet& s) {
         return s.start(ValueKind::boolean)
             .load(kI64)
             .op(OpCode::to_f64)
             .load(kI32)
             .op(OpCode::to_f64)
             .op(OpCode::div_f)
             .push_f(2.0)
             .op(OpCode::gt_f)
             .done();
       },
       [](const Batch& b, std::size_t r) {
         return static_cast<double>(b.i64[r]) / static_cast<double>(b.i32[r]) > 2.0;
       }},
  };
}

using Expected = std::function<std::uint64_t(const Batch&, std::size_t)>;

struct Output {
  const char* name;
  std::function<void(ProgramSet&)> build;
  Expected want;
  bool is_float;
};

std::uint64_t u(std::int64_t v) { return static_cast<std::uint64_t>(v); }

// Projections of every column type, integer arithmetic (wrapping), float arithmetic and a
// division of integers producing a float. The first output (f64) is the key range's float key.
std::vector<Output> outputs() {
  return {
      {"f64 key", [](ProgramSet& s) { s.start(ValueKind::f64).load(kF64).done(); },
       [](const Batch& b, std::size_t r) { return detail::float_key_word(b.f64[r]); }, true},
      {"i32", [](ProgramSet& s) { s.start(ValueKind::i64).load(kI32).done(); },
       [](const Batch& b, std::size_t r) { return u(b.i32[r]); }, false},
      {"i64", [](ProgramSet& s) { s.start(ValueKind::i64).load(kI64).done(); },
       [](const Batch& b, std::size_t r) { return u(b.i64[r]); }, false},
      {"u32", [](ProgramSet& s) { s.start(ValueKind::i64).load(kU32).done(); },
       [](const Batch& b, std::size_t r) { return std::uint64_t{b.u32[r]}; }, false},
      {"u64", [](ProgramSet& s) { s.start(ValueKind::i64).load(kU64).done(); },
       [](const Batch& b, std::size_t r) { return b.u64[r]; }, false},
      {"f32", [](ProgramSet& s) { s.start(ValueKind::f64).load(kF32).done(); },
       [](const Batch& b, std::size_t r) { return dbits(static_cast<double>(b.f32[r])); }, true},
      {"f64 (not a key: raw bits)",
       [](ProgramSet& s) { s.start(ValueKind::f64).load(kF64).done(); },
       [](const Batch& b, std::size_t r) { return dbits(b.f64[r]); }, true},
      {"bool", [](ProgramSet& s) { s.start(ValueKind::boolean).load(kBool).done(); },
       [](const Batch& b, std::size_t r) { return std::uint64_t{b.boolean[r] != 0}; }, false},
      {"timestamp", [](ProgramSet& s) { s.start(ValueKind::i64).load(kTs).done(); },
       [](const Batch& b, std::size_t r) { return u(b.ts[r]); }, false},
      {"string code", [](ProgramSet& s) { s.start(ValueKind::i64).load(kStr).done(); },
       [](const Batch& b, std::size_t r) { return std::uint64_t{b.str[r]}; }, false},
      {"i64 + i32 * 2 - 1 (wraps)",
       [](ProgramSet& s) {
         s.start(ValueKind::i64)
             .load(kI64)
             .load(kI32)
             .push_i(2)
             .op(OpCode::mul_i)
             .op(OpCode::add_i)
             .push_i(1)
             .op(OpCode::sub_i)
             .done();
       },
       [](const Batch& b, std::size_t r) { return u(b.i64[r]) + u(b.i32[r]) * 2 - 1; }, false},
      {"i64 / i32 as floats",
       [](ProgramSet& s) {
         s.start(ValueKind::f64)
             .load(kI64)
             .op(OpCode::to_f64)
             .load(kI32)
             .op(OpCode::to_f64)
             .op(OpCode::div_f)
             .done();
       },
       [](const Batch& b, std::size_t r) {
         return dbits(static_cast<double>(b.i64[r]) / static_cast<double>(b.i32[r]));
       },
       true},
      {"-(f32 * 2.5) + ts / 1000",
       [](ProgramSet& s) {
         s.start(ValueKind::f64)
             .load(kF32)
             .push_f(2.5)
             .op(OpCode::mul_f)
             .op(OpCode::neg_f)
             .load(kTs)
             .op(OpCode::to_f64)
             .push_f(1000.0)
             .op(OpCode::div_f)
             .op(OpCode::add_f)
             .done();
       },
       [](const Batch& b, std::size_t r) {
         return dbits(-(static_cast<double>(b.f32[r]) * 2.5) +
                      static_cast<double>(b.ts[r]) / 1000.0);
       },
       true},
      {"-i32", [](ProgramSet& s) { s.start(ValueKind::i64).load(kI32).op(OpCode::neg_i).done(); },
       [](const Batch& b, std::size_t r) { return u(-static_cast<std::int64_t>(b.i32[r])); },
       false},
  };
}

::testing::AssertionResult word_matches(bool is_float, std::uint64_t got, std::uint64_t want) {
  if (got == want) return ::testing::AssertionSuccess();
  if (is_float && std::isnan(bitsd(got)) && std::isnan(bitsd(want)))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got word " << got << " (" << bitsd(got) << ") want "
                                       << want << " (" << bitsd(want) << ")";
}

/// Runs filter_project with filter `f` (or none) and every output, and checks against the
/// reference row by row. Output 0 is the only key ([0, 1)).
void check(const Batch& b, const Filter* f, std::size_t extra_stride = 0) {
  const std::size_t n = b.size();
  ProgramSet set;
  const int filter = f ? f->build(set) : -1;
  const std::vector<Output> outs = outputs();
  const int first_output = static_cast<int>(set.programs.size());
  for (const Output& o : outs) o.build(set);
  ProjectionSpec spec;
  spec.filter = filter;
  spec.first_output = first_output;
  spec.num_outputs = static_cast<int>(outs.size());
  spec.key_begin = 0;
  spec.key_end = 1;

  detail::HostExec exec;
  const std::size_t stride = n + extra_stride;
  constexpr std::uint32_t kRowSentinel = 0xdeadbeefu;
  constexpr std::uint64_t kWordSentinel = 0x5555aaaa5555aaaaULL;
  std::vector<std::uint32_t> rows(n + 1, kRowSentinel);
  std::vector<std::uint64_t> words(stride * outs.size() + 1, kWordSentinel);
  const std::size_t kept =
      filter_project(exec, b.in(), n, set.view(), spec, rows.data(), words.data(), stride);

  std::vector<std::uint32_t> want_rows;
  for (std::size_t r = 0; r < n; ++r)
    if (!f || f->want(b, r)) want_rows.push_back(static_cast<std::uint32_t>(r));
  ASSERT_EQ(kept, want_rows.size());
  for (std::size_t i = 0; i < kept; ++i) ASSERT_EQ(rows[i], want_rows[i]) << "kept row " << i;
  for (std::size_t j = 0; j < outs.size(); ++j) {
    for (std::size_t i = 0; i < kept; ++i) {
      ASSERT_TRUE(
          word_matches(outs[j].is_float, words[j * stride + i], outs[j].want(b, want_rows[i])))
          << "output '" << outs[j].name << "' kept row " << i << " (input row " << want_rows[i]
          << ")";
    }
    // Nothing written past the kept rows of each output column.
    for (std::size_t i = kept; i < stride; ++i)
      ASSERT_EQ(words[j * stride + i], kWordSentinel) << "output " << j << " slot " << i;
  }
  EXPECT_EQ(words.back(), kWordSentinel);
}

class FilterProjectSizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FilterProjectSizes, EveryFilterAndEveryColumnType) {
  SLUICE_SEEDED_RNG(rng);
  const Batch b = random_batch(GetParam(), rng);
  const std::vector<Filter> fs = filters();
  // The large size runs one filter only, to keep the suite fast.
  const std::size_t count = GetParam() == kLarge ? 1 : fs.size();
  for (std::size_t k = 0; k < count; ++k) {
    SCOPED_TRACE(fs[k].name);
    check(b, &fs[k]);
  }
}

TEST_P(FilterProjectSizes, NoFilterKeepsEveryRowInOrder) {
  SLUICE_SEEDED_RNG(rng);
  const Batch b = random_batch(GetParam(), rng);
  check(b, nullptr);
}

INSTANTIATE_TEST_SUITE_P(Sizes, FilterProjectSizes,
                         ::testing::Values(std::size_t{0}, std::size_t{1}, std::size_t{31},
                                           std::size_t{1000}, kLarge));

TEST(FilterProject, OutputStrideLargerThanRows) {
  SLUICE_SEEDED_RNG(rng);
  const Batch b = random_batch(1000, rng);
  const std::vector<Filter> fs = filters();
  check(b, &fs[0], 37);
  check(b, nullptr, 5);
}

TEST(FilterProject, FilterKeepingNothingOrEverything) {
  SLUICE_SEEDED_RNG(rng);
  const Batch b = random_batch(1000, rng);
  const Filter none{
      "i64 < i64",
      [](ProgramSet& s) {
        return s.start(ValueKind::boolean).load(kI64).load(kI64).op(OpCode::lt_i).done();
      },
      [](const Batch&, std::size_t) { return false; }};
  const Filter all{"ts == ts or not bool or bool",
                   [](ProgramSet& s) {
                     return s.start(ValueKind::boolean)
                         .load(kTs)
                         .load(kTs)
                         .op(OpCode::eq_i)
                         .load(kBool)
                         .op(OpCode::logical_not)
                         .load(kBool)
                         .op(OpCode::logical_or)
                         .op(OpCode::logical_or)
                         .done();
                   },
                   [](const Batch&, std::size_t) { return true; }};
  check(b, &none);
  check(b, &all);
}

TEST(FilterProject, FloatKeysFoldSignedZerosAndNaNs) {
  // Key outputs [0, 2): an f64 key and an f32-derived key; output 2 is the same f64, not a key.
  Batch b;
  const double values[] = {0.0,
                           -0.0,
                           1.5,
                           -1.5,
                           std::numeric_limits<double>::quiet_NaN(),
                           -std::numeric_limits<double>::quiet_NaN()};
  for (double v : values) {
    b.i32.push_back(0);
    b.i64.push_back(0);
    b.u32.push_back(0);
    b.u64.push_back(0);
    b.f32.push_back(static_cast<float>(-v));
    b.f64.push_back(v);
    b.boolean.push_back(0);
    b.ts.push_back(0);
    b.str.push_back(0);
  }
  ProgramSet set;
  set.start(ValueKind::f64).load(kF64).done();
  set.start(ValueKind::f64).load(kF32).done();
  set.start(ValueKind::f64).load(kF64).done();
  ProjectionSpec spec;
  spec.num_outputs = 3;
  spec.key_begin = 0;
  spec.key_end = 2;
  detail::HostExec exec;
  const std::size_t n = b.size();
  std::vector<std::uint32_t> rows(n);
  std::vector<std::uint64_t> words(3 * n);
  ASSERT_EQ(filter_project(exec, b.in(), n, set.view(), spec, rows.data(), words.data(), n), n);
  EXPECT_EQ(words[0], words[1]);  // +0.0 and -0.0: one key
  EXPECT_EQ(words[0], 0u);
  EXPECT_EQ(words[n + 0], words[n + 1]);  // f32 -0.0 and +0.0
  EXPECT_EQ(words[4], words[5]);          // both NaNs: one key
  EXPECT_EQ(words[n + 4], words[n + 5]);
  EXPECT_NE(words[2], words[3]);
  EXPECT_EQ(words[2], dbits(1.5));
  EXPECT_EQ(words[2 * n + 0], dbits(0.0));  // outside the key range: raw bits kept
  EXPECT_EQ(words[2 * n + 1], dbits(-0.0));
}

}  // namespace
}  // namespace sluice::test
