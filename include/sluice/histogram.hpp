// Histogram: a snapshot of a distribution of durations in fixed buckets.
#pragma once

#include <cstdint>
#include <vector>

namespace sluice {

/// @brief Counts of observed durations (seconds) in buckets with fixed upper bounds, as a
/// Prometheus histogram holds them. Bucket i counts values v with upper_bounds[i-1] < v <=
/// upper_bounds[i]; the last bucket (counts.back()) those above every bound.
struct Histogram {
  std::vector<double> upper_bounds;   ///< ascending
  std::vector<std::uint64_t> counts;  ///< upper_bounds.size() + 1 buckets, not cumulative
  std::uint64_t count = 0;            ///< the sum of counts
  double sum = 0;                     ///< of the observed values

  /// @brief An estimate of the q-quantile, interpolated linearly within its bucket (the first
  /// bucket from 0; the last, unbounded, one answers its lower bound). NaN when empty.
  /// @pre 0 <= q <= 1.
  double quantile(double q) const;
};

}  // namespace sluice
