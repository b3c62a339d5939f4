// Tests of the accumulator states (ops/accumulator.hpp): identities, merges, folds of random data.
#include "kernels/ops/accumulator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {
namespace {

using detail::state_init;
using detail::state_merge;
using detail::StateMerge;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::uint64_t w(std::int64_t v) { return static_cast<std::uint64_t>(v); }
std::int64_t i(std::uint64_t v) { return static_cast<std::int64_t>(v); }

TEST(Accumulator, InitialStates) {
  EXPECT_EQ(state_init(StateOp::sum_i64), 0u);
  EXPECT_EQ(bitsd(state_init(StateOp::sum_f64)), 0.0);
  EXPECT_EQ(state_init(StateOp::sum_f64), dbits(0.0));  // +0.0, not -0.0
  EXPECT_EQ(i(state_init(StateOp::min_i64)), kMax);
  EXPECT_EQ(i(state_init(StateOp::max_i64)), kMin);
  EXPECT_EQ(bitsd(state_init(StateOp::min_f64)), kInf);
  EXPECT_EQ(bitsd(state_init(StateOp::max_f64)), -kInf);
}

TEST(Accumulator, InitIsTheIdentityOfMerge) {
  SLUICE_SEEDED_RNG(rng);
  for (StateOp op : kAllOps) {
    for (int k = 0; k < 10000; ++k) {
      const std::uint64_t x = random_state_value(op, rng);
      ASSERT_TRUE(state_matches(op, state_merge(op, state_init(op), x), x));
      ASSERT_TRUE(state_matches(op, state_merge(op, x, state_init(op)), x));
    }
  }
}

TEST(Accumulator, IntegerSumWrapsOnOverflow) {
  EXPECT_EQ(i(state_merge(StateOp::sum_i64, w(kMax), w(1))), kMin);
  EXPECT_EQ(i(state_merge(StateOp::sum_i64, w(kMin), w(-1))), kMax);
  EXPECT_EQ(i(state_merge(StateOp::sum_i64, w(-5), w(3))), -2);
}

TEST(Accumulator, IntegerMinMaxCompareSigned) {
  // As unsigned words -1 is the largest value; as i64 it is below 0.
  EXPECT_EQ(i(state_merge(StateOp::min_i64, w(-1), w(0))), -1);
  EXPECT_EQ(i(state_merge(StateOp::min_i64, w(0), w(-1))), -1);
  EXPECT_EQ(i(state_merge(StateOp::max_i64, w(-1), w(0))), 0);
  EXPECT_EQ(i(state_merge(StateOp::max_i64, w(kMin), w(kMax))), kMax);
  EXPECT_EQ(i(state_merge(StateOp::min_i64, w(kMin), w(kMax))), kMin);
}

TEST(Accumulator, FloatMinMaxCompareAsDoubles) {
  // Raw bits of negative doubles order backwards; the merge must compare values.
  EXPECT_EQ(bitsd(state_merge(StateOp::min_f64, dbits(-1.0), dbits(-2.0))), -2.0);
  EXPECT_EQ(bitsd(state_merge(StateOp::max_f64, dbits(-1.0), dbits(-2.0))), -1.0);
  EXPECT_EQ(bitsd(state_merge(StateOp::min_f64, dbits(-1.0), dbits(0.5))), -1.0);
  EXPECT_EQ(bitsd(state_merge(StateOp::max_f64, dbits(-kInf), dbits(-1e300))), -1e300);
  EXPECT_EQ(bitsd(state_merge(StateOp::sum_f64, dbits(0.1), dbits(0.2))), 0.1 + 0.2);
}

TEST(Accumulator, FoldsMatchStandardAlgorithms) {
  SLUICE_SEEDED_RNG(rng);
  for (std::size_t n : {1u, 31u, 1000u}) {
    std::vector<std::int64_t> iv(n);
    std::vector<double> fv(n);
    for (auto& x : iv) x = static_cast<std::int64_t>(rng());  // full range: sums wrap
    for (auto& x : fv) x = std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    std::uint64_t sum_i = state_init(StateOp::sum_i64), min_i = state_init(StateOp::min_i64),
                  max_i = state_init(StateOp::max_i64), sum_f = state_init(StateOp::sum_f64),
                  min_f = state_init(StateOp::min_f64), max_f = state_init(StateOp::max_f64);
    std::uint64_t wrapped = 0;
    double fsum = 0;
    for (std::size_t k = 0; k < n; ++k) {
      sum_i = state_merge(StateOp::sum_i64, sum_i, w(iv[k]));
      min_i = state_merge(StateOp::min_i64, min_i, w(iv[k]));
      max_i = state_merge(StateOp::max_i64, max_i, w(iv[k]));
      sum_f = state_merge(StateOp::sum_f64, sum_f, dbits(fv[k]));
      min_f = state_merge(StateOp::min_f64, min_f, dbits(fv[k]));
      max_f = state_merge(StateOp::max_f64, max_f, dbits(fv[k]));
      wrapped += static_cast<std::uint64_t>(iv[k]);
      fsum += fv[k];
    }
    EXPECT_EQ(sum_i, wrapped);
    EXPECT_EQ(i(min_i), *std::min_element(iv.begin(), iv.end()));
    EXPECT_EQ(i(max_i), *std::max_element(iv.begin(), iv.end()));
    EXPECT_EQ(bitsd(sum_f), fsum);  // same order of additions: bit-exact
    EXPECT_EQ(bitsd(min_f), *std::min_element(fv.begin(), fv.end()));
    EXPECT_EQ(bitsd(max_f), *std::max_element(fv.begin(), fv.end()));
  }
}

// Partial states merged in any grouping give the whole fold (what pre-aggregation relies on).
TEST(Accumulator, MergingPartialFoldsEqualsTheWholeFold) {
  SLUICE_SEEDED_RNG(rng);
  for (StateOp op : kAllOps) {
    for (int trial = 0; trial < 200; ++trial) {
      const std::size_t n = 1 + rng() % 200;
      std::vector<std::uint64_t> v(n);
      for (auto& x : v) x = random_state_value(op, rng);
      std::uint64_t whole = ref_init(op);
      for (auto x : v) whole = ref_merge(op, whole, x);
      // Random split into chunks, each folded from init, then merged in reverse order.
      std::vector<std::uint64_t> parts;
      std::size_t at = 0;
      while (at < n) {
        const std::size_t len = 1 + rng() % 17;
        std::uint64_t p = state_init(op);
        for (std::size_t k = at; k < std::min(n, at + len); ++k) p = state_merge(op, p, v[k]);
        parts.push_back(p);
        at += len;
      }
      std::uint64_t merged = state_init(op);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) merged = StateMerge{op}(merged, *it);
      ASSERT_TRUE(state_matches(op, merged, whole)) << "op " << static_cast<int>(op);
    }
  }
}

TEST(Accumulator, FunctorMatchesFunction) {
  SLUICE_SEEDED_RNG(rng);
  for (StateOp op : kAllOps) {
    for (int k = 0; k < 1000; ++k) {
      const std::uint64_t a = random_state_value(op, rng), b = random_state_value(op, rng);
      ASSERT_EQ(StateMerge{op}(a, b), state_merge(op, a, b));
      ASSERT_EQ(state_merge(op, a, b), ref_merge(op, a, b));
    }
  }
}

}  // namespace
}  // namespace sluice::test
