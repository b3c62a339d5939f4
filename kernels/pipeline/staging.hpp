// Staging: the copy of a batch's read columns into an executor's memory, ahead of its use.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/exec/buffer.hpp"
#include "kernels/exec/lane.hpp"
#include "kernels/ops/column_type.hpp"
#include "kernels/ops/program.hpp"
#include "kernels/pipeline/batch_view.hpp"
#include "kernels/pipeline/lookup_upload.hpp"

namespace sluice::detail {

/// @brief Slots of device columns that batches are copied into on the copy-in lane while
/// earlier batches compute. A slot is refilled only after the compute lane has recorded that it
/// read its batch. For an executor whose memory is the host's and that reads host batches in
/// place, the pipeline does not use this class.
template <class Exec, int kSlots>
class Staging {
 public:
  Staging(Exec& exec, const std::vector<ColumnType>& types)
      : exec_(&exec), types_(types), lookups_(exec) {
    for (Slot& slot : slots_)
      for (std::size_t c = 0; c < types.size(); ++c) slot.columns.emplace_back(exec);
  }

  /// @brief Sizes every slot for batches of `rows` rows.
  void reserve(std::size_t rows) {
    for (Slot& slot : slots_)
      for (std::size_t c = 0; c < slot.columns.size(); ++c)
        slot.columns[c].resize_discard(rows * column_width(types_[c]));
  }

  /// @brief Starts copying `batch` (host slices) into a slot, unless it is there already.
  void stage(const BatchView& batch) {
    if (batch.resident || batch.rows == 0 || find(batch) != nullptr) return;
    // A free slot (never used, or its batch consumed) if there is one; otherwise the next in
    // turn, whose batch will be copied again when its turn comes.
    Slot* free_slot = nullptr;
    for (Slot& candidate : slots_)
      if (candidate.rows == 0) {
        free_slot = &candidate;
        break;
      }
    if (free_slot == nullptr) {
      free_slot = &slots_[next_];
      next_ = (next_ + 1) % slots_.size();
    }
    Slot& slot = *free_slot;
    slot.id = 0;
    slot.rows = 0;
    // Copies into the slot wait until the compute lane has read its previous batch.
    exec_->wait(Lane::copy_in, slot.consumed);
    bool grow = false;
    for (std::size_t c = 0; c < slot.columns.size(); ++c)
      grow |= batch.rows * column_width(types_[c]) > slot.columns[c].capacity();
    if (grow) {
      // The compute lane frees and allocates the columns: after any copy still filling them,
      // and before the copies that follow.
      exec_->record(slot.copied, Lane::copy_in);
      exec_->wait(Lane::compute, slot.copied);
    }
    for (std::size_t c = 0; c < slot.columns.size(); ++c)
      slot.columns[c].resize_discard(batch.rows * column_width(types_[c]));
    if (grow) {
      exec_->record(slot.allocated, Lane::compute);
      exec_->wait(Lane::copy_in, slot.allocated);
    }
    std::size_t at = 0;
    for (int s = 0; s < batch.num_slices; ++s) {
      const ColumnSlice& slice = batch.slices[s];
      for (std::size_t c = 0; c < slot.columns.size(); ++c) {
        const std::size_t w = column_width(types_[c]);
        exec_->copy_from_host_on(Lane::copy_in, slot.columns[c].data() + at * w, slice.columns[c],
                                 slice.rows * w);
      }
      at += slice.rows;
    }
    exec_->record(slot.copied, Lane::copy_in);
    slot.id = batch.id;
    slot.rows = batch.rows;
  }

  /// @brief The batch's columns (and lookup tables) in executor memory, staging it first if
  /// needed; the compute lane waits for its copy. Call release() once the compute lane has
  /// queued its reads.
  InputColumns acquire(const BatchView& batch) {
    InputColumns in;
    in.lookups = lookups_.acquire(batch);
    in.count = static_cast<int>(types_.size());
    for (int c = 0; c < in.count; ++c) in.type[c] = types_[static_cast<std::size_t>(c)];
    if (batch.resident) {
      for (int c = 0; c < in.count; ++c)
        in.data[c] = batch.num_slices > 0 ? batch.slices[0].columns[c] : nullptr;
      return in;
    }
    if (batch.rows == 0) return in;
    stage(batch);
    Slot* slot = find(batch);
    exec_->wait(Lane::compute, slot->copied);
    for (int c = 0; c < in.count; ++c)
      in.data[c] = slot->columns[static_cast<std::size_t>(c)].data();
    return in;
  }

  /// @brief Marks the batch's slot free once the compute lane's work queued so far has run.
  void release(const BatchView& batch) {
    if (batch.resident || batch.rows == 0) return;
    Slot* slot = find(batch);
    if (slot == nullptr) return;
    exec_->record(slot->consumed, Lane::compute);
    slot->rows = 0;
    slot->id = 0;
  }

 private:
  struct Slot {
    std::vector<Buffer<std::byte, Exec>> columns;
    typename Exec::Event allocated;  // compute lane: the columns' memory is allocated
    typename Exec::Event copied;     // copy-in lane: the columns hold the batch
    typename Exec::Event consumed;   // compute lane: the batch has been read
    std::uint64_t id = 0;
    std::size_t rows = 0;
  };

  Slot* find(const BatchView& batch) {
    for (Slot& slot : slots_)
      if (slot.rows == batch.rows && slot.id == batch.id && slot.rows > 0) return &slot;
    return nullptr;
  }

  Exec* exec_;
  std::vector<ColumnType> types_;
  std::array<Slot, kSlots> slots_;
  std::size_t next_ = 0;
  LookupUpload<Exec> lookups_;
};

}  // namespace sluice::detail
