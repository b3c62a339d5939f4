// Histogram::quantile.
#include "sluice/histogram.hpp"

#include <algorithm>
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

}  // namespace sluice
