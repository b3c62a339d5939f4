// Tests of the aggregate catalogue (ops/aggregates.hpp): states, combines, atomics, shapes.
#include "kernels/ops/aggregates.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {
namespace {

using detail::aggregate_shape;
using detail::atomic_state_combine;
using detail::finalize_aggregate;
using detail::state_combine;
using detail::state_init;

TEST(StateOps, InitIsTheIdentityOfCombine) {
  SLUICE_SEEDED_RNG(rng);
  for (StateOp op : kAllOps) {
    EXPECT_EQ(state_init(op), ref_init(op));
    for (int i = 0; i < 1000; ++i) {
      const std::uint64_t v = random_state_value(op, rng);
      EXPECT_TRUE(state_matches(op, state_combine(op, state_init(op), v), v));
      EXPECT_TRUE(state_matches(op, state_combine(op, v, state_init(op)), v));
    }
  }
}

TEST(StateOps, CombineMatchesReferenceAndCommutes) {
  SLUICE_SEEDED_RNG(rng);
  for (StateOp op : kAllOps)
    for (int i = 0; i < 10000; ++i) {
      const std::uint64_t a = random_state_value(op, rng), b = random_state_value(op, rng);
      ASSERT_EQ(state_combine(op, a, b), ref_merge(op, a, b));
      if (op != StateOp::sum_f64) {
        ASSERT_EQ(state_combine(op, a, b), state_combine(op, b, a));
      }
    }
}

TEST(StateOps, IntegerSumsWrapAndExtremesHold) {
  const auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(static_cast<std::int64_t>(state_combine(StateOp::sum_i64, max, 1)),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(state_combine(StateOp::min_i64, state_init(StateOp::min_i64), max), max);
  const auto min = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(state_combine(StateOp::max_i64, state_init(StateOp::max_i64), min), min);
}

TEST(StateOps, FloatMinMaxOfNaNIsTheCanonicalNaN) {
  const std::uint64_t nan = dbits(std::nan("7"));
  for (StateOp op : {StateOp::min_f64, StateOp::max_f64}) {
    EXPECT_EQ(state_combine(op, dbits(1.0), nan), detail::kCanonicalNaNBits);
    EXPECT_EQ(state_combine(op, nan, dbits(1.0)), detail::kCanonicalNaNBits);
    EXPECT_EQ(state_combine(op, detail::kCanonicalNaNBits, dbits(-5.0)), detail::kCanonicalNaNBits);
  }
}

/// Every thread combines its share of the values atomically into one word; the result equals
/// the sequential fold (exactly, but for float sums, which depend on the order of arrival).
TEST(StateOps, AtomicCombineUnderContentionEqualsTheFold) {
  SLUICE_SEEDED_RNG(rng);
  const int threads = std::max(2, omp_get_max_threads());
  for (StateOp op : kAllOps) {
    for (std::size_t n : {std::size_t{1}, std::size_t{31}, std::size_t{100000}}) {
      std::vector<std::uint64_t> values(n);
      for (auto& v : values) v = random_state_value(op, rng);
      if (op == StateOp::min_f64 && n > 1) values[n / 2] = dbits(std::nan(""));
      std::uint64_t want = ref_init(op);
      for (std::uint64_t v : values) want = ref_merge(op, want, v);
      std::uint64_t word = state_init(op);
#pragma omp parallel for num_threads(threads)
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i)
        atomic_state_combine(op, &word, values[static_cast<std::size_t>(i)]);
      EXPECT_TRUE(state_matches(op, word, want)) << "op " << static_cast<int>(op) << " n " << n;
    }
  }
}

TEST(Catalogue, ShapesOfEveryAggregate) {
  const auto count = aggregate_shape(AggKind::count, false);
  ASSERT_EQ(count.states, 1);
  EXPECT_EQ(count.ops[0], StateOp::sum_i64);
  EXPECT_FALSE(count.has_input[0]);
  EXPECT_FALSE(count.float_result);
  for (bool f : {false, true}) {
    const auto sum = aggregate_shape(AggKind::sum, f);
    ASSERT_EQ(sum.states, 1);
    EXPECT_EQ(sum.ops[0], f ? StateOp::sum_f64 : StateOp::sum_i64);
    EXPECT_TRUE(sum.has_input[0]);
    EXPECT_EQ(sum.float_result, f);
    EXPECT_EQ(aggregate_shape(AggKind::min, f).ops[0], f ? StateOp::min_f64 : StateOp::min_i64);
    EXPECT_EQ(aggregate_shape(AggKind::max, f).ops[0], f ? StateOp::max_f64 : StateOp::max_i64);
    const auto avg = aggregate_shape(AggKind::avg, f);
    ASSERT_EQ(avg.states, 2);
    EXPECT_EQ(avg.ops[0], StateOp::sum_f64);
    EXPECT_EQ(avg.ops[1], StateOp::sum_i64);
    EXPECT_TRUE(avg.has_input[0]);
    EXPECT_FALSE(avg.has_input[1]);
    EXPECT_TRUE(avg.float_input);
    EXPECT_TRUE(avg.float_result);
  }
}

TEST(Catalogue, FinalizeReadsTheStatesOfItsAggregate) {
  // Two rows of states, column-major with stride 2: [sum row0, sum row1, count row0, count row1].
  const std::uint64_t states[] = {dbits(10.0), dbits(9.0), 4, 3};
  EXPECT_EQ(bitsd(finalize_aggregate(AggKind::avg, states, 2)), 2.5);
  EXPECT_EQ(bitsd(finalize_aggregate(AggKind::avg, states + 1, 2)), 3.0);
  EXPECT_EQ(finalize_aggregate(AggKind::count, states + 2, 2), 4u);
  EXPECT_EQ(finalize_aggregate(AggKind::sum, states, 2), dbits(10.0));
}

}  // namespace
}  // namespace sluice::test
