// LocalExchange: generation barriers over a mutex and condition variable.
#include "transport/local_exchange.hpp"

#include "sluice/status.hpp"

namespace sluice::detail {

LocalExchange::LocalExchange(int ranks) : ranks_(ranks), posted_(static_cast<std::size_t>(ranks)) {
  if (ranks < 1) throw Error(ErrorCode::invalid_argument, "an exchange needs at least one rank");
}

void LocalExchange::throw_if_aborted() const {
  if (aborted_) throw Error(ErrorCode::internal, "exchange aborted: " + *aborted_);
}

void LocalExchange::arrive_and_wait(std::unique_lock<std::mutex>& lock) {
  throw_if_aborted();
  const std::uint64_t gen = generation_;
  if (++arrived_ == ranks_) {
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
    return;
  }
  cv_.wait(lock, [&] { return generation_ != gen || aborted_.has_value(); });
  if (generation_ == gen) throw_if_aborted();
}

void LocalExchange::all_to_all(int rank, std::span<const PartDescriptor> parts, OutboxView outbox,
                               std::vector<ReceivedPart>& received, RowTranslator* /*translator*/) {
  if (static_cast<int>(parts.size()) != ranks_)
    throw Error(ErrorCode::internal, "all_to_all: rank " + std::to_string(rank) + " sent " +
                                         std::to_string(parts.size()) + " parts for " +
                                         std::to_string(ranks_) + " ranks");
  std::unique_lock lock(mutex_);
  Posted& mine = posted_[static_cast<std::size_t>(rank)];
  mine.parts.assign(parts.begin(), parts.end());
  mine.outbox = outbox;
  arrive_and_wait(lock);  // every rank has posted
  received.clear();
  for (int from = 0; from < ranks_; ++from) {
    const Posted& theirs = posted_[static_cast<std::size_t>(from)];
    const PartDescriptor& part = theirs.parts[static_cast<std::size_t>(rank)];
    if (part.rows > 0) received.push_back({from, part, theirs.outbox});
  }
  arrive_and_wait(lock);  // every rank has read the descriptions: they may be posted again
}

std::int64_t LocalExchange::all_reduce_min(int /*rank*/, std::int64_t value) {
  std::unique_lock lock(mutex_);
  if (value < min_) min_ = value;
  if (arrived_ + 1 == ranks_) {
    min_result_ = min_;
    min_ = INT64_MAX;
  }
  arrive_and_wait(lock);
  return min_result_;
}

void LocalExchange::barrier(int /*rank*/) {
  std::unique_lock lock(mutex_);
  arrive_and_wait(lock);
}

void LocalExchange::abort(int rank, const std::string& why) {
  std::lock_guard lock(mutex_);
  if (!aborted_) aborted_ = "rank " + std::to_string(rank) + " failed: " + why;
  cv_.notify_all();
}

}  // namespace sluice::detail
