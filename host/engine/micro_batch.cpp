// MicroBatchPool and BatchLease.
#include "host/engine/micro_batch.hpp"

#include <cstdlib>
#include <new>

#include "host/pinned_memory.hpp"

namespace sluice::detail {
namespace {

void free_column(std::byte* p) { std::free(p); }
void free_pinned_column(std::byte* p) { free_pinned(p); }

}  // namespace

void BatchLease::reset() {
  if (batch_ != nullptr) pool_->release(batch_);
  batch_ = nullptr;
}

MicroBatchPool::MicroBatchPool(std::vector<std::size_t> widths, std::size_t capacity,
                               std::size_t limit, bool pinned)
    : widths_(std::move(widths)), capacity_(capacity), pinned_(pinned) {
  // Every batch is made here, so that acquire() never allocates, however many batches the
  // timing of producers and workers happens to keep in flight. Buffers stay lazy: zero-copy
  // input never needs them.
  all_.reserve(limit);
  free_.reserve(limit);
  for (std::size_t i = 0; i < limit; ++i) {
    auto batch = std::make_unique<MicroBatch>();
    batch->capacity = capacity_;
    batch->copied_source_max.reserve(4);
    free_.push_back(batch.get());
    all_.push_back(std::move(batch));
  }
}

BatchLease MicroBatchPool::acquire(const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!free_.empty()) {
      MicroBatch* b = free_.back();
      free_.pop_back();
      return BatchLease(this, b);
    }
    if (cancelled()) return {};
    cv_.wait(lock);
  }
}

void MicroBatchPool::ensure_buffer(MicroBatch& batch) {
  if (!batch.buffer.empty() || widths_.empty()) return;
  for (std::size_t w : widths_) {
    const std::size_t bytes = (capacity_ * w + 63) / 64 * 64 + 64;
    if (pinned_) {
      batch.buffer.emplace_back(static_cast<std::byte*>(allocate_pinned(bytes)),
                                &free_pinned_column);
      continue;
    }
    auto* p = static_cast<std::byte*>(std::aligned_alloc(64, bytes));
    if (p == nullptr) throw std::bad_alloc();
    batch.buffer.emplace_back(p, &free_column);
  }
}

void MicroBatchPool::release(MicroBatch* batch) {
  batch->clear();
  {
    std::lock_guard lock(mutex_);
    free_.push_back(batch);
  }
  cv_.notify_all();
}

void MicroBatchPool::wake() {
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

std::size_t MicroBatchPool::in_use() const {
  std::lock_guard lock(mutex_);
  return all_.size() - free_.size();
}

void MicroBatchPool::wait_all_returned() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return free_.size() == all_.size(); });
}

}  // namespace sluice::detail
