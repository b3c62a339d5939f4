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

/// @brief Exchange for workers running as threads in one process: each rank posts the
/// descriptions of its parts and its outbox, and the receivers copy the rows straight from the
/// senders' outboxes (host memory, or device memory peer to peer); each collective is a
/// generation barrier.
class LocalExchange final : public Exchange {
 public:
  explicit LocalExchange(int ranks);
  int size() const override { return ranks_; }
  /// Rows never leave the process: `translator` is not used.
  void all_to_all(int rank, std::span<const PartDescriptor> parts, OutboxView outbox,
                  std::vector<ReceivedPart>& received, RowTranslator* translator) override;
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
  struct Posted {
    std::vector<PartDescriptor> parts;  // per destination
    OutboxView outbox;
  };
  std::vector<Posted> posted_;  // per rank
  std::int64_t min_ = INT64_MAX;
  std::int64_t min_result_ = INT64_MAX;
  std::optional<std::string> aborted_;
};

}  // namespace sluice::detail
