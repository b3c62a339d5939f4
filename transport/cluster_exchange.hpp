// ClusterExchange: the Exchange among the workers of several processes (two levels: threads
// within a rank, a RankTransport between ranks).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "transport/exchange.hpp"
#include "transport/rank_transport.hpp"

namespace sluice::detail {

/// @brief Exchange among `ranks->size() * local_workers` members: member m is worker
/// m % local_workers of rank m / local_workers, and this process runs the members of its rank.
/// Each collective gathers the rank's workers (a generation barrier); the last to arrive
/// trades for all of them with the other ranks in one message per rank (every part from this
/// rank's workers to that rank's, and what `translator` needs to read them), while parts between
/// workers of this rank are read in place, as LocalExchange does. Outboxes must be in host
/// memory. Received rows stay valid until the member's next all_to_all.
class ClusterExchange final : public Exchange {
 public:
  ClusterExchange(std::shared_ptr<RankTransport> ranks, int local_workers);
  int size() const override { return members_; }
  int rank_of(int member) const noexcept { return member / local_; }
  void all_to_all(int member, std::span<const PartDescriptor> parts, OutboxView outbox,
                  std::vector<ReceivedPart>& received, RowTranslator* translator) override;
  std::int64_t all_reduce_min(int member, std::int64_t value) override;
  void barrier(int member) override;
  /// @brief Marks the exchange failed here and tells every other rank.
  void abort(int member, const std::string& why) override;
  std::uint64_t bytes_sent() const override { return bytes_sent_; }

 private:
  struct Posted {
    std::span<const PartDescriptor> parts;
    OutboxView outbox;
    std::int64_t value = 0;
  };
  /// Posts this member's arrival; the last local arrival runs `lead` (under the lock) for all.
  template <class Lead>
  void gather(int member, const Posted& posted, Lead lead);
  void trade(RowTranslator* translator);
  int local_of(int member) const;
  void throw_if_aborted() const;

  std::shared_ptr<RankTransport> ranks_;
  const int local_;
  const int rank_;
  const int members_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
  std::vector<Posted> posted_;                      // per local worker
  std::vector<std::vector<ReceivedPart>> results_;  // per local worker, of the last all_to_all
  std::int64_t min_result_ = 0;
  std::optional<std::string> aborted_;
  std::atomic<std::uint64_t> bytes_sent_{0};
  // Scratch of trade(), reused.
  std::vector<std::uint64_t> rows_;
  std::vector<std::byte> description_;
  std::vector<std::byte> send_;
  std::vector<std::size_t> send_offsets_;
  std::vector<std::byte> received_;
  std::vector<std::size_t> received_offsets_;
};

}  // namespace sluice::detail
