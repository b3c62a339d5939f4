// LookupUpload: the broadcast state's lookup tables in a device's memory, copied once per
// version.
#pragma once

#include <cstdint>

#include "kernels/exec/buffer.hpp"
#include "kernels/exec/lane.hpp"
#include "kernels/pipeline/batch_view.hpp"
#include "kernels/table/lookup_table.hpp"

namespace sluice::detail {

/// @brief Keeps the lookup tables of the latest version a batch carried in executor memory.
/// A new version is copied on the compute lane, so the work queued before it still reads the
/// old tables' memory (freed and refilled in stream order) and the work after it the new. The
/// host tables must stay valid until the copies ran (the batch that carries them does).
template <class Exec>
class LookupUpload {
 public:
  explicit LookupUpload(Exec& exec) : exec_(&exec) {
    for (Table& t : tables_) {
      t.slots.bind(exec);
      t.direct.bind(exec);
      t.keys.bind(exec);
      t.values.bind(exec);
    }
  }

  /// @brief The batch's lookup tables as views of executor memory (none if it carries none).
  LookupTables acquire(const BatchView& batch) {
    if (batch.lookups == nullptr) return {};
    if (batch.lookup_version != version_) {
      const LookupTables& host = *batch.lookups;
      device_ = host;
      for (int t = 0; t < host.count; ++t) {
        const LookupTableView& h = host.table[t];
        LookupTableView& d = device_.table[t];
        Table& mem = tables_[t];
        d.slots = h.slots != nullptr ? copy(mem.slots, h.slots, h.mask + 1) : nullptr;
        d.direct = h.direct != nullptr ? copy(mem.direct, h.direct, h.direct_size) : nullptr;
        d.keys = copy(mem.keys, h.keys, h.rows);
        d.values = copy(mem.values, h.values, static_cast<std::size_t>(h.rows) * h.columns);
      }
      version_ = batch.lookup_version;
    }
    return device_;
  }

 private:
  struct Table {
    Buffer<std::uint64_t, Exec> slots, keys, values;
    Buffer<std::uint32_t, Exec> direct;
  };

  template <class T>
  const T* copy(Buffer<T, Exec>& to, const T* from, std::size_t n) {
    to.resize_discard(n);
    if (n > 0) exec_->copy_from_host_on(Lane::compute, to.data(), from, n * sizeof(T));
    return to.data();
  }

  Exec* exec_;
  Table tables_[kMaxLookupTables];
  LookupTables device_;
  std::uint64_t version_ = 0;
};

}  // namespace sluice::detail
