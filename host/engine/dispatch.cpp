// Dispatcher and RoundQueue.
#include "host/engine/dispatch.hpp"

#include <algorithm>

#include "sluice/status.hpp"

namespace sluice::detail {

RoundQueue::RoundQueue(std::size_t capacity, std::size_t batches_per_part) : ring_(capacity) {
  for (RoundPart& p : ring_) p.batches.reserve(batches_per_part);
}

RoundPart* RoundQueue::begin_push(const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return size_ < ring_.size() || cancelled(); });
  if (size_ == ring_.size()) return nullptr;
  RoundPart& p = ring_[(head_ + size_) % ring_.size()];
  p.batches.clear();
  return &p;
}

void RoundQueue::push() {
  {
    std::lock_guard lock(mutex_);
    ++size_;
  }
  cv_.notify_all();
}

RoundPart* RoundQueue::front(const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return size_ > 0 || cancelled(); });
  return size_ > 0 ? &ring_[head_] : nullptr;
}

RoundPart* RoundQueue::peek(std::size_t i) {
  std::lock_guard lock(mutex_);
  return i + 1 < size_ ? &ring_[(head_ + i + 1) % ring_.size()] : nullptr;
}

void RoundQueue::pop() {
  {
    std::lock_guard lock(mutex_);
    ring_[head_].batches.clear();  // the leases return their batches
    head_ = (head_ + 1) % ring_.size();
    --size_;
  }
  cv_.notify_all();
}

bool RoundQueue::empty() const {
  std::lock_guard lock(mutex_);
  return size_ == 0;
}

void RoundQueue::wake() {
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

Dispatcher::Dispatcher(const PaneSpec& panes, bool has_time, std::int64_t max_delay,
                       WatermarkTracker::Clock::duration idle_timeout, Balancer balancer,
                       Queues queues, std::function<bool()> cancelled)
    : panes_(panes),
      has_time_(has_time),
      watermark_(max_delay, idle_timeout),
      balancer_(std::move(balancer)),
      queues_(std::move(queues)),
      cancelled_(std::move(cancelled)),
      forming_(queues_.size()) {
  for (auto& f : forming_) f.reserve(queues_.size());
}

void Dispatcher::touch(int source, WatermarkTracker::Clock::time_point now) {
  watermark_.touch(source, now);
}

void Dispatcher::add(BatchLease batch) {
  MicroBatch& b = *batch;
  b.id = next_id_++;
  b.wm_before = watermark_.current();
  // The panes its events can fall in, but for those too late for every window.
  if (!has_time_ || panes_.global) {
    forming_panes_.first = std::min<std::int64_t>(forming_panes_.first, 0);
    forming_panes_.last = std::max<std::int64_t>(forming_panes_.last, 0);
  } else if (b.min_time <= b.max_time) {
    std::int64_t lo = panes_.pane_of(b.min_time);
    const std::int64_t hi = panes_.pane_of(b.max_time);
    if (b.wm_before != kNoWatermark) lo = std::max(lo, panes_.cut_bounds(b.wm_before).alive);
    if (lo <= hi) {
      forming_panes_.first = std::min(forming_panes_.first, lo);
      forming_panes_.last = std::max(forming_panes_.last, hi);
    }
  }
  for (const auto& [source, max_time] : b.source_max) watermark_.observe(source, max_time);
  watermark_.refresh(WatermarkTracker::Clock::now());
  const int worker = balancer_.next();
  forming_[static_cast<std::size_t>(worker)].push_back(std::move(batch));
  if (++forming_count_ >= queues_.size()) dispatch(false);
}

void Dispatcher::dispatch(bool final, bool even_if_empty) {
  if (forming_count_ == 0 && !final && !even_if_empty) return;
  const std::uint64_t number = next_round_++;
  const std::int64_t wm = final ? kFinalWatermark : watermark_.current();
  dispatched_wm_ = wm;
  const bool any = forming_panes_.first <= forming_panes_.last;
  for (std::size_t w = 0; w < queues_.size(); ++w) {
    RoundPart* part = queues_[w]->begin_push(cancelled_);
    if (part == nullptr) throw Error(ErrorCode::internal, "the job stopped");
    part->number = number;
    part->final = final;
    part->watermark = wm;
    part->first_pane = any ? forming_panes_.first : 0;
    part->last_pane = any ? forming_panes_.last : 0;
    for (BatchLease& b : forming_[w]) part->batches.push_back(std::move(b));
    forming_[w].clear();
    queues_[w]->push();
  }
  forming_count_ = 0;
  forming_panes_ = Pane{};
}

bool Dispatcher::refresh(WatermarkTracker::Clock::time_point now) {
  return watermark_.refresh(now) || watermark_.current() > dispatched_wm_;
}

}  // namespace sluice::detail
