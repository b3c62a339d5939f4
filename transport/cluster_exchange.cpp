// ClusterExchange: local generation barriers, one leader trading with the other ranks.
#include "transport/cluster_exchange.hpp"

#include <algorithm>
#include <cstring>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

// A message to one rank: [row words][local_ * local_ row counts, sender-major][description
// bytes][description, padded to whole words][rows, by sender then receiver].
constexpr std::size_t kWord = sizeof(std::uint64_t);

std::size_t padded(std::size_t bytes) { return (bytes + kWord - 1) / kWord * kWord; }

void put_word(std::vector<std::byte>& out, std::uint64_t w) {
  const std::size_t at = out.size();
  out.resize(at + kWord);
  std::memcpy(out.data() + at, &w, kWord);
}

std::uint64_t get_word(const std::byte* at) {
  std::uint64_t w;
  std::memcpy(&w, at, kWord);
  return w;
}

}  // namespace

ClusterExchange::ClusterExchange(std::shared_ptr<RankTransport> ranks, int local_workers)
    : ranks_(std::move(ranks)),
      local_(local_workers),
      rank_(ranks_->rank()),
      members_(ranks_->size() * local_workers),
      posted_(static_cast<std::size_t>(local_workers)),
      results_(static_cast<std::size_t>(local_workers)) {
  if (local_workers < 1)
    throw Error(ErrorCode::invalid_argument, "an exchange needs at least one worker per rank");
  send_offsets_.reserve(static_cast<std::size_t>(ranks_->size()) + 1);
}

int ClusterExchange::local_of(int member) const {
  if (rank_of(member) != rank_)
    throw Error(ErrorCode::internal, "member " + std::to_string(member) + " is not run by rank " +
                                         std::to_string(rank_));
  return member % local_;
}

void ClusterExchange::throw_if_aborted() const {
  if (aborted_) throw Error(ErrorCode::peer_failure, *aborted_);
}

template <class Lead>
void ClusterExchange::gather(int member, const Posted& posted, Lead lead) {
  const int local = local_of(member);
  std::unique_lock lock(mutex_);
  throw_if_aborted();
  posted_[static_cast<std::size_t>(local)] = posted;
  const std::uint64_t generation = generation_;
  if (++arrived_ == local_) {
    arrived_ = 0;
    try {
      lead();
    } catch (const Error& e) {
      if (!aborted_) aborted_ = e.what();
      cv_.notify_all();
      throw;
    } catch (const std::exception& e) {
      if (!aborted_) aborted_ = std::string("rank ") + std::to_string(rank_) + ": " + e.what();
      cv_.notify_all();
      throw;
    }
    ++generation_;
    cv_.notify_all();
    return;
  }
  cv_.wait(lock, [&] { return generation_ != generation || aborted_.has_value(); });
  if (generation_ == generation) throw_if_aborted();
}

void ClusterExchange::trade(RowTranslator* translator) {
  const int ranks = ranks_->size();
  const auto local = static_cast<std::size_t>(local_);
  const std::uint32_t row_words = posted_[0].outbox.row_words;
  for (const Posted& p : posted_) {
    if (p.parts.size() != static_cast<std::size_t>(members_))
      throw Error(ErrorCode::internal, "all_to_all: " + std::to_string(p.parts.size()) +
                                           " parts for " + std::to_string(members_) + " members");
    if (p.outbox.row_words != row_words)
      throw Error(ErrorCode::internal,
                  "all_to_all: workers of one rank sent rows of different widths");
    if (p.outbox.device >= 0)
      throw Error(ErrorCode::internal,
                  "the exchange between processes reads host memory; a device outbox needs NCCL");
  }
  // One message per other rank.
  send_.clear();
  send_offsets_.assign(1, 0);
  for (int q = 0; q < ranks; ++q) {
    if (q != rank_) {
      rows_.clear();
      put_word(send_, row_words);
      for (std::size_t s = 0; s < local; ++s)
        for (std::size_t d = 0; d < local; ++d) {
          const Posted& from = posted_[s];
          const PartDescriptor& part = from.parts[static_cast<std::size_t>(q) * local + d];
          put_word(send_, part.rows);
          const std::uint64_t* first = from.outbox.data + part.first_row * row_words;
          rows_.insert(rows_.end(), first, first + part.rows * row_words);
        }
      description_.clear();
      if (translator != nullptr && !rows_.empty())
        translator->describe(q, rows_, row_words, description_);
      put_word(send_, description_.size());
      description_.resize(padded(description_.size()));
      send_.insert(send_.end(), description_.begin(), description_.end());
      const std::size_t at = send_.size();
      send_.resize(at + rows_.size() * kWord);
      if (!rows_.empty()) std::memcpy(send_.data() + at, rows_.data(), rows_.size() * kWord);
    }
    send_offsets_.push_back(send_.size());
  }
  ranks_->all_to_all(send_, send_offsets_, received_, received_offsets_);
  bytes_sent_ += send_.size();
  // What each local worker receives, in member order: from other ranks out of the received
  // messages (translated in place), from this rank out of the senders' outboxes.
  for (auto& r : results_) r.clear();
  for (int p = 0; p < ranks; ++p) {
    if (p == rank_) {
      for (std::size_t s = 0; s < local; ++s)
        for (std::size_t d = 0; d < local; ++d) {
          const Posted& from = posted_[s];
          const PartDescriptor& part = from.parts[static_cast<std::size_t>(rank_) * local + d];
          if (part.rows > 0)
            results_[d].push_back({rank_ * local_ + static_cast<int>(s), part, from.outbox});
        }
      continue;
    }
    const std::byte* message = received_.data() + received_offsets_[static_cast<std::size_t>(p)];
    const std::size_t bytes = received_offsets_[static_cast<std::size_t>(p) + 1] -
                              received_offsets_[static_cast<std::size_t>(p)];
    const std::size_t header = (1 + local * local + 1) * kWord;
    const auto malformed = [&](const char* what) {
      return Error(
          ErrorCode::peer_failure,
          "rank " + std::to_string(p) + " sent a malformed exchange message (" + what + ")");
    };
    if (bytes < header) throw malformed("shorter than its header");
    if (get_word(message) != row_words) throw malformed("rows of another width");
    std::uint64_t total_rows = 0;
    for (std::size_t i = 0; i < local * local; ++i)
      total_rows += get_word(message + (1 + i) * kWord);
    const std::uint64_t description_bytes = get_word(message + (1 + local * local) * kWord);
    if (description_bytes > bytes - header ||
        header + padded(description_bytes) + total_rows * row_words * kWord != bytes)
      throw malformed("its sizes do not add up");
    auto* rows = reinterpret_cast<std::uint64_t*>(const_cast<std::byte*>(message) + header +
                                                  padded(description_bytes));
    if (translator != nullptr && total_rows > 0)
      translator->translate(p, std::span<const std::byte>(message + header, description_bytes),
                            std::span<std::uint64_t>(rows, total_rows * row_words), row_words);
    std::uint64_t first = 0;
    for (std::size_t s = 0; s < local; ++s)
      for (std::size_t d = 0; d < local; ++d) {
        const std::uint64_t n = get_word(message + (1 + s * local + d) * kWord);
        if (n > 0)
          results_[d].push_back({p * local_ + static_cast<int>(s), PartDescriptor{first, n},
                                 OutboxView{rows, -1, row_words}});
        first += n;
      }
  }
}

void ClusterExchange::all_to_all(int member, std::span<const PartDescriptor> parts,
                                 OutboxView outbox, std::vector<ReceivedPart>& received,
                                 RowTranslator* translator) {
  gather(member, Posted{parts, outbox, 0}, [&] { trade(translator); });
  std::lock_guard lock(mutex_);
  const auto& mine = results_[static_cast<std::size_t>(local_of(member))];
  received.assign(mine.begin(), mine.end());
}

std::int64_t ClusterExchange::all_reduce_min(int member, std::int64_t value) {
  gather(member, Posted{{}, {}, value}, [&] {
    std::int64_t m = INT64_MAX;
    for (const Posted& p : posted_) m = std::min(m, p.value);
    min_result_ = ranks_->all_reduce_min(m);
  });
  std::lock_guard lock(mutex_);
  return min_result_;
}

void ClusterExchange::barrier(int member) {
  gather(member, Posted{}, [&] { ranks_->all_reduce_min(0); });
}

void ClusterExchange::abort(int /*member*/, const std::string& why) {
  // The transport first: a leader blocked in it (holding the lock) then fails and lets go.
  // `why` names the stage and worker already (Worker::where).
  ranks_->abort(why);
  std::lock_guard lock(mutex_);
  if (!aborted_) aborted_ = "rank " + std::to_string(rank_) + " failed: " + why;
  cv_.notify_all();
}

}  // namespace sluice::detail
