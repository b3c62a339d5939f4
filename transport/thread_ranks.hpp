// ThreadRanks: a RankTransport among ranks that are threads of one process (tests, embedding).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "transport/rank_transport.hpp"

namespace sluice::detail {

/// @brief The shared meeting point of `size` ThreadRanks: each collective is a generation
/// barrier; a rank that does not arrive within `timeout` (zero: wait for ever) is named in the
/// error of those waiting for it.
class ThreadRankGroup {
 public:
  ThreadRankGroup(int size, std::chrono::milliseconds timeout);
  int size() const noexcept { return size_; }
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

 private:
  friend class ThreadRanks;
  struct Posted {
    const std::byte* data = nullptr;
    const std::size_t* offsets = nullptr;
    std::int64_t min = 0;
    const std::uint64_t* sums = nullptr;
  };
  /// Marks `rank` arrived (with `posted`, unless null); waits until every rank has arrived at this
  /// generation. Throws Error(peer_failure) once the group has failed, also when the generation
  /// completed before (the failed rank's posted buffers may be gone).
  void arrive(int rank, const Posted* posted, std::unique_lock<std::mutex>& lock);
  [[noreturn]] void fail_waiting(int rank);

  const int size_;
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t generation_ = 0;
  int arrived_count_ = 0;
  std::vector<char> arrived_;  // per rank, this generation
  std::vector<Posted> posted_;
  std::optional<std::string> failed_;  // "rank 2 failed: ..."
  // Groups made by duplicate(): the k-th call of every rank gets children_[k].
  std::vector<std::shared_ptr<ThreadRankGroup>> children_;
};

/// @brief One rank's side of a ThreadRankGroup.
class ThreadRanks final : public RankTransport {
 public:
  ThreadRanks(std::shared_ptr<ThreadRankGroup> group, int rank);
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  const char* name() const override { return "in-process"; }
  std::chrono::milliseconds peer_timeout() const override { return group_->timeout(); }
  void all_to_all(std::span<const std::byte> send, std::span<const std::size_t> offsets,
                  std::vector<std::byte>& received,
                  std::vector<std::size_t>& received_offsets) override;
  std::int64_t all_reduce_min(std::int64_t value) override;
  void all_reduce_sum(std::span<std::uint64_t> values) override;
  void abort(const std::string& why) noexcept override;
  std::shared_ptr<RankTransport> duplicate() override;
  void check_peers() override;

 private:
  std::shared_ptr<ThreadRankGroup> group_;
  int rank_;
  std::size_t duplicates_ = 0;
};

}  // namespace sluice::detail
