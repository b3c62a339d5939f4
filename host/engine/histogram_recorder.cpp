// HistogramRecorder: bucket bounds, observation, snapshots.
#include "host/engine/histogram_recorder.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::detail {

const std::array<double, HistogramRecorder::kBounds>& HistogramRecorder::bounds() {
  static const std::array<double, kBounds> b = [] {
    std::array<double, kBounds> out{};
    std::size_t i = 0;
    for (int exponent = -6; i < kBounds; ++exponent)
      for (const double mantissa : {1.0, 2.5, 5.0})
        if (i < kBounds) out[i++] = mantissa * std::pow(10.0, exponent);
    return out;
  }();
  return b;
}

void HistogramRecorder::observe(double seconds, std::uint64_t weight) {
  if (weight == 0) return;
  if (!(seconds > 0)) seconds = 0;  // also NaN
  const auto& b = bounds();
  const auto bucket =
      static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
  counts_[bucket].fetch_add(weight, std::memory_order_relaxed);
  const double ns = std::min(seconds * 1e9, 1e18);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns) * weight, std::memory_order_relaxed);
}

void HistogramRecorder::to_words(std::uint64_t* words) const {
  for (std::size_t i = 0; i <= kBounds; ++i) words[i] = counts_[i].load(std::memory_order_relaxed);
  words[kBounds + 1] = sum_ns_.load(std::memory_order_relaxed);
}

Histogram HistogramRecorder::from_words(const std::uint64_t* words) {
  Histogram h;
  h.upper_bounds.assign(bounds().begin(), bounds().end());
  h.counts.assign(words, words + kBounds + 1);
  // The buckets are read one by one while others add: the count is their sum, so that the
  // snapshot is consistent in itself.
  h.count = 0;
  for (const std::uint64_t c : h.counts) h.count += c;
  h.sum = static_cast<double>(words[kBounds + 1]) * 1e-9;
  return h;
}

Histogram HistogramRecorder::snapshot() const {
  std::uint64_t words[kWords];
  to_words(words);
  return from_words(words);
}

}  // namespace sluice::detail
