// HostBatch and BatchPool: the engine's own micro-batches of the columns a query reads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/pipeline.hpp"

namespace sluice::detail {

/// @brief A micro-batch: fixed-capacity host arrays of the read columns, plus what the
/// dispatcher learned about it.
struct HostBatch {
  std::vector<std::unique_ptr<std::byte[], void (*)(std::byte*)>> columns;
  std::vector<std::size_t> widths;
  std::size_t capacity = 0;
  std::size_t rows = 0;
  std::uint64_t sequence = 0;  ///< dispatch order
  std::int64_t wm_before = 0;  ///< watermark before this batch
  BatchColumns view() const;
};

/// @brief A bounded set of HostBatches made on demand up to `limit` and recycled; acquire()
/// blocks while all are in use (backpressure). With `pinned`, the columns are page-locked so
/// that the GPU backend copies them asynchronously.
class BatchPool {
 public:
  BatchPool(std::vector<std::size_t> widths, std::size_t capacity, std::size_t limit,
            bool pinned = false);
  /// @brief A free batch with rows == 0; waits while none is free unless `cancelled()`.
  /// @return nullptr if cancelled while waiting.
  HostBatch* acquire(const std::function<bool()>& cancelled);
  void release(HostBatch* batch);
  /// @brief Wakes waiters so they re-check cancellation.
  void wake();

 private:
  std::vector<std::size_t> widths_;
  std::size_t capacity_;
  std::size_t limit_;
  bool pinned_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<HostBatch>> all_;
  std::vector<HostBatch*> free_;
};

}  // namespace sluice::detail
