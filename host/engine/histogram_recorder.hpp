// HistogramRecorder: a duration histogram that threads add to concurrently without a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "sluice/histogram.hpp"

namespace sluice::detail {

/// @brief Buckets of 1, 2.5 and 5 times each power of ten from 1 microsecond to 1000 seconds,
/// atomic counters each: observe() is a search over 28 bounds and two relaxed additions (the
/// count is the buckets' sum).
class HistogramRecorder {
 public:
  static constexpr std::size_t kBounds = 28;
  /// @brief The bucket bounds, in seconds, ascending.
  static const std::array<double, kBounds>& bounds();

  /// @brief Counts `weight` observations of `seconds` (negative ones count as 0).
  void observe(double seconds, std::uint64_t weight = 1);
  Histogram snapshot() const;
  /// @brief The counters as words: the buckets, then the sum in nanoseconds (so that ranks can
  /// add theirs up word by word); from_words() reads them back.
  static constexpr std::size_t kWords = kBounds + 2;
  void to_words(std::uint64_t* words) const;
  static Histogram from_words(const std::uint64_t* words);

 private:
  std::array<std::atomic<std::uint64_t>, kBounds + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace sluice::detail
