// Exchange: the collective operations workers (ranks) use to trade partials and agree on time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::detail {

/// @brief Collectives among `size()` ranks. Every rank calls each collective in the same order.
/// A rank that fails calls abort(); every rank then blocked in (or later entering) a
/// collective throws Error naming the failed rank, so no rank hangs.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual int size() const = 0;
  /// @brief Sends send[d] to rank d and returns what each rank sent to `rank`, concatenated in
  /// rank order.
  virtual std::vector<std::uint64_t> all_to_all(int rank,
                                                std::vector<std::vector<std::uint64_t>>& send) = 0;
  /// @brief Minimum of `value` over all ranks.
  virtual std::int64_t all_reduce_min(int rank, std::int64_t value) = 0;
  /// @brief Waits for every rank.
  virtual void barrier(int rank) = 0;
  /// @brief Marks the exchange failed by `rank`; wakes every waiting rank.
  virtual void abort(int rank, const std::string& why) = 0;
};

}  // namespace sluice::detail
