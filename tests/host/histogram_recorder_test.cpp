// HistogramRecorder and Histogram::quantile against counts taken by brute force.
#include "host/engine/histogram_recorder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace sluice::detail {
namespace {

TEST(HistogramRecorder, BoundsAreOneTwoAndAHalfFivePerDecade) {
  const auto& b = HistogramRecorder::bounds();
  EXPECT_DOUBLE_EQ(b.front(), 1e-6);
  EXPECT_DOUBLE_EQ(b[1], 2.5e-6);
  EXPECT_DOUBLE_EQ(b[2], 5e-6);
  EXPECT_DOUBLE_EQ(b[3], 1e-5);
  EXPECT_DOUBLE_EQ(b.back(), 1000.0);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_EQ(std::adjacent_find(b.begin(), b.end()), b.end());
}

TEST(HistogramRecorder, EmptyHasZeroCountsAndNoQuantile) {
  const Histogram h = HistogramRecorder().snapshot();
  EXPECT_EQ(h.count, 0u);
  EXPECT_EQ(h.counts.size(), h.upper_bounds.size() + 1);
  for (const std::uint64_t c : h.counts) EXPECT_EQ(c, 0u);
  EXPECT_TRUE(std::isnan(h.quantile(0.5)));
}

TEST(HistogramRecorder, BucketsMatchBruteForceOnRandomValues) {
  for (const std::size_t n : {1u, 2u, 100u, 4097u}) {
    std::mt19937_64 rng(n);
    std::lognormal_distribution<double> seconds(std::log(1e-3), 4.0);  // spans every bucket
    HistogramRecorder recorder;
    std::vector<double> values;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = seconds(rng);
      const std::uint64_t weight = 1 + rng() % 3;
      recorder.observe(v, weight);
      for (std::uint64_t w = 0; w < weight; ++w) values.push_back(v);
      sum += v * static_cast<double>(weight);
    }
    const Histogram h = recorder.snapshot();
    ASSERT_EQ(h.count, values.size());
    const auto& b = HistogramRecorder::bounds();
    for (std::size_t i = 0; i <= b.size(); ++i) {
      const double lo = i == 0 ? -1.0 : b[i - 1];
      const double hi = i == b.size() ? INFINITY : b[i];
      const auto expected = static_cast<std::uint64_t>(
          std::count_if(values.begin(), values.end(), [&](double v) { return v > lo && v <= hi; }));
      EXPECT_EQ(h.counts[i], expected) << "bucket " << i << ", n " << n;
    }
    // The sum is kept in whole nanoseconds per observation.
    EXPECT_NEAR(h.sum, sum, 1e-9 * static_cast<double>(values.size()) + 1e-9 * sum);
  }
}

TEST(HistogramRecorder, ValuesOnABoundCountInIt) {
  HistogramRecorder r;
  r.observe(1e-3);    // le="0.001"
  r.observe(0.0);     // the first bucket
  r.observe(-5.0);    // as 0
  r.observe(NAN);     // as 0
  r.observe(1e9);     // beyond every bound
  r.observe(2.0, 0);  // no weight: nothing
  const Histogram h = r.snapshot();
  const auto& b = HistogramRecorder::bounds();
  const auto at = static_cast<std::size_t>(std::find(b.begin(), b.end(), 1e-3) - b.begin());
  ASSERT_LT(at, b.size());
  EXPECT_EQ(h.counts[at], 1u);
  EXPECT_EQ(h.counts[0], 3u);
  EXPECT_EQ(h.counts.back(), 1u);
  EXPECT_EQ(h.count, 5u);
}

TEST(HistogramRecorder, ConcurrentObserversLoseNothing) {
  HistogramRecorder r;
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&r, t] {
      for (int i = 0; i < kEach; ++i) r.observe(1e-6 * (t + 1) * (i % 7 + 1));
    });
  for (std::thread& t : threads) t.join();
  const Histogram h = r.snapshot();
  EXPECT_EQ(h.count, std::uint64_t{kThreads} * kEach);
  // Every addition to the sum arrived too (each observation is a whole number of ns, +-1).
  double want = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) want += 1e-6 * (t + 1) * (i % 7 + 1);
  EXPECT_NEAR(h.sum, want, 1e-9 * kThreads * kEach);
}

TEST(HistogramRecorder, WordsRoundTripAndAddUp) {
  HistogramRecorder a, b;
  a.observe(0.003, 2);
  b.observe(0.003);
  b.observe(40.0);
  std::uint64_t wa[HistogramRecorder::kWords], wb[HistogramRecorder::kWords];
  a.to_words(wa);
  b.to_words(wb);
  for (std::size_t i = 0; i < HistogramRecorder::kWords; ++i) wa[i] += wb[i];
  const Histogram sum = HistogramRecorder::from_words(wa);
  EXPECT_EQ(sum.count, 4u);
  EXPECT_NEAR(sum.sum, 0.009 + 40.0, 1e-8);
  const Histogram back = HistogramRecorder::from_words(wb);
  EXPECT_EQ(back.counts, b.snapshot().counts);
}

TEST(Histogram, QuantileLiesInTheBucketOfTheSortedReference) {
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> seconds(50.0);  // mean 20 ms
  HistogramRecorder r;
  std::vector<double> values(10000);
  for (double& v : values) {
    v = seconds(rng);
    r.observe(v);
  }
  std::sort(values.begin(), values.end());
  const Histogram h = r.snapshot();
  const auto& b = HistogramRecorder::bounds();
  for (const double q : {0.0, 0.1, 0.5, 0.9, 0.99, 1.0}) {
    const double exact =
        values[std::min(values.size() - 1, static_cast<std::size_t>(q * values.size()))];
    // The estimate lies within the bucket that holds the exact quantile.
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), exact) - b.begin());
    const double lo = bucket == 0 ? 0.0 : b[bucket - 1];
    const double hi = bucket == b.size() ? INFINITY : b[bucket];
    const double estimate = h.quantile(q);
    EXPECT_GE(estimate, lo * (1 - 1e-12)) << "q " << q;
    EXPECT_LE(estimate, hi * (1 + 1e-12)) << "q " << q;
  }
  EXPECT_LE(h.quantile(0.5), h.quantile(0.99));
}

TEST(Histogram, QuantileOfTheUnboundedBucketIsItsLowerBound) {
  HistogramRecorder r;
  r.observe(5000.0);
  EXPECT_DOUBLE_EQ(r.snapshot().quantile(0.5), HistogramRecorder::bounds().back());
}

}  // namespace
}  // namespace sluice::detail
