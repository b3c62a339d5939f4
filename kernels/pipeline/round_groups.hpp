// RoundGroups: the groups of one worker's round, from its batches' events to the window state.
// This is the portable form, run by any executor whose memory is not the host's (and by the
// counting executor of the tests); the host executor has its own (kernels/host/host_round.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sluice/status.hpp"

#include "kernels/exec/buffer.hpp"
#include "kernels/partition.hpp"
#include "kernels/pipeline/plan.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "kernels/table/group_table.hpp"
#include "kernels/table/window_state.hpp"

namespace sluice::detail {

/// @brief How a round's batches fold into its group table: the portable pass,
/// GroupTable::add_events. An executor with a fast path specializes this (CudaExec:
/// kernels/cuda/fused_aggregate.cuh), which must agree with the portable pass.
template <class Exec>
struct EventFolder {
  explicit EventFolder(Exec&) {}
  void operator()(GroupTable<Exec>& table, const InputColumns& in, std::size_t rows,
                  ProgramSetView programs, const AggregationSpec& spec, std::int64_t wm_before,
                  AggregationCounters* counters, std::uint32_t* late_rows) {
    table.add_events(in, rows, programs, spec, wm_before, counters, late_rows);
  }
  /// @brief The groups the last round had (to choose a path for the next).
  void observe_groups(std::size_t) {}
};

/// @brief Words of the round status before the merge status: per batch its kept and late
/// counters, then the group count.
struct RoundStatusLayout {
  std::size_t batches = 0;
  std::size_t merge_words = 0;
  std::size_t counters() const { return 0; }
  std::size_t group_count() const { return 2 * batches; }
  std::size_t merge() const { return 2 * batches + 1; }
  std::size_t words() const { return merge() + merge_words; }
};

template <class Exec>
class RoundGroups {
 public:
  RoundGroups(Exec& exec, const PipelinePlan& plan, ProgramSetView programs,
              WindowState<Exec>& state)
      : exec_(&exec),
        plan_(plan),
        programs_(programs),
        state_(&state),
        table_(exec, plan.aggregation.key_words, plan.aggregation.states),
        groups_(exec, plan.aggregation.key_words, plan.aggregation.states.count),
        received_(exec, plan.aggregation.key_words, plan.aggregation.states.count),
        status_(exec),
        late_rows_(exec),
        outbox_(exec),
        inbox_(exec),
        partition_scratch_(exec),
        folder_(exec) {}

  void reserve(std::size_t batch_rows) {
    table_.reserve(batch_rows);
    late_rows_.resize_discard(batch_rows);
    groups_.resize_discard(table_.row_capacity());
  }

  void begin_round(std::size_t max_rows, std::size_t batches) {
    table_.reserve(max_rows);
    late_rows_.resize_discard(max_rows);
    batch_rows_.clear();
    batch_first_.clear();
    rows_ = 0;
    layout_.batches = batches;
    compacted_ = false;
    status_.resize_discard(layout_.merge());
    exec_->fill_bytes(status_.data(), 0, layout_.merge() * sizeof(unsigned long long));
  }

  /// The event-time ranges of batches are measured by the caller (see WorkerPipeline).
  static constexpr bool kMeasuresEventTimes = false;

  void aggregate(const BatchView& batch, const InputColumns& in, std::int64_t wm_before) {
    const std::size_t rows = batch.rows;
    const std::size_t b = batch_rows_.size();
    batch_rows_.push_back(rows);
    batch_first_.push_back(rows_);
    auto* counters = reinterpret_cast<AggregationCounters*>(status_.data() + 2 * b);
    folder_(table_, in, rows, programs_, plan_.aggregation, wm_before, counters,
            late_rows_.data() + rows_);
    rows_ += rows;
  }

  /// The round's groups are distinct already (one table per round): options.combine has nothing
  /// to do.
  std::span<const PartDescriptor> pack(const Partitioner& partitioner, const PackOptions& options) {
    if (!options.string_hashes.empty() && plan_.aggregation.string_key_mask != 0 &&
        partitioner.kind == Partitioner::Kind::hash)
      throw Error(ErrorCode::backend_unavailable,
                  "string group keys across processes are not supported on the GPU backend yet "
                  "(key by numbers, or run the CPU backend)");
    compact();
    const int width = packed_width();
    outbox_.resize_discard(groups_.size() * static_cast<std::size_t>(width));
    const std::vector<std::size_t>& sizes = partition_partials(
        *exec_, groups_.view(), group_count(), partitioner, outbox_.data(), partition_scratch_);
    parts_.assign(sizes.size(), PartDescriptor{});
    std::uint64_t first = 0;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      parts_[d] = PartDescriptor{first, sizes[d]};
      first += sizes[d];
    }
    return parts_;
  }

  OutboxView outbox() const {
    return OutboxView{outbox_.data(), exec_->device(), static_cast<std::uint32_t>(packed_width())};
  }

  void unpack(std::span<const ReceivedPart> parts) {
    const auto width = static_cast<std::size_t>(packed_width());
    std::size_t total = 0;
    for (const ReceivedPart& p : parts) total += p.part.rows;
    inbox_.resize_discard(total * width);
    std::size_t at = 0;
    for (const ReceivedPart& p : parts) {
      exec_->copy_from_peer(inbox_.data() + at * width, p.outbox.data + p.part.first_row * width,
                            p.outbox.device, p.part.rows * width * sizeof(std::uint64_t));
      at += p.part.rows;
    }
    // Several senders may hold parts of one group: fold them together again.
    unpack_partials(*exec_, inbox_.data(), total, received_);
    table_.reserve(total);
    table_.add_partials(received_.view(), nullptr);
    table_.compact(groups_, status_.data() + layout_.group_count());
    compacted_ = true;
  }

  /// @brief Writes the lookup's status words into `status` (the round status, executor memory)
  /// and returns how many words the round status has.
  std::size_t lookup(std::int64_t first_pane, std::int64_t last_pane, std::int64_t fired_wm) {
    compact();
    layout_.merge_words = state_->status_words(first_pane, last_pane, table_.row_capacity());
    status_.resize_keep(layout_.words());
    state_->lookup(groups_.view(), group_count(), table_.row_capacity(), first_pane, last_pane,
                   fired_wm, status_.data() + layout_.merge());
    return layout_.words();
  }
  const unsigned long long* status() const { return status_.data(); }

  /// @brief Takes the round status as the host has read it (valid until the next round).
  void settled(const unsigned long long* host_status) {
    host_status_ = host_status;
    folder_.observe_groups(static_cast<std::size_t>(host_status[layout_.group_count()]));
  }

  BatchOutcome outcome(std::size_t i) {
    BatchOutcome o;
    o.kept = static_cast<std::size_t>(host_status_[2 * i]);
    o.late = static_cast<std::size_t>(host_status_[2 * i + 1]);
    if (o.late > 0) {
      late_host_.resize(o.late);
      exec_->copy_to_host(late_host_.data(), late_rows_.data() + batch_first_[i],
                          o.late * sizeof(std::uint32_t));
      // The portable pass appends late rows in no particular order.
      std::sort(late_host_.begin(), late_host_.end());
      o.late_rows = late_host_;
    }
    return o;
  }

  void merge(std::int64_t fired_wm) {
    state_->insert(groups_.view(), group_count(), table_.row_capacity(),
                   host_status_ + layout_.merge(), fired_wm);
  }

 private:
  int packed_width() const {
    return static_cast<int>(
        packed_row_words(plan_.aggregation.key_words, plan_.aggregation.states.count));
  }
  const unsigned long long* group_count() const { return status_.data() + layout_.group_count(); }
  void compact() {
    if (compacted_) return;
    table_.compact(groups_, status_.data() + layout_.group_count());
    compacted_ = true;
  }

  Exec* exec_;
  const PipelinePlan& plan_;
  ProgramSetView programs_;
  WindowState<Exec>* state_;
  GroupTable<Exec> table_;
  Partials<Exec> groups_;
  Partials<Exec> received_;
  RoundStatusLayout layout_;
  Buffer<unsigned long long, Exec> status_;
  Buffer<std::uint32_t, Exec> late_rows_;
  Buffer<std::uint64_t, Exec> outbox_;
  Buffer<std::uint64_t, Exec> inbox_;
  PartitionScratch<Exec> partition_scratch_;
  EventFolder<Exec> folder_;
  const unsigned long long* host_status_ = nullptr;
  std::vector<std::size_t> batch_rows_;
  std::vector<std::size_t> batch_first_;
  std::vector<PartDescriptor> parts_;
  std::vector<std::uint32_t> late_host_;
  std::size_t rows_ = 0;
  bool compacted_ = false;
};

}  // namespace sluice::detail
