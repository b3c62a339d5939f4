// HostBatch and BatchPool.
#include "host/host_batch.hpp"

#include <cstdlib>
#include <new>

#include "host/pinned_memory.hpp"

namespace sluice::detail {
namespace {

void free_column(std::byte* p) { std::free(p); }
void free_pinned_column(std::byte* p) { free_pinned(p); }

}  // namespace

BatchColumns HostBatch::view() const {
  BatchColumns v;
  v.rows = rows;
  v.id = sequence;
  for (const auto& c : columns) v.data.push_back(c.get());
  return v;
}

BatchPool::BatchPool(std::vector<std::size_t> widths, std::size_t capacity, std::size_t limit,
                     bool pinned)
    : widths_(std::move(widths)), capacity_(capacity), limit_(limit), pinned_(pinned) {}

HostBatch* BatchPool::acquire(const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!free_.empty()) {
      HostBatch* b = free_.back();
      free_.pop_back();
      b->rows = 0;
      return b;
    }
    if (all_.size() < limit_) {
      auto batch = std::make_unique<HostBatch>();
      batch->capacity = capacity_;
      batch->widths = widths_;
      for (std::size_t w : widths_) {
        const std::size_t bytes = (capacity_ * w + 63) / 64 * 64 + 64;
        if (pinned_) {
          batch->columns.emplace_back(static_cast<std::byte*>(allocate_pinned(bytes)),
                                      &free_pinned_column);
          continue;
        }
        auto* p = static_cast<std::byte*>(std::aligned_alloc(64, bytes));
        if (p == nullptr) throw std::bad_alloc();
        batch->columns.emplace_back(p, &free_column);
      }
      all_.push_back(std::move(batch));
      return all_.back().get();
    }
    if (cancelled()) return nullptr;
    cv_.wait(lock);
  }
}

void BatchPool::release(HostBatch* batch) {
  {
    std::lock_guard lock(mutex_);
    batch->rows = 0;
    free_.push_back(batch);
  }
  cv_.notify_one();
}

void BatchPool::wake() {
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

}  // namespace sluice::detail
