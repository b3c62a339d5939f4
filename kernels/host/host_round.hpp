// The host executor's forms of the round's stages: groups through the fused host aggregation
// and the per-partition merge, fired rows read in place, stateless outputs by the vector
// interpreter. Each agrees with the portable stage it replaces (kernels/pipeline/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/exec/host_exec.hpp"
#include "kernels/host/fused_aggregate.hpp"
#include "kernels/pipeline/fired_output.hpp"
#include "kernels/pipeline/projector.hpp"
#include "kernels/pipeline/round_groups.hpp"

namespace sluice::detail {

/// Host: each thread folds its share of a batch into its own table (HostAggregator); the lists
/// go to WindowState::merge_rows, one thread per partition. Exchanged parts are read straight
/// from the senders' outboxes (host memory).
template <>
class RoundGroups<HostExec> {
 public:
  RoundGroups(HostExec& exec, const PipelinePlan& plan, ProgramSetView programs,
              WindowState<HostExec>& state);

  /// The fold measures each batch's event-time range (slice_times()) in the same pass.
  static constexpr bool kMeasuresEventTimes = true;

  void reserve(std::size_t /*batch_rows*/) {}
  void begin_round(std::size_t max_rows, std::size_t batches);
  void aggregate(const BatchView& batch, const InputColumns& columns, std::int64_t wm_before);
  const SliceTimes& slice_times() const noexcept { return aggregator_.slice_times(); }
  /// The threads' tables flush when full, so the lists may hold several rows of one group:
  /// rows for owners in options.combine are combined first, unless recent rounds found too few
  /// duplicates for that to pay.
  std::span<const PartDescriptor> pack(const Partitioner& partitioner, const PackOptions& options);
  OutboxView outbox() const;
  void unpack(std::span<const ReceivedPart> parts);
  std::size_t lookup(std::int64_t, std::int64_t, std::int64_t) { return 0; }
  const unsigned long long* status() const { return nullptr; }
  void settled(const unsigned long long*) {}
  BatchOutcome outcome(std::size_t i);
  void merge(std::int64_t fired_wm);

 private:
  const PipelinePlan& plan_;
  WindowState<HostExec>* state_;
  HostAggregator aggregator_;
  struct Outcome {
    std::size_t kept = 0;
    std::size_t late_first = 0;
    std::size_t late = 0;
  };
  std::vector<Outcome> outcomes_;
  std::vector<std::uint32_t> late_rows_;
  // Exchange.
  std::vector<std::uint64_t> outbox_;
  std::vector<PartDescriptor> parts_;
  std::vector<std::uint64_t> cursor_;
  std::vector<std::uint32_t> owners_;          // per list row: owner, kCombined if combined
  std::vector<std::uint64_t> combined_;        // combined rows
  std::vector<std::uint32_t> combined_owner_;  // their owners
  std::vector<std::uint32_t> slots_;           // combined row + 1 by group hash; 0: empty
  int combine_rest_ = 0;                       // rounds left that do not combine
  bool received_ = false;
  std::vector<const std::uint64_t*> received_data_;
  std::vector<std::size_t> received_rows_;
  GroupRowLists received_lists_;
};

/// Host: the fired rows are already in host memory.
template <>
class FiredOutput<HostExec> {
 public:
  FiredOutput(HostExec& exec, int, int) : rows_(exec) {}
  FiredRows<HostExec>& rows() { return rows_; }
  void copy_out(std::size_t) { pending_ = true; }
  void mark_complete() {}
  const FiredView& collect() {
    view_ = FiredView{};
    if (pending_) {
      view_.size = static_cast<std::size_t>(rows_.count.data()[0]);
      view_.stride = rows_.capacity;
      view_.window = rows_.window.data();
      view_.keys = rows_.keys.data();
      view_.update = rows_.update.data();
      view_.states = rows_.states.data();
    }
    pending_ = false;
    return view_;
  }

 private:
  FiredRows<HostExec> rows_;
  bool pending_ = false;
  FiredView view_;
};

/// Host: filter and outputs by the vector interpreter, a block of rows at a time, on the
/// calling thread's OpenMP team (agrees with filter_project).
template <>
class Projector<HostExec> {
 public:
  Projector(HostExec& exec, const PipelinePlan& plan);
  const ProjectedView& operator()(const BatchView& batch, ProgramSetView programs,
                                  std::vector<std::uint32_t>& kept);

 private:
  const PipelinePlan& plan_;
  std::vector<std::vector<std::byte>> columns_;
  std::vector<std::uint32_t> block_counts_;
  struct ProjectionBlock {
    int slice;
    std::size_t first;
    std::size_t rows;
    std::size_t logical;
  };
  std::vector<ProjectionBlock> blocks_;
  ProjectedView view_;
};

}  // namespace sluice::detail
