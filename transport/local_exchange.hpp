// LocalExchange: the Exchange among ranks that are threads of one process.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "transport/exchange.hpp"

namespace sluice::detail {

/// @brief Exchange for workers running as threads in one process: buffers are handed over
/// through shared memory (moved, not copied) and each collective is a generation barrier.
class LocalExchange final : public Exchange {
 public:
  explicit LocalExchange(int ranks);
  int size() const override { return ranks_; }
  std::vector<std::uint64_t> all_to_all(int rank,
                                        std::vector<std::vector<std::uint64_t>>& send) override;
  std::int64_t all_reduce_min(int rank, std::int64_t value) override;
  void barrier(int rank) override;
  void abort(int rank, const std::string& why) override;

 private:
  /// Blocks until all ranks arrived at this generation; throws if aborted.
  void arrive_and_wait(std::unique_lock<std::mutex>& lock);
  void throw_if_aborted() const;

  const int ranks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
  std::vector<std::vector<std::vector<std::uint64_t>>> mailbox_;  // [from][to]
  std::int64_t min_ = INT64_MAX;
  std::int64_t min_result_ = INT64_MAX;
  std::optional<std::string> aborted_;
};

}  // namespace sluice::detail
