// WorkerPipeline implemented once over an executor from its stages; instantiated by
// pipeline.cpp (host, with the host's stages) and pipeline.cu (CUDA).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "kernels/exec/buffer.hpp"
#include "kernels/exec/lane.hpp"
#include "kernels/pipeline/fired_output.hpp"
#include "kernels/pipeline/projector.hpp"
#include "kernels/pipeline/round_groups.hpp"
#include "kernels/pipeline/staging.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "kernels/table/window_state.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

/// @brief Partitions of the window state on an executor: one per OpenMP thread on the host,
/// rounded up to a power of two; one on devices (their merge uses atomics).
template <class Exec>
int state_partitions(const Exec&) {
  return 1;
}

/// @brief The stages of one worker, composed: staging of batches (device-like executors), the
/// round's groups, the window state, the fired rows and, for stateless queries, the projector.
template <class Exec>
class PipelineImpl final : public WorkerPipeline {
 public:
  template <class... ExecArgs>
  explicit PipelineImpl(const PipelinePlan& plan, ExecArgs&&... exec_args)
      : exec_(std::forward<ExecArgs>(exec_args)...),
        plan_(plan),
        code_(exec_, plan.code.size()),
        programs_(exec_, plan.programs.size()),
        host_status_(exec_) {
    exec_.copy_from_host(code_.data(), plan_.code.data(), plan_.code.size() * sizeof(Instr));
    exec_.copy_from_host(programs_.data(), plan_.programs.data(),
                         plan_.programs.size() * sizeof(ProgramRef));
    const ProgramSetView programs = program_set();
    if constexpr (Exec::kIsDevice) staging_.emplace(exec_, plan_.input_types);
    if (plan_.windowed) {
      const AggregationSpec& a = plan_.aggregation;
      state_.emplace(exec_, a.states, a.key_words, a.panes, a.hasher, state_partitions(exec_),
                     a.trigger);
      groups_.emplace(exec_, plan_, programs, *state_);
      fired_.emplace(exec_, a.key_words, a.states.count);
    } else {
      projector_.emplace(exec_, plan_);
    }
  }

  ~PipelineImpl() override {
    // Copies in flight read or write buffers freed below.
    exec_.quiesce();
  }

  void reserve(std::size_t batch_rows) override {
    if (staging_) staging_->reserve(batch_rows);
    if (groups_) groups_->reserve(batch_rows);
    exec_.synchronize();
  }

  void stage(const BatchView& batch) override {
    if (staging_) staging_->stage(batch);
  }

  const ProjectedView& project(const BatchView& batch, std::vector<std::uint32_t>& kept) override {
    if constexpr (Exec::kIsDevice) {
      const InputColumns in = staging_->acquire(batch);
      const ProjectedView& view = (*projector_)(in, batch.rows, program_set(), kept);
      staging_->release(batch);
      return view;
    } else {
      return (*projector_)(batch, program_set(), kept);
    }
  }

  void begin_round(std::size_t max_rows) override {
    batches_ = 0;
    max_rows_ = max_rows;
    groups_->begin_round(max_rows, kMaxRoundBatches);
  }

  void aggregate(const BatchView& batch, std::int64_t wm_before) override {
    if (++batches_ > kMaxRoundBatches)
      throw Error(
          ErrorCode::internal,
          "a round holds more than " + std::to_string(kMaxRoundBatches) + " batches of one worker");
    if constexpr (Exec::kIsDevice) {
      const InputColumns in = staging_->acquire(batch);
      groups_->aggregate(batch, in, wm_before);
      staging_->release(batch);
    } else {
      groups_->aggregate(batch, InputColumns{}, wm_before);
    }
  }

  bool measures_event_times() const override {
    return RoundGroups<Exec>::kMeasuresEventTimes && groups_ && plan_.time_column >= 0;
  }

  const SliceTimes& event_times() const override {
    if constexpr (RoundGroups<Exec>::kMeasuresEventTimes) {
      return groups_->slice_times();
    } else {
      throw Error(ErrorCode::internal, "this pipeline does not measure event times");
    }
  }

  std::span<const PartDescriptor> pack(const PackOptions& options) override {
    return groups_->pack(plan_.partitioner, options);
  }
  OutboxView outbox() const override { return groups_->outbox(); }
  void unpack(std::span<const ReceivedPart> parts) override { groups_->unpack(parts); }

  void settle(std::int64_t first_pane, std::int64_t last_pane, std::int64_t fired_wm) override {
    const std::size_t words = groups_->lookup(first_pane, last_pane, fired_wm);
    if (words > 0) {
      // The round's one synchronization: the status comes back on the copy-out lane, behind
      // the previous fire's rows, so one wait brings both.
      host_status_.reserve_discard(words);
      exec_.record(status_ready_, Lane::compute);
      exec_.wait(Lane::copy_out, status_ready_);
      exec_.copy_to_host_on(Lane::copy_out, host_status_.data(), groups_->status(),
                            words * sizeof(unsigned long long));
      exec_.record(settled_, Lane::copy_out);
      exec_.wait_host(settled_);
      groups_->settled(host_status_.data());
    }
    fired_->mark_complete();
    state_->next_generation();
  }

  BatchOutcome outcome(std::size_t i) override { return groups_->outcome(i); }

  const FiredView& collect_fired() override {
    if (!fired_) return empty_;
    return fired_->collect();
  }

  void merge(std::int64_t fired_wm) override { groups_->merge(fired_wm); }

  void fire(std::int64_t prev_wm, std::int64_t wm, bool early) override {
    const FirePlan plan = state_->fire(prev_wm, wm, fired_->rows(), early);
    fired_->copy_out(plan.rows_bound);
    state_->evict(wm);
  }

  void mark_string_codes(std::uint32_t code_words, std::vector<std::uint32_t>& bits) override {
    if (!state_ || bits.empty() || state_->size() == 0) return;
    Buffer<unsigned int, Exec> marks(exec_, bits.size());
    exec_.fill_bytes(marks.data(), 0, bits.size() * sizeof(unsigned int));
    state_->mark_codes(code_words, marks.data(), bits.size());
    std::vector<std::uint32_t> mine(bits.size());
    exec_.copy_to_host(mine.data(), marks.data(), bits.size() * sizeof(unsigned int));
    for (std::size_t w = 0; w < bits.size(); ++w) bits[w] |= mine[w];
  }

  void save_state(std::vector<std::uint64_t>& words) override {
    if (state_) state_->save(words);
  }
  std::size_t restore_state(std::span<const std::uint64_t> words) override {
    return state_ ? state_->restore(words) : 0;
  }

  std::size_t state_size() const override { return state_ ? state_->size() : 0; }
  std::size_t state_bytes() const override { return state_ ? state_->bytes() : 0; }
  std::size_t state_slots() const override { return state_ ? state_->slots() : 0; }

  Exec& executor() { return exec_; }

 private:
  /// Batches one worker's round may hold: the round status has room for this many counters.
  static constexpr std::size_t kMaxRoundBatches = 64;

  ProgramSetView program_set() { return ProgramSetView{code_.data(), programs_.data()}; }

  Exec exec_;
  PipelinePlan plan_;
  Buffer<Instr, Exec> code_;
  Buffer<ProgramRef, Exec> programs_;
  std::optional<Staging<Exec, WorkerPipeline::kStagedAhead + 1>> staging_;
  std::optional<WindowState<Exec>> state_;
  std::optional<RoundGroups<Exec>> groups_;
  std::optional<FiredOutput<Exec>> fired_;
  std::optional<Projector<Exec>> projector_;
  HostBuffer<unsigned long long, Exec> host_status_;
  typename Exec::Event status_ready_;
  typename Exec::Event settled_;
  std::size_t batches_ = 0;
  std::size_t max_rows_ = 0;
  FiredView empty_;
};

}  // namespace sluice::detail
