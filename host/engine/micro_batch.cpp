// MicroBatchPool and BatchLease.
#include "host/engine/micro_batch.hpp"

#include <cstdlib>
#include <new>
#include <string>

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

void save_rows(const MicroBatch& batch, std::span<const std::size_t> widths, WordWriter& out) {
  out.put(batch.rows);
  out.put(static_cast<std::uint64_t>(batch.num_slices));
  for (int s = 0; s < batch.num_slices; ++s) {
    const ColumnSlice& slice = batch.slices[s];
    out.put(batch.copied[s] ? 1 : 0);
    out.put_i64(batch.sources[s]);
    out.put(slice.rows);
    for (std::size_t c = 0; c < widths.size(); ++c)
      out.put_bytes(slice.columns[c], slice.rows * widths[c]);
  }
  out.put_i64(batch.copied_min);
  out.put_i64(batch.copied_max);
  out.put(batch.copied_source_max.size());
  for (const auto& [source, time] : batch.copied_source_max) {
    out.put_i64(source);
    out.put_i64(time);
  }
  out.put(batch.copied_unrepresentable);
}

void MicroBatchPool::restore_rows(WordReader& in, MicroBatch& batch) {
  const std::uint64_t rows = in.get();
  const std::uint64_t slices = in.get();
  if (rows > capacity_)
    in.fail("a batch of " + std::to_string(rows) + " rows (batches hold " +
            std::to_string(capacity_) + " now)");
  if (slices > static_cast<std::uint64_t>(kMaxSlices)) in.fail("a batch of too many slices");
  ensure_buffer(batch);
  std::uint64_t total = 0;
  for (std::uint64_t s = 0; s < slices; ++s) {
    const bool copied = in.get() != 0;
    const std::int64_t source = in.get_i64();
    const std::uint64_t slice_rows = in.get();
    if (slice_rows > rows - total) in.fail("a slice beyond its batch's rows");
    ColumnSlice& slice = batch.slices[s];
    slice = ColumnSlice{};
    slice.rows = static_cast<std::size_t>(slice_rows);
    for (std::size_t c = 0; c < widths_.size(); ++c) {
      std::byte* at = batch.buffer[c].get() + batch.buffer_rows * widths_[c];
      in.get_bytes(at, slice.rows * widths_[c]);
      slice.columns[c] = at;
    }
    batch.copied[s] = copied;
    batch.sources[s] = static_cast<int>(source);
    batch.buffer_rows += slice.rows;
    total += slice_rows;
  }
  if (total != rows) in.fail("a batch whose slices do not add up to its rows");
  batch.num_slices = static_cast<int>(slices);
  batch.rows = static_cast<std::size_t>(rows);
  batch.copied_min = in.get_i64();
  batch.copied_max = in.get_i64();
  const std::size_t sources = in.get_count(2);
  batch.copied_source_max.clear();
  for (std::size_t i = 0; i < sources; ++i) {
    const auto source = static_cast<int>(in.get_i64());
    batch.copied_source_max.emplace_back(source, in.get_i64());
  }
  batch.copied_unrepresentable = in.get();
}

}  // namespace sluice::detail
