// ThreadRanks: generation barriers over a mutex and condition variable, naming late ranks.
#include "transport/thread_ranks.hpp"

#include <algorithm>
#include <cstring>

#include "sluice/status.hpp"

namespace sluice::detail {

ThreadRankGroup::ThreadRankGroup(int size, std::chrono::milliseconds timeout)
    : size_(size),
      timeout_(timeout),
      arrived_(static_cast<std::size_t>(size), 0),
      posted_(static_cast<std::size_t>(size)) {
  if (size < 1) throw Error(ErrorCode::invalid_argument, "a rank group needs at least one rank");
}

void ThreadRankGroup::fail_waiting(int rank) {
  std::string missing;
  for (int r = 0; r < size_; ++r)
    if (!arrived_[static_cast<std::size_t>(r)])
      missing += (missing.empty() ? "" : ", ") + std::to_string(r);
  failed_ = "rank " + missing + " did not answer within " + std::to_string(timeout_.count()) +
            " ms (rank " + std::to_string(rank) + " waited)";
  cv_.notify_all();
  throw Error(ErrorCode::peer_failure, *failed_);
}

void ThreadRankGroup::arrive(int rank, const Posted* posted, std::unique_lock<std::mutex>& lock) {
  if (failed_) throw Error(ErrorCode::peer_failure, *failed_);
  const std::uint64_t generation = generation_;
  if (posted != nullptr) posted_[static_cast<std::size_t>(rank)] = *posted;
  arrived_[static_cast<std::size_t>(rank)] = 1;
  if (++arrived_count_ == size_) {
    arrived_count_ = 0;
    std::fill(arrived_.begin(), arrived_.end(), 0);
    ++generation_;
    cv_.notify_all();
    return;
  }
  const auto done = [&] { return generation_ != generation || failed_.has_value(); };
  if (timeout_.count() == 0)
    cv_.wait(lock, done);
  else if (!cv_.wait_for(lock, timeout_, done))
    fail_waiting(rank);
  // A failure, even one after this generation completed, ends the collective here: the rank
  // that failed may already have freed the buffers it posted, so none of them is read.
  if (failed_) throw Error(ErrorCode::peer_failure, *failed_);
}

ThreadRanks::ThreadRanks(std::shared_ptr<ThreadRankGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {
  if (rank < 0 || rank >= group_->size())
    throw Error(
        ErrorCode::invalid_argument,
        "rank " + std::to_string(rank) + " outside a group of " + std::to_string(group_->size()));
}

void ThreadRanks::all_to_all(std::span<const std::byte> send, std::span<const std::size_t> offsets,
                             std::vector<std::byte>& received,
                             std::vector<std::size_t>& received_offsets) {
  const auto n = static_cast<std::size_t>(group_->size());
  if (offsets.size() != n + 1)
    throw Error(ErrorCode::internal, "all_to_all: offsets for " + std::to_string(offsets.size()) +
                                         " ranks, group of " + std::to_string(n));
  std::unique_lock lock(group_->mutex_);
  const ThreadRankGroup::Posted posted{send.data(), offsets.data(), 0, nullptr};
  group_->arrive(rank_, &posted, lock);
  // Every rank has posted: copy what each sent here.
  const auto me = static_cast<std::size_t>(rank_);
  received_offsets.assign(n + 1, 0);
  for (std::size_t p = 0; p < n; ++p) {
    const auto& theirs = group_->posted_[p];
    const std::size_t bytes = p == me ? 0 : theirs.offsets[me + 1] - theirs.offsets[me];
    received_offsets[p + 1] = received_offsets[p] + bytes;
  }
  received.resize(received_offsets[n]);
  for (std::size_t p = 0; p < n; ++p) {
    if (p == me) continue;
    const auto& theirs = group_->posted_[p];
    if (received_offsets[p + 1] > received_offsets[p])
      std::memcpy(received.data() + received_offsets[p], theirs.data + theirs.offsets[me],
                  received_offsets[p + 1] - received_offsets[p]);
  }
  // A second barrier: no rank may post again (and free what it sent) while another still reads.
  group_->arrive(rank_, nullptr, lock);
}

std::int64_t ThreadRanks::all_reduce_min(std::int64_t value) {
  std::unique_lock lock(group_->mutex_);
  const ThreadRankGroup::Posted posted{nullptr, nullptr, value, nullptr};
  group_->arrive(rank_, &posted, lock);
  std::int64_t m = INT64_MAX;
  for (const auto& p : group_->posted_) m = std::min(m, p.min);
  group_->arrive(rank_, nullptr, lock);
  return m;
}

void ThreadRanks::all_reduce_sum(std::span<std::uint64_t> values) {
  std::vector<std::uint64_t> mine(values.begin(), values.end());
  std::unique_lock lock(group_->mutex_);
  const ThreadRankGroup::Posted posted{nullptr, nullptr, 0, mine.data()};
  group_->arrive(rank_, &posted, lock);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint64_t s = 0;
    for (const auto& p : group_->posted_) s += p.sums[i];
    values[i] = s;
  }
  group_->arrive(rank_, nullptr, lock);
}

void ThreadRanks::check_peers() {
  std::lock_guard lock(group_->mutex_);
  if (group_->failed_) throw Error(ErrorCode::peer_failure, *group_->failed_);
}

std::shared_ptr<RankTransport> ThreadRanks::duplicate() {
  std::shared_ptr<ThreadRankGroup> child;
  {
    std::lock_guard lock(group_->mutex_);
    if (group_->failed_) throw Error(ErrorCode::peer_failure, *group_->failed_);
    auto& children = group_->children_;
    if (children.size() <= duplicates_)
      children.push_back(std::make_shared<ThreadRankGroup>(group_->size_, group_->timeout_));
    child = children[duplicates_++];
  }
  return std::make_shared<ThreadRanks>(std::move(child), rank_);
}

void ThreadRanks::abort(const std::string& why) noexcept {
  try {
    std::lock_guard lock(group_->mutex_);
    if (!group_->failed_) group_->failed_ = "rank " + std::to_string(rank_) + " failed: " + why;
    group_->cv_.notify_all();
  } catch (...) {  // out of memory while naming the failure: the group stays as it was
  }
}

}  // namespace sluice::detail
