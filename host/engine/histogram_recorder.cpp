// HistogramRecorder and Histogram::quantile.
#include "host/engine/histogram_recorder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {

double Histogram::quantile(double q) const {
  if (count == 0) return std::numeric_limits<double>::quiet_NaN();
  const double rank = q * static_cast<double>(count);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double lower = i == 0 ? 0.0 : upper_bounds[i - 1];
    if (i == upper_bounds.size()) return lower;  // the unbounded bucket
    if (static_cast<double>(below + counts[i]) >= rank) {
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
      return lower + std::clamp(within, 0.0, 1.0) * (upper_bounds[i] - lower);
    }
    below += counts[i];
  }
  return upper_bounds.empty() ? 0.0 : upper_bounds.back();
}

namespace detail {

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
  count_.fetch_add(weight, std::memory_order_relaxed);
  const double ns = std::min(seconds * 1e9, 1e18);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns) * weight, std::memory_order_relaxed);
}

void HistogramRecorder::to_words(std::uint64_t* words) const {
  for (std::size_t i = 0; i <= kBounds; ++i) words[i] = counts_[i].load(std::memory_order_relaxed);
  words[kBounds + 1] = count_.load(std::memory_order_relaxed);
  words[kBounds + 2] = sum_ns_.load(std::memory_order_relaxed);
}

Histogram HistogramRecorder::from_words(const std::uint64_t* words) {
  Histogram h;
  h.upper_bounds.assign(bounds().begin(), bounds().end());
  h.counts.assign(words, words + kBounds + 1);
  // The buckets are read one by one while others add: the count is their sum, so that the
  // snapshot is consistent in itself.
  h.count = 0;
  for (const std::uint64_t c : h.counts) h.count += c;
  h.sum = static_cast<double>(words[kBounds + 2]) * 1e-9;
  return h;
}

Histogram HistogramRecorder::snapshot() const {
  std::uint64_t words[kWords];
  to_words(words);
  return from_words(words);
}

}  // namespace detail
}  // namespace sluice
