// Dispatcher and RoundQueue.
#include "host/engine/dispatch.hpp"

#include <algorithm>

#include "sluice/status.hpp"

namespace sluice::detail {

RoundQueue::RoundQueue(std::size_t capacity, std::size_t batches_per_part) : ring_(capacity) {
  for (RoundPart& p : ring_) {
    p.batches.reserve(batches_per_part);
    p.idle_sources.reserve(8);
  }
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

Dispatcher::Dispatcher(Clock::duration idle_timeout, Balancer balancer, Queues queues,
                       std::function<bool()> cancelled, int round_batches)
    : activity_(idle_timeout),
      balancer_(std::move(balancer)),
      queues_(std::move(queues)),
      cancelled_(std::move(cancelled)),
      forming_(queues_.size()),
      round_size_(queues_.size() * static_cast<std::size_t>(std::max(1, round_batches))) {
  for (auto& f : forming_) f.reserve(round_size_);
  idle_.reserve(8);
  idle_now_.reserve(8);
}

void Dispatcher::touch(int source, Clock::time_point now) { activity_.touch(source, now); }

void Dispatcher::add(BatchLease batch) {
  batch->id = next_id_++;
  const int worker = balancer_.next();
  forming_[static_cast<std::size_t>(worker)].push_back(std::move(batch));
  if (++forming_count_ >= round_size_) dispatch(false);
}

void Dispatcher::dispatch(bool final, bool even_if_empty) {
  if (forming_count_ == 0 && !final && !even_if_empty) return;
  const std::uint64_t number = next_round_++;
  last_dispatch_ = Clock::now();
  activity_.idle_at(last_dispatch_, idle_);
  const bool early = early_fire_every_.count() > 0 && !final && last_dispatch_ >= next_early_fire_;
  if (early) next_early_fire_ = last_dispatch_ + early_fire_every_;
  for (std::size_t w = 0; w < queues_.size(); ++w) {
    RoundPart* part = queues_[w]->begin_push(cancelled_);
    if (part == nullptr) throw Error(ErrorCode::internal, "the job stopped");
    part->number = number;
    part->final = final;
    part->drain = drain_;
    part->early_fire = early;
    part->census_words = census_words_;
    part->save_state = save_state_;
    part->first_batch = next_id_ - forming_count_;
    part->round_batches = forming_count_;
    part->idle_sources.assign(idle_.begin(), idle_.end());
    for (BatchLease& b : forming_[w]) part->batches.push_back(std::move(b));
    forming_[w].clear();
    queues_[w]->push();
  }
  forming_count_ = 0;
  census_words_ = 0;
  save_state_ = false;
}

void Dispatcher::dispatch_last(bool drain) {
  drain_ = drain;
  dispatch(true);
}

void Dispatcher::dispatch_census(std::size_t words) {
  census_words_ = words;
  dispatch(false, true);
}

bool Dispatcher::refresh(Clock::time_point now) {
  activity_.idle_at(now, idle_now_);
  return idle_now_ != idle_;
}

void Dispatcher::dispatch_checkpoint() {
  // The forming round's batches wait aside: the round sent is empty, and the next one leaves
  // with the batches it would have left with.
  std::vector<std::vector<BatchLease>> forming(forming_.size());
  forming.swap(forming_);
  const std::size_t count = std::exchange(forming_count_, 0);
  save_state_ = true;
  try {
    dispatch(false, true);
  } catch (...) {
    forming_.swap(forming);
    forming_count_ = count;
    throw;
  }
  forming_.swap(forming);
  forming_count_ = count;
}

void Dispatcher::save(
    WordWriter& out, std::span<const std::size_t> widths,
    const std::function<void(WordWriter&, const MicroBatch&)>& save_lookups) const {
  balancer_.save(out);
  // In the order they came (by id), each with its worker.
  std::vector<std::pair<const MicroBatch*, std::size_t>> order;
  for (std::size_t w = 0; w < forming_.size(); ++w)
    for (const BatchLease& b : forming_[w]) order.emplace_back(b.get(), w);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first->id < b.first->id; });
  out.put(order.size());
  for (const auto& [batch, w] : order) {
    out.put(w);
    save_rows(*batch, widths, out);
    save_lookups(out, *batch);
  }
}

void Dispatcher::restore(WordReader& in, MicroBatchPool& pool,
                         const std::function<void(WordReader&, MicroBatch&)>& restore_lookups) {
  balancer_.restore(in);
  const std::size_t batches = in.get_count(2);
  for (std::size_t i = 0; i < batches; ++i) {
    const std::uint64_t w = in.get();
    if (w >= forming_.size()) in.fail("a batch of worker " + std::to_string(w));
    BatchLease batch = pool.acquire(cancelled_);
    if (!batch) throw Error(ErrorCode::internal, "the job stopped while it was restored");
    pool.restore_rows(in, *batch);
    restore_lookups(in, *batch);
    batch->id = next_id_++;
    forming_[w].push_back(std::move(batch));
    ++forming_count_;
  }
}

}  // namespace sluice::detail
