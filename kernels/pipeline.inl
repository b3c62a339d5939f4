// WorkerPipeline implemented once over an executor; instantiated by pipeline.cpp and pipeline.cu.
#pragma once

#include <array>
#include <optional>
#include <utility>

#include "kernels/event_partials.hpp"
#include "kernels/exec/buffer.hpp"
#include "kernels/exec/lane.hpp"
#include "kernels/filter_project.hpp"
#include "kernels/key_table.hpp"
#include "kernels/partition.hpp"
#include "kernels/pipeline.hpp"
#include "kernels/reduce_partials.hpp"
#include "kernels/window_table.hpp"

namespace sluice::detail {

inline std::size_t column_width(ColumnType t) {
  switch (t) {
    case ColumnType::boolean:
      return 1;
    case ColumnType::i32:
    case ColumnType::u32:
    case ColumnType::f32:
    case ColumnType::string:
      return 4;
    default:
      return 8;
  }
}

/// @brief Pre-aggregates one batch's event partials. The portable operator; an executor with a
/// fast path specializes this (HostExec: kernels/host/local_preaggregate.hpp).
template <class Exec>
class Preaggregator {
 public:
  explicit Preaggregator(Exec& exec) : scratch_(exec) {}
  void operator()(Exec& exec, PartialsView events, const StateSpec& states, Partials<Exec>& out) {
    reduce_partials(exec, events, states, out, scratch_);
  }

 private:
  ReduceScratch<Exec> scratch_;
};

/// @brief Filters and projects one batch: the portable operator; an executor with a fast path
/// specializes this (HostExec: kernels/host/filter_project_vector.hpp).
template <class Exec>
class Projector {
 public:
  explicit Projector(Exec&) {}
  std::size_t operator()(Exec& exec, const InputColumns& in, std::size_t n, ProgramSetView programs,
                         const ProjectionSpec& spec, std::uint32_t* out_rows,
                         std::uint64_t* out_words, std::size_t out_stride) {
    return filter_project(exec, in, n, programs, spec, out_rows, out_words, out_stride);
  }
};

template <class Exec>
class PipelineImpl final : public WorkerPipeline {
 public:
  template <class... ExecArgs>
  explicit PipelineImpl(const PipelinePlan& plan, ExecArgs&&... exec_args)
      : exec_(std::forward<ExecArgs>(exec_args)...),
        plan_(plan),
        code_(exec_, plan.code.size()),
        programs_(exec_, plan.programs.size()),
        rows_(exec_),
        words_(exec_),
        events_(exec_, plan.key_words, plan.states.count),
        reduced_(exec_, plan.key_words, plan.states.count),
        received_(exec_, plan.key_words, plan.states.count),
        preaggregate_(exec_),
        project_(exec_),
        partition_scratch_(exec_),
        packed_(exec_),
        packed_in_(exec_),
        outbox_(exec_),
        key_ids_(exec_),
        late_rows_(exec_),
        fired_(exec_),
        fired_keys_(exec_),
        host_window_(exec_),
        host_keys_(exec_),
        host_update_(exec_),
        host_states_(exec_) {
    exec_.copy_from_host(code_.data(), plan.code.data(), plan.code.size() * sizeof(Instr));
    exec_.copy_from_host(programs_.data(), plan.programs.data(),
                         plan.programs.size() * sizeof(ProgramRef));
    if constexpr (Exec::kIsDevice) {
      for (StageSlot& slot : slots_)
        for (std::size_t c = 0; c < plan.input_types.size(); ++c) slot.columns.emplace_back(exec_);
    }
    if (plan.windowed) {
      keys_.emplace(exec_, plan.key_words, plan.hasher);
      table_.emplace(exec_, plan.states, plan.panes, plan.hasher);
    }
  }

  ~PipelineImpl() override {
    // Copies in flight read or write buffers freed below.
    exec_.quiesce();
  }

  void reserve(std::size_t batch_rows) override {
    if constexpr (Exec::kIsDevice) {
      for (StageSlot& slot : slots_)
        for (std::size_t c = 0; c < slot.columns.size(); ++c)
          slot.columns[c].resize_discard(batch_rows * column_width(plan_.input_types[c]));
    }
    rows_.resize_discard(batch_rows);
    words_.resize_discard(batch_rows * static_cast<std::size_t>(plan_.projection.num_outputs));
    if (plan_.windowed) {
      events_.resize_discard(batch_rows);
      reduced_.resize_discard(batch_rows);
      late_rows_.resize_discard(batch_rows);
      key_ids_.resize_discard(batch_rows);
    }
    exec_.synchronize();
  }

  void stage(const BatchColumns& batch) override {
    if constexpr (Exec::kIsDevice) {
      if (batch.resident || batch.rows == 0 || find_staged(batch) != nullptr) return;
      // A free slot (never used, or its batch consumed) if there is one; otherwise the next in
      // turn, whose batch will be copied again when its turn comes.
      StageSlot* free_slot = nullptr;
      for (StageSlot& candidate : slots_)
        if (candidate.rows == 0) {
          free_slot = &candidate;
          break;
        }
      if (free_slot == nullptr) {
        free_slot = &slots_[next_slot_];
        next_slot_ = (next_slot_ + 1) % slots_.size();
      }
      StageSlot& slot = *free_slot;
      slot.id = 0;
      slot.rows = 0;
      slot.first = nullptr;
      // Copies into the slot wait until the compute lane has read its previous batch.
      exec_.wait(Lane::copy_in, slot.consumed);
      bool grow = false;
      for (std::size_t c = 0; c < slot.columns.size(); ++c)
        grow |= batch.rows * column_width(plan_.input_types[c]) > slot.columns[c].capacity();
      if (grow) {
        // The compute lane frees and allocates the columns: after any copy still filling them,
        // and before the copies that follow.
        exec_.record(slot.copied, Lane::copy_in);
        exec_.wait(Lane::compute, slot.copied);
      }
      for (std::size_t c = 0; c < slot.columns.size(); ++c)
        slot.columns[c].resize_discard(batch.rows * column_width(plan_.input_types[c]));
      if (grow) {
        exec_.record(slot.allocated, Lane::compute);
        exec_.wait(Lane::copy_in, slot.allocated);
      }
      for (std::size_t c = 0; c < slot.columns.size(); ++c)
        exec_.copy_from_host_on(Lane::copy_in, slot.columns[c].data(), batch.data[c],
                                slot.columns[c].size());
      exec_.record(slot.copied, Lane::copy_in);
      slot.id = batch.id;
      slot.rows = batch.rows;
      slot.first = batch.data.empty() ? nullptr : batch.data[0];
    } else {
      (void)batch;
    }
  }

  std::size_t project(const BatchColumns& batch, std::vector<std::uint64_t>& out_words) override {
    const std::size_t kept = filter_and_project(batch);
    const auto outputs = static_cast<std::size_t>(plan_.projection.num_outputs);
    out_words.resize(outputs * kept);
    for (std::size_t j = 0; j < outputs; ++j)
      exec_.copy_to_host(out_words.data() + j * kept, words_.data() + j * stride_,
                         kept * sizeof(std::uint64_t));
    return kept;
  }

  BatchOutcome preaggregate(const BatchColumns& batch, std::int64_t wm_before) override {
    BatchOutcome outcome;
    outcome.kept = filter_and_project(batch);
    events_.resize_discard(outcome.kept);
    const EventLayout layout{words_.data(), stride_, plan_.time_output, plan_.projection.key_begin};
    outcome.late = make_event_partials(exec_, layout, outcome.kept, plan_.states, plan_.panes,
                                       wm_before, plan_.hasher, events_.view());
    if (outcome.late > 0) {
      late_rows_.resize_discard(outcome.late);
      collect_late_rows(exec_, events_.view(), rows_.data(), late_rows_.data());
      outcome.late_rows.resize(outcome.late);
      exec_.copy_to_host(outcome.late_rows.data(), late_rows_.data(),
                         outcome.late * sizeof(std::uint32_t));
    }
    preaggregate_(exec_, events_.view(), plan_.states, reduced_);
    return outcome;
  }

  void merge_held(std::int64_t fired_wm) override { merge(reduced_.view(), fired_wm); }

  void pack_held(std::vector<std::vector<std::uint64_t>>& send) override {
    const PartialsView held = reduced_.view();
    const std::size_t width = packed_row_words(held.key_words, held.state_words);
    packed_.resize_discard(held.size * width);
    const std::vector<std::size_t> sizes =
        partition_partials(exec_, held, plan_.partitioner, packed_.data(), partition_scratch_);
    std::size_t row = 0;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      std::vector<std::uint64_t>& dest = send[d];
      const std::size_t at = dest.size();
      dest.resize(at + sizes[d] * width);
      exec_.copy_to_host(dest.data() + at, packed_.data() + row * width,
                         sizes[d] * width * sizeof(std::uint64_t));
      row += sizes[d];
    }
  }

  void merge_packed(std::span<const std::uint64_t> packed, std::int64_t fired_wm) override {
    const std::size_t width = packed_row_words(plan_.key_words, plan_.states.count);
    const std::size_t n = packed.size() / width;
    const std::uint64_t* rows = packed.data();
    if constexpr (Exec::kIsDevice) {
      packed_in_.resize_discard(packed.size());
      exec_.copy_from_host(packed_in_.data(), packed.data(), packed.size() * sizeof(std::uint64_t));
      rows = packed_in_.data();
    }
    merge_received(rows, n, fired_wm);
  }

  void clear_outbox() override {
    outbox_words_ = 0;
    for (auto& parts : outbox_parts_) parts.clear();
  }

  void pack_held_to_outbox() override {
    const PartialsView held = reduced_.view();
    const std::size_t width = packed_row_words(held.key_words, held.state_words);
    const std::size_t at = outbox_words_;
    outbox_.resize_keep(at + held.size * width);
    const std::vector<std::size_t> sizes =
        partition_partials(exec_, held, plan_.partitioner, outbox_.data() + at, partition_scratch_);
    outbox_parts_.resize(sizes.size());
    std::size_t offset = at;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] > 0) outbox_parts_[d].push_back({offset, sizes[d] * width});
      offset += sizes[d] * width;
    }
    outbox_words_ = offset;
  }

  std::vector<std::vector<std::uint64_t>> outbox_manifests() override {
    // Per owner: [device, address of the outbox, parts, (offset, words) per part].
    const auto owners = static_cast<std::size_t>(plan_.partitioner.parts);
    std::vector<std::vector<std::uint64_t>> manifests(owners);
    outbox_parts_.resize(owners);
    for (std::size_t d = 0; d < owners; ++d) {
      std::vector<std::uint64_t>& m = manifests[d];
      m.push_back(static_cast<std::uint64_t>(static_cast<std::int64_t>(exec_.device())));
      m.push_back(reinterpret_cast<std::uintptr_t>(outbox_.data()));
      m.push_back(outbox_parts_[d].size());
      for (const OutboxPart& part : outbox_parts_[d]) {
        m.push_back(part.offset);
        m.push_back(part.words);
      }
    }
    return manifests;
  }

  void merge_outboxes(std::span<const std::uint64_t> manifests, std::int64_t fired_wm) override {
    std::size_t total = 0;
    for (std::size_t at = 0; at + 3 <= manifests.size(); at += 3 + 2 * manifests[at + 2])
      for (std::uint64_t p = 0; p < manifests[at + 2]; ++p) total += manifests[at + 4 + 2 * p];
    packed_in_.resize_discard(total);
    std::size_t filled = 0;
    for (std::size_t at = 0; at + 3 <= manifests.size(); at += 3 + 2 * manifests[at + 2]) {
      const int device = static_cast<int>(static_cast<std::int64_t>(manifests[at]));
      const auto* base = reinterpret_cast<const std::uint64_t*>(manifests[at + 1]);
      for (std::uint64_t p = 0; p < manifests[at + 2]; ++p) {
        const std::uint64_t offset = manifests[at + 3 + 2 * p];
        const std::uint64_t words = manifests[at + 4 + 2 * p];
        exec_.copy_from_peer(packed_in_.data() + filled, base + offset, device,
                             words * sizeof(std::uint64_t));
        filled += words;
      }
    }
    // The senders may reuse their outboxes once every owner is past the next collective.
    exec_.synchronize();
    const std::size_t width = packed_row_words(plan_.key_words, plan_.states.count);
    merge_received(packed_in_.data(), total / width, fired_wm);
  }

  void fire(std::int64_t prev_wm, std::int64_t wm) override {
    // The previous fire's copy-out reads fired_ and the host buffers: it must be done.
    exec_.wait_host(copied_out_);
    fired_host_ = FiredHost{};
    if (!table_ || !table_->may_fire(prev_wm, wm)) {
      if (table_ && table_->may_evict(prev_wm, wm)) table_->evict(wm);
      return;
    }
    const std::size_t n = table_->fire(prev_wm, wm, fired_);
    const auto k = static_cast<std::size_t>(plan_.key_words);
    const auto s = static_cast<std::size_t>(plan_.states.count);
    if (n > 0) {
      fired_keys_.resize_discard(k * n);
      keys_->gather(fired_.key.data(), n, fired_keys_.data(), n);
      host_window_.reserve_discard(n);
      host_keys_.reserve_discard(k * n);
      host_update_.reserve_discard(n);
      host_states_.reserve_discard(s * n);
      // The copy-out lane takes the rows once the compute lane has made them, and runs while
      // the compute lane goes on with eviction and the next batches.
      exec_.record(fired_ready_, Lane::compute);
      exec_.wait(Lane::copy_out, fired_ready_);
      exec_.copy_to_host_on(Lane::copy_out, host_window_.data(), fired_.window.data(),
                            n * sizeof(std::int64_t));
      exec_.copy_to_host_on(Lane::copy_out, host_keys_.data(), fired_keys_.data(),
                            k * n * sizeof(std::uint64_t));
      exec_.copy_to_host_on(Lane::copy_out, host_update_.data(), fired_.update.data(), n);
      exec_.copy_to_host_on(Lane::copy_out, host_states_.data(), fired_.states.data(),
                            s * n * sizeof(std::uint64_t));
      // The next fire waits for this event on the host before it writes fired_ again.
      exec_.record(copied_out_, Lane::copy_out);
    }
    fired_host_ = FiredHost{n, host_window_.data(), host_keys_.data(), host_update_.data(),
                            host_states_.data()};
    if (table_->may_evict(prev_wm, wm)) table_->evict(wm);
  }

  const FiredHost& collect_fired() override {
    exec_.wait_host(copied_out_);
    return fired_host_;
  }

  std::size_t state_size() const override { return table_ ? table_->size() : 0; }

 private:
  struct StageSlot {
    std::vector<Buffer<std::byte, Exec>> columns;
    typename Exec::Event allocated;  // compute lane: the columns' memory is allocated
    typename Exec::Event copied;     // copy-in lane: the columns hold the batch
    typename Exec::Event consumed;   // compute lane: the batch has been read
    std::uint64_t id = 0;
    std::size_t rows = 0;
    const void* first = nullptr;
  };

  StageSlot* find_staged(const BatchColumns& batch) {
    const void* first = batch.data.empty() ? nullptr : batch.data[0];
    for (StageSlot& slot : slots_)
      if (slot.rows == batch.rows && slot.id == batch.id && slot.first == first) return &slot;
    return nullptr;
  }

  std::size_t filter_and_project(const BatchColumns& batch) {
    const std::size_t n = batch.rows;
    InputColumns in;
    in.count = static_cast<int>(plan_.input_types.size());
    StageSlot* slot = nullptr;
    if constexpr (Exec::kIsDevice) {
      if (!batch.resident && n > 0) {
        stage(batch);
        slot = find_staged(batch);
        exec_.wait(Lane::compute, slot->copied);
      }
    }
    for (int c = 0; c < in.count; ++c) {
      in.type[c] = plan_.input_types[c];
      in.data[c] = slot != nullptr ? slot->columns[c].data() : batch.data[c];
    }
    rows_.resize_discard(n);
    stride_ = n;
    words_.resize_discard(n * static_cast<std::size_t>(plan_.projection.num_outputs));
    const std::size_t kept = project_(exec_, in, n, ProgramSetView{code_.data(), programs_.data()},
                                      plan_.projection, rows_.data(), words_.data(), stride_);
    if (slot != nullptr) {
      exec_.record(slot->consumed, Lane::compute);
      slot->rows = 0;
      slot->first = nullptr;
    }
    return kept;
  }

  struct OutboxPart {
    std::size_t offset = 0;  // in words, from the start of the outbox
    std::size_t words = 0;
  };

  /// Unpacks n packed rows (in the executor's memory), pre-aggregates and merges them.
  void merge_received(const std::uint64_t* rows, std::size_t n, std::int64_t fired_wm) {
    unpack_partials(exec_, rows, n, received_);
    preaggregate_(exec_, received_.view(), plan_.states, reduced_);
    merge(reduced_.view(), fired_wm);
  }

  void merge(PartialsView rows, std::int64_t fired_wm) {
    if (rows.size == 0) return;
    key_ids_.resize_discard(rows.size);
    keys_->find_or_insert(rows, key_ids_.data());
    table_->merge(rows, key_ids_.data(), fired_wm);
  }

  Exec exec_;
  PipelinePlan plan_;
  Buffer<Instr, Exec> code_;
  Buffer<ProgramRef, Exec> programs_;
  std::array<StageSlot, WorkerPipeline::kStagedAhead + 1> slots_;
  std::size_t next_slot_ = 0;
  Buffer<std::uint32_t, Exec> rows_;
  Buffer<std::uint64_t, Exec> words_;
  std::size_t stride_ = 0;
  Partials<Exec> events_;
  Partials<Exec> reduced_;
  Partials<Exec> received_;
  Preaggregator<Exec> preaggregate_;
  Projector<Exec> project_;
  PartitionScratch<Exec> partition_scratch_;
  Buffer<std::uint64_t, Exec> packed_;
  Buffer<std::uint64_t, Exec> packed_in_;
  Buffer<std::uint64_t, Exec> outbox_;
  std::size_t outbox_words_ = 0;
  std::vector<std::vector<OutboxPart>> outbox_parts_;
  Buffer<std::uint32_t, Exec> key_ids_;
  Buffer<std::uint32_t, Exec> late_rows_;
  std::optional<KeyTable<Exec>> keys_;
  std::optional<WindowTable<Exec>> table_;
  FiredWindows<Exec> fired_;
  Buffer<std::uint64_t, Exec> fired_keys_;
  HostBuffer<std::int64_t, Exec> host_window_;
  HostBuffer<std::uint64_t, Exec> host_keys_;
  HostBuffer<std::uint8_t, Exec> host_update_;
  HostBuffer<std::uint64_t, Exec> host_states_;
  typename Exec::Event fired_ready_;
  typename Exec::Event copied_out_;
  FiredHost fired_host_;
};

}  // namespace sluice::detail
