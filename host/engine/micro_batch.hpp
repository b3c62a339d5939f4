// MicroBatch and MicroBatchPool: the engine's unit of work (slices of pushed batches, read in
// place, or rows copied into the batch's own buffer) and the bounded pool they come from.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "host/engine/snapshot_words.hpp"
#include "kernels/pipeline/batch_view.hpp"

namespace sluice::detail {

/// @brief steady_clock now, in nanoseconds since its epoch: the clock of
/// MicroBatch::first_push_ns and of the job's elapsed time.
inline std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// @brief A micro-batch: up to `capacity` rows of the read columns as slices, each either a
/// range of a pushed batch (kept alive by `owners`) or a range of the batch's own buffer, and
/// the source each slice came from. Beyond kMaxSlices slices, rows are copied.
struct MicroBatch {
  std::uint64_t id = 0;  ///< dispatch order, from 1
  /// steady_clock nanoseconds of the first push into the batch (0: not known).
  std::int64_t first_push_ns = 0;
  std::size_t rows = 0;
  std::size_t capacity = 0;
  int num_slices = 0;
  ColumnSlice slices[kMaxSlices];
  std::shared_ptr<const void> owners[kMaxSlices];
  int sources[kMaxSlices] = {};  ///< the source of each slice read in place
  bool copied[kMaxSlices] = {};  ///< the slice holds copied rows (see copied_source_max)
  /// The batch's own columns (allocated when rows are first copied), read-column order.
  std::vector<std::unique_ptr<std::byte[], void (*)(std::byte*)>> buffer;
  std::size_t buffer_rows = 0;  ///< rows of `buffer` in use
  /// Event times of the copied rows (which may come from several sources): their range and
  /// the largest per source, measured as they were copied.
  std::int64_t copied_min = INT64_MAX;
  std::int64_t copied_max = INT64_MIN;
  std::vector<std::pair<int, std::int64_t>> copied_source_max;
  /// Copied rows whose event time the window cannot represent (PaneSpec::time_representable):
  /// left out of the measured times, and dropped by the fold.
  std::uint64_t copied_unrepresentable = 0;
  /// The broadcast state in effect for the batch (set when it seals): its tables, their
  /// version, and what keeps them alive.
  const LookupTables* lookups = nullptr;
  std::uint64_t lookup_version = 0;
  std::shared_ptr<const void> lookups_owner;

  /// @brief Whether the last slice lies in `buffer` (and so may grow with more copied rows).
  bool last_slice_copied() const { return num_slices > 0 && copied[num_slices - 1]; }
  BatchView view() const {
    BatchView v;
    v.slices = slices;
    v.num_slices = num_slices;
    v.rows = rows;
    v.id = id;
    v.lookups = lookups;
    v.lookup_version = lookup_version;
    return v;
  }
  /// @brief The value of read column c at row `row` (its bytes, `width` of them).
  const std::byte* cell(std::size_t c, std::size_t width, std::size_t row) const {
    for (int s = 0; s < num_slices; ++s) {
      if (row < slices[s].rows)
        return static_cast<const std::byte*>(slices[s].columns[c]) + row * width;
      row -= slices[s].rows;
    }
    return nullptr;
  }
  /// @brief Forgets the rows and drops the references to pushed batches.
  void clear() {
    for (int s = 0; s < num_slices; ++s) owners[s].reset();
    rows = 0;
    num_slices = 0;
    buffer_rows = 0;
    copied_min = INT64_MAX;
    copied_max = INT64_MIN;
    copied_source_max.clear();
    copied_unrepresentable = 0;
    lookups = nullptr;
    lookup_version = 0;
    lookups_owner.reset();
  }
};

class MicroBatchPool;

/// @brief Writes the rows of `batch` (read columns of `widths` bytes), slice by slice, with what
/// the watermark needs of them (each slice's source, the copied rows' measured times): rows a
/// checkpoint holds because they were pushed but not yet processed.
void save_rows(const MicroBatch& batch, std::span<const std::size_t> widths, WordWriter& out);

/// @brief Ownership of a pooled micro-batch: returns it to the pool when destroyed.
class BatchLease {
 public:
  BatchLease() = default;
  BatchLease(MicroBatchPool* pool, MicroBatch* batch) : pool_(pool), batch_(batch) {}
  BatchLease(BatchLease&& o) noexcept : pool_(o.pool_), batch_(std::exchange(o.batch_, nullptr)) {}
  BatchLease& operator=(BatchLease&& o) noexcept {
    if (this != &o) {
      reset();
      pool_ = o.pool_;
      batch_ = std::exchange(o.batch_, nullptr);
    }
    return *this;
  }
  BatchLease(const BatchLease&) = delete;
  BatchLease& operator=(const BatchLease&) = delete;
  ~BatchLease() { reset(); }

  MicroBatch* get() const noexcept { return batch_; }
  MicroBatch* operator->() const noexcept { return batch_; }
  MicroBatch& operator*() const noexcept { return *batch_; }
  explicit operator bool() const noexcept { return batch_ != nullptr; }
  void reset();

 private:
  MicroBatchPool* pool_ = nullptr;
  MicroBatch* batch_ = nullptr;
};

/// @brief A bounded set of `limit` micro-batches, made at construction and recycled (most
/// recently returned first, so that warm buffers are reused); acquire() blocks while all are in
/// use (backpressure). Buffers are allocated when a batch first copies rows; with `pinned`, they
/// are page-locked so that the GPU backend copies them asynchronously.
class MicroBatchPool {
 public:
  MicroBatchPool(std::vector<std::size_t> widths, std::size_t capacity, std::size_t limit,
                 bool pinned = false);
  /// @brief A free batch with rows == 0; waits while none is free unless `cancelled()`.
  /// @return an empty lease if cancelled while waiting.
  BatchLease acquire(const std::function<bool()>& cancelled);
  /// @brief Allocates the batch's buffer if it has none yet.
  void ensure_buffer(MicroBatch& batch);
  /// @brief Loads rows save_rows() wrote into `batch` (acquired from this pool, no rows): every
  /// slice's rows into its buffer, each slice keeping its source and whether it was copied.
  /// @throws Error(malformed_input) when they are not rows of this pool's columns or exceed its
  /// batches (a smaller EngineConfig::batch_rows).
  void restore_rows(WordReader& in, MicroBatch& batch);
  /// @brief Wakes waiters so they re-check cancellation.
  void wake();
  /// @brief Batches currently leased.
  std::size_t in_use() const;
  /// @brief Waits until every batch is back.
  void wait_all_returned();

 private:
  friend class BatchLease;
  void release(MicroBatch* batch);

  std::vector<std::size_t> widths_;
  std::size_t capacity_;
  bool pinned_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<MicroBatch>> all_;
  std::vector<MicroBatch*> free_;
};

}  // namespace sluice::detail
