// Dispatch: sealed micro-batches get their watermark and worker, and leave in rounds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "host/engine/balancer.hpp"
#include "host/engine/micro_batch.hpp"
#include "host/engine/watermark_tracker.hpp"

namespace sluice::detail {

/// @brief One worker's share of a round: its batches, which batches the whole round holds (the
/// workers agree on the watermark over all of them), and the sources idle when it left.
struct RoundPart {
  std::uint64_t number = 0;
  bool final = false;             ///< the job's last round
  bool drain = true;              ///< with final: fire every window (the final watermark)
  std::uint64_t first_batch = 0;  ///< the round holds batches [first_batch, + round_batches)
  std::size_t round_batches = 0;  ///< of all workers
  std::vector<int> idle_sources;  ///< ascending: they do not hold the watermark back
  bool early_fire = false;        ///< also fire the open windows early (TriggerSpec::every)
  /// > 0: after the fire, the worker lists the string codes its state holds, as bits of that
  /// many words (the job is reclaiming strings).
  std::size_t census_words = 0;
  /// After the fire, the worker emits the round's rows at once and saves its state for a
  /// checkpoint (Worker::saved_state()).
  bool save_state = false;
  std::vector<BatchLease> batches;
  std::size_t rows() const {
    std::size_t n = 0;
    for (const BatchLease& b : batches) n += b->rows;
    return n;
  }
};

/// @brief A worker's queue of round parts: a ring of `capacity` parts whose storage is reused,
/// so a warm queue allocates nothing. One producer (the dispatcher), one consumer (the worker).
class RoundQueue {
 public:
  RoundQueue(std::size_t capacity, std::size_t batches_per_part);
  /// @brief Waits for room, then hands out the next part to fill (push() publishes it).
  /// @return nullptr if `cancelled()` while waiting.
  RoundPart* begin_push(const std::function<bool()>& cancelled);
  void push();
  /// @brief Waits for a part. @return nullptr if `cancelled()` and the queue is empty.
  RoundPart* front(const std::function<bool()>& cancelled);
  /// @brief The i-th part after the front, if queued (for staging ahead); nullptr otherwise.
  RoundPart* peek(std::size_t i);
  /// @brief Drops the front part, returning its batches to their pool.
  void pop();
  bool empty() const;
  void wake();

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<RoundPart> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

/// @brief Turns sealed micro-batches into rounds: each gets its number in the stream and a
/// worker from the Balancer; a round leaves once it holds `workers * round_batches` batches (or
/// on dispatch()),
/// with the sources idle at that moment. The watermark is not computed here: the workers
/// derive it from the event times they measure (see EventClock). Not thread-safe: the job calls
/// it under its ingest lock.
class Dispatcher {
 public:
  using Queues = std::vector<RoundQueue*>;
  using Clock = SourceActivity::Clock;
  /// @param round_batches batches per worker in a round: a round leaves once it holds
  /// workers * round_batches batches.
  Dispatcher(Clock::duration idle_timeout, Balancer balancer, Queues queues,
             std::function<bool()> cancelled, int round_batches = 1);

  /// @brief A push from `source` at `now` (keeps the source active).
  void touch(int source, Clock::time_point now);
  /// @brief Takes a sealed batch; dispatches the round it completes.
  void add(BatchLease batch);
  /// @brief Sends the forming round (also an empty one when `even_if_empty`, or when final).
  void dispatch(bool final, bool even_if_empty = false);
  /// @brief Sends the forming round as the last one: with `drain` it fires every window (the
  /// final watermark), without it only those the watermark has passed (the job stops).
  void dispatch_last(bool drain);
  /// @brief Sends the forming round, even if empty, asking every worker for a census of the
  /// string codes its state holds after it (`words` words of bits).
  void dispatch_census(std::size_t words);
  /// @brief Sends an empty round asking every worker to save its state after it (a checkpoint);
  /// the forming round stays as it is, so rounds are those of a run without checkpoints.
  void dispatch_checkpoint();
  /// @brief Writes the balancer and the batches of the forming round (a checkpoint), which
  /// restore() re-forms, with the same workers, in a resumed job's dispatcher before any push.
  /// `save_lookups` writes what a batch carries of the broadcast state, `restore_lookups` reads
  /// it back into the restored batch.
  void save(WordWriter& out, std::span<const std::size_t> widths,
            const std::function<void(WordWriter&, const MicroBatch&)>& save_lookups) const;
  void restore(WordReader& in, MicroBatchPool& pool,
               const std::function<void(WordReader&, MicroBatch&)>& restore_lookups);
  /// @brief Marks the first round sent `every` after the previous marked one (and the first
  /// round) for an early firing, so that all workers fire at the same round; 0: never.
  void set_early_fire(Clock::duration every) { early_fire_every_ = every; }
  /// @brief Re-evaluates idleness at `now`; true when the idle sources differ from those the
  /// last round carried (an empty round then lets the watermark move past an idle source).
  bool refresh(Clock::time_point now);
  std::uint64_t rounds() const noexcept { return next_round_; }
  /// @brief When the last round left (the dispatcher's creation before the first).
  Clock::time_point last_dispatch() const noexcept { return last_dispatch_; }
  std::uint64_t batches() const noexcept { return next_id_ - 1; }

 private:
  SourceActivity activity_;
  Balancer balancer_;
  Queues queues_;
  std::function<bool()> cancelled_;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_round_ = 0;
  std::vector<std::vector<BatchLease>> forming_;  // per worker
  std::size_t forming_count_ = 0;
  std::size_t round_size_;     ///< batches a full round holds
  std::vector<int> idle_;      // at the last dispatch
  std::vector<int> idle_now_;  // scratch of refresh()
  Clock::time_point last_dispatch_ = Clock::now();
  Clock::duration early_fire_every_{0};
  std::size_t census_words_ = 0;  // of the next round sent
  bool save_state_ = false;       // of the next round sent
  bool drain_ = true;             // of the last round
  Clock::time_point next_early_fire_{};
};

}  // namespace sluice::detail
