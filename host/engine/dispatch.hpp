// Dispatch: sealed micro-batches get their watermark and worker, and leave in rounds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "host/engine/balancer.hpp"
#include "host/engine/micro_batch.hpp"
#include "host/engine/watermark_tracker.hpp"
#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {

/// @brief One worker's share of a round: its batches, the round's watermark, and the panes the
/// round's events that are not late can fall in (over every worker's batches).
struct RoundPart {
  std::uint64_t number = 0;
  bool final = false;
  std::int64_t watermark = 0;  ///< fire at this watermark
  std::int64_t first_pane = 0;
  std::int64_t last_pane = 0;
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

/// @brief Turns sealed micro-batches into rounds: each learns the watermark before it (the
/// minimum over active sources of their largest event time minus the delay) and a worker from
/// the Balancer; a round leaves once it holds `workers` batches (or on dispatch()) with the
/// watermark after its last batch. Not thread-safe: the job calls it under its ingest lock.
class Dispatcher {
 public:
  using Queues = std::vector<RoundQueue*>;
  Dispatcher(const PaneSpec& panes, bool has_time, std::int64_t max_delay,
             WatermarkTracker::Clock::duration idle_timeout, Balancer balancer, Queues queues,
             std::function<bool()> cancelled);

  /// @brief A push from `source` at `now` (keeps the source active).
  void touch(int source, WatermarkTracker::Clock::time_point now);
  /// @brief Takes a sealed batch; dispatches the round it completes.
  void add(BatchLease batch);
  /// @brief Sends the forming round (also an empty one when `even_if_empty`, or when final).
  void dispatch(bool final, bool even_if_empty = false);
  /// @brief Re-evaluates idleness at `now`; true when the watermark moved past the last round's.
  bool refresh(WatermarkTracker::Clock::time_point now);
  std::uint64_t rounds() const noexcept { return next_round_; }
  std::uint64_t batches() const noexcept { return next_id_ - 1; }

 private:
  struct Pane {
    std::int64_t first = INT64_MAX;
    std::int64_t last = INT64_MIN;
  };
  PaneSpec panes_;
  bool has_time_;
  WatermarkTracker watermark_;
  Balancer balancer_;
  Queues queues_;
  std::function<bool()> cancelled_;
  std::int64_t dispatched_wm_ = kNoWatermark;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_round_ = 0;
  std::vector<std::vector<BatchLease>> forming_;  // per worker
  std::size_t forming_count_ = 0;
  Pane forming_panes_;
};

}  // namespace sluice::detail
