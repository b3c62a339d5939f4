// NcclExchange: the Exchange among ranks of one GPU worker each, device rows through NCCL.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transport/cluster_exchange.hpp"
#include "transport/exchange.hpp"
#include "transport/rank_transport.hpp"

namespace sluice::detail {

/// @brief Exchange among the ranks of `ranks`, one GPU worker each (member = rank). Rows in
/// device memory (packed partials) go through NCCL: the row counts first over `ranks`, then
/// one group of ncclSend/ncclRecv per peer into a device buffer of the exchange's own stream;
/// the watermark is an ncclAllReduce with ncclMin. Rows in host memory (event times, fired
/// windows) and the barrier go over `ranks` (a ClusterExchange of one worker per rank). The
/// communicator is non-blocking, bootstrapped with an ncclUniqueId that rank 0 sends over
/// `ranks`; every wait polls ncclCommGetAsyncError and the peers' aborts, and ends a wait
/// longer than `timeout` (or a peer's failure) with ncclCommAbort and an error naming the
/// operation. Collective constructor.
class NcclExchange final : public Exchange {
 public:
  NcclExchange(std::shared_ptr<RankTransport> ranks, int device, std::chrono::milliseconds timeout);
  ~NcclExchange() override;
  int size() const override { return ranks_->size(); }
  void all_to_all(int member, std::span<const PartDescriptor> parts, OutboxView outbox,
                  std::vector<ReceivedPart>& received, RowTranslator* translator) override;
  std::int64_t all_reduce_min(int member, std::int64_t value) override;
  void barrier(int member) override;
  void abort(int member, const std::string& why) override;
  std::uint64_t bytes_sent() const override;

 private:
  struct Device;  // NCCL and CUDA state
  std::shared_ptr<RankTransport> ranks_;
  ClusterExchange host_;
  std::unique_ptr<Device> device_;
  std::chrono::milliseconds timeout_;
  std::uint64_t rounds_ = 0;
  std::atomic<std::uint64_t> device_bytes_{0};
  // Scratch, reused.
  std::vector<std::byte> counts_out_;
  std::vector<std::size_t> counts_offsets_;
  std::vector<std::byte> counts_in_;
  std::vector<std::size_t> counts_in_offsets_;
};

}  // namespace sluice::detail
