// Tests of the aggregate catalogue (ops/aggregates.hpp): states, combines, atomics, shapes.
#include "kernels/ops/aggregates.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <array>
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

/// Pairs (time, value) with many equal times: the fold of combine_states in any order, and
/// atomic_combine_states from every thread at once, equal the reference's fold.
TEST(PairStates, FirstAndLastCombineInAnyOrderAndUnderContention) {
  SLUICE_SEEDED_RNG(rng);
  const int threads = std::max(2, omp_get_max_threads());
  for (StateOp op : {StateOp::first_time, StateOp::last_time})
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{33}, std::size_t{50000}}) {
      SCOPED_TRACE(std::to_string(static_cast<int>(op)) + ", " + std::to_string(n));
      std::vector<std::uint64_t> times(n), values(n);
      for (std::size_t i = 0; i < n; ++i) {
        times[i] = static_cast<std::uint64_t>(static_cast<std::int64_t>(rng() % 64) - 32);
        values[i] = rng() % 4 == 0 ? dbits(-1.5) : rng();
      }
      std::pair<std::uint64_t, std::uint64_t> want{ref_init(op), 0};
      for (std::size_t i = 0; i < n; ++i)
        want = ref_pair_merge(op, want.first, want.second, times[i], values[i]);
      detail::StateSpec spec;
      const StateOp ops[] = {StateOp::sum_i64, op, StateOp::pair_value, StateOp::pair_lock};
      for (StateOp o : ops) spec.ops[spec.count++] = o;
      // In a shuffled order, one pair at a time (with a count beside it).
      std::vector<std::size_t> order(n);
      for (std::size_t i = 0; i < n; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      std::uint64_t acc[4] = {0, state_init(op), 0, 0};
      for (std::size_t i : order) {
        const std::uint64_t in[4] = {1, times[i], values[i], 0};
        detail::combine_states(
            spec, [&](int s) -> std::uint64_t& { return acc[s]; }, [&](int s) { return in[s]; });
      }
      EXPECT_EQ(acc[0], n);
      EXPECT_EQ(acc[1], want.first);
      EXPECT_EQ(acc[2], want.second);
      // Every thread at once into one state.
      std::uint64_t shared[4] = {0, state_init(op), 0, 0};
#pragma omp parallel for num_threads(threads)
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i) {
        const std::uint64_t in[4] = {1, times[static_cast<std::size_t>(i)],
                                     values[static_cast<std::size_t>(i)], 0};
        detail::atomic_combine_states(
            spec, [&](int s) { return &shared[s]; }, [&](int s) { return in[s]; });
      }
      EXPECT_EQ(shared[0], n);
      EXPECT_EQ(shared[1], want.first);
      EXPECT_EQ(shared[2], want.second);
      EXPECT_EQ(shared[3], 0u) << "the lock is free again";
    }
}

TEST(WideSums, IntegerSumsAreExactIn128BitsInAnyOrderAndUnderContention) {
  SLUICE_SEEDED_RNG(rng);
  const int threads = std::max(2, omp_get_max_threads());
  __extension__ using int128 = __int128;
  detail::StateSpec spec;
  for (StateOp o : {StateOp::sum_i64, StateOp::wide_sum_low, StateOp::wide_sum_high})
    spec.ops[spec.count++] = o;
  const auto as_int128 = [](std::uint64_t lo, std::uint64_t hi) {
    return static_cast<int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
  };
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{33}, std::size_t{50000}}) {
    // Values near the ends of the i64 range, so partial sums leave it (and often come back).
    std::vector<std::int64_t> values(n);
    for (std::int64_t& v : values) {
      const std::int64_t near = rng() % 2 ? std::numeric_limits<std::int64_t>::max()
                                          : std::numeric_limits<std::int64_t>::min();
      v = rng() % 3 == 0 ? static_cast<std::int64_t>(rng() % 2001) - 1000
                         : near - (near > 0 ? 1 : -1) * static_cast<std::int64_t>(rng() % 1000);
    }
    int128 want = 0;
    for (std::int64_t v : values) want += v;
    SCOPED_TRACE(n);
    // One value at a time, as events (the high word from event_state_value's sign extension).
    std::uint64_t acc[3] = {0, 0, 0};
    for (std::int64_t v : values) {
      const auto w = static_cast<std::uint64_t>(v);
      const std::uint64_t in[3] = {1, w, detail::wide_high_of(w)};
      detail::combine_states(
          spec, [&](int s) -> std::uint64_t& { return acc[s]; }, [&](int s) { return in[s]; });
    }
    EXPECT_EQ(acc[0], n);
    EXPECT_TRUE(as_int128(acc[1], acc[2]) == want);
    // Partial states of random runs merged in a shuffled order.
    std::vector<std::array<std::uint64_t, 3>> parts;
    for (std::size_t i = 0; i < n;) {
      const std::size_t len = 1 + rng() % 7;
      std::array<std::uint64_t, 3> part{0, 0, 0};
      for (std::size_t j = i; j < std::min(n, i + len); ++j) {
        ++part[0];
        detail::wide_add(part[1], part[2], static_cast<std::uint64_t>(values[j]),
                         detail::wide_high_of(static_cast<std::uint64_t>(values[j])));
      }
      parts.push_back(part);
      i += len;
    }
    std::shuffle(parts.begin(), parts.end(), rng);
    std::uint64_t merged[3] = {0, 0, 0};
    for (const auto& part : parts)
      detail::combine_states(
          spec, [&](int s) -> std::uint64_t& { return merged[s]; },
          [&](int s) { return part[static_cast<std::size_t>(s)]; });
    EXPECT_EQ(merged[0], n);
    EXPECT_TRUE(as_int128(merged[1], merged[2]) == want);
    // Every thread at once into one state.
    std::uint64_t shared[3] = {0, 0, 0};
#pragma omp parallel for num_threads(threads)
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i) {
      const auto w = static_cast<std::uint64_t>(values[static_cast<std::size_t>(i)]);
      const std::uint64_t in[3] = {1, w, detail::wide_high_of(w)};
      detail::atomic_combine_states(
          spec, [&](int s) { return &shared[s]; }, [&](int s) { return in[s]; });
    }
    EXPECT_EQ(shared[0], n);
    EXPECT_TRUE(as_int128(shared[1], shared[2]) == want);
    // The result is the low word when the sum fits in i64, an overflow otherwise.
    const bool fits = want >= std::numeric_limits<std::int64_t>::min() &&
                      want <= std::numeric_limits<std::int64_t>::max();
    EXPECT_EQ(detail::aggregate_overflows(AggKind::sum, false, merged + 1, 1), !fits);
    if (fits) {
      EXPECT_EQ(static_cast<std::int64_t>(finalize_aggregate(AggKind::sum, merged + 1, 1)),
                static_cast<std::int64_t>(want));
    }
  }
  // Exactly at the limits.
  for (const int128 want : {int128{std::numeric_limits<std::int64_t>::max()},
                            int128{std::numeric_limits<std::int64_t>::min()},
                            int128{std::numeric_limits<std::int64_t>::max()} + 1,
                            int128{std::numeric_limits<std::int64_t>::min()} - 1}) {
    const auto lo = static_cast<std::uint64_t>(want);
    const auto hi = static_cast<std::uint64_t>(static_cast<unsigned __int128>(want) >> 64);
    const std::uint64_t state[2] = {lo, hi};
    const bool fits = want >= std::numeric_limits<std::int64_t>::min() &&
                      want <= std::numeric_limits<std::int64_t>::max();
    EXPECT_EQ(detail::aggregate_overflows(AggKind::sum, false, state, 1), !fits);
    EXPECT_FALSE(detail::aggregate_overflows(AggKind::sum, true, state, 1)) << "float sums";
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
    ASSERT_EQ(sum.states, f ? 1 : detail::kWideWords);
    EXPECT_EQ(sum.ops[0], f ? StateOp::sum_f64 : StateOp::wide_sum_low);
    EXPECT_TRUE(sum.has_input[0]);
    if (!f) {
      EXPECT_EQ(sum.ops[1], StateOp::wide_sum_high);
      EXPECT_TRUE(sum.has_input[1]);  // the same input, sign-extended
    }
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
    for (AggKind kind : {AggKind::first, AggKind::last}) {
      const auto pair = aggregate_shape(kind, f);
      ASSERT_EQ(pair.states, detail::kPairWords);
      EXPECT_EQ(pair.ops[0], kind == AggKind::first ? StateOp::first_time : StateOp::last_time);
      EXPECT_EQ(pair.ops[1], StateOp::pair_value);
      EXPECT_EQ(pair.ops[2], StateOp::pair_lock);
      EXPECT_TRUE(pair.time_input[0]);
      EXPECT_TRUE(pair.has_input[1]);
      EXPECT_FALSE(pair.has_input[2]);
      EXPECT_EQ(pair.float_result, f);
    }
  }
}

TEST(Catalogue, FinalizeReadsTheStatesOfItsAggregate) {
  // Two rows of states, column-major with stride 2: [sum row0, sum row1, count row0, count row1].
  const std::uint64_t states[] = {dbits(10.0), dbits(9.0), 4, 3};
  EXPECT_EQ(bitsd(finalize_aggregate(AggKind::avg, states, 2)), 2.5);
  EXPECT_EQ(bitsd(finalize_aggregate(AggKind::avg, states + 1, 2)), 3.0);
  EXPECT_EQ(finalize_aggregate(AggKind::count, states + 2, 2), 4u);
  EXPECT_EQ(finalize_aggregate(AggKind::sum, states, 2), dbits(10.0));
  // first/last: [time row0, time row1, value row0, value row1, lock row0, lock row1].
  const std::uint64_t pair[] = {7, 9, dbits(1.25), 42, 0, 0};
  EXPECT_EQ(bitsd(finalize_aggregate(AggKind::last, pair, 2)), 1.25);
  EXPECT_EQ(finalize_aggregate(AggKind::first, pair + 1, 2), 42u);
}

}  // namespace
}  // namespace sluice::test
