// Worker: one worker's rounds.
#include "host/engine/worker.hpp"

#include <algorithm>

#include "kernels/host/time_range.hpp"
#include "kernels/ops/window_assign.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

Worker::Worker(int index, int workers, const CompiledQuery& query, WorkerPipeline& pipeline,
               RoundQueue& queue, Exchange& exchange, Emitter& emitter, WorkCounters& counters)
    : index_(index),
      workers_(workers),
      query_(query),
      pipeline_(pipeline),
      queue_(queue),
      exchange_(exchange),
      emitter_(emitter),
      counters_(counters),
      fired_wm_(kNoWatermark),
      clock_(query.plan.aggregation.panes, query.time_input >= 0, query.max_delay) {
  received_.reserve(static_cast<std::size_t>(workers));
  received_times_.reserve(static_cast<std::size_t>(workers));
  time_parts_.resize(static_cast<std::size_t>(workers));
}

void Worker::measure_times(const RoundPart& part) {
  stage_ = "event times";
  time_rows_.clear();
  const auto time_column = static_cast<std::size_t>(query_.time_input);
  for (const BatchLease& b : part.batches) {
    batch_ = b->id;
    scan_slice_times(b->view(), query_.time_input, query_.plan.input_types[time_column],
                     slice_times_);
    append_time_rows(*b, slice_times_, time_rows_);
  }
  batch_.reset();
  if (workers_ > 1) {
    stage_ = "event-time exchange";
    for (PartDescriptor& p : time_parts_) p = {0, time_rows_.size() / kTimeRowWords};
    exchange_.all_to_all(
        index_, time_parts_,
        OutboxView{time_rows_.data(), -1, static_cast<std::uint32_t>(kTimeRowWords)},
        received_times_);
    round_times_.clear();
    for (const ReceivedPart& r : received_times_) {
      const std::uint64_t* rows = r.outbox.data + r.part.first_row * kTimeRowWords;
      round_times_.insert(round_times_.end(), rows, rows + r.part.rows * kTimeRowWords);
    }
  }
  clock_.advance_all(workers_ > 1 ? round_times_ : time_rows_, round_before_);
  if (round_before_.size() != part.round_batches ||
      (!round_before_.empty() && round_before_.front().first != part.first_batch))
    throw Error(ErrorCode::internal, "round " + std::to_string(part.number) + ": event times of " +
                                         std::to_string(round_before_.size()) +
                                         " batches traded for a round of " +
                                         std::to_string(part.round_batches) + " from batch " +
                                         std::to_string(part.first_batch));
  wm_before_.clear();
  std::size_t mine = 0;
  for (const auto& [id, wm] : round_before_)
    if (mine < part.batches.size() && part.batches[mine]->id == id) {
      wm_before_.push_back(wm);
      ++mine;
    }
  if (mine != part.batches.size())
    throw Error(ErrorCode::internal, "event times of a batch of round " +
                                         std::to_string(part.number) + " were not traded");
}

std::string Worker::where() const {
  std::string text =
      "worker " + std::to_string(index_) + ", round " + std::to_string(round_) + ", " + stage_;
  if (batch_)
    text += ", batch " + std::to_string(*batch_);
  else
    text += ", no batch in this round";
  return text;
}

std::string Worker::where_device_fault() const {
  std::string text = "worker " + std::to_string(index_) + ", round " + std::to_string(round_) +
                     ", detected at " + stage_ +
                     "; the fault may come from any device work since " +
                     "the worker's last synchronization (";
  if (first_batch_ != 0)
    text += "batches " + std::to_string(first_batch_) + "-" + std::to_string(last_batch_) +
            " of this round, ";
  text += "the previous round's fire); CUDA_LAUNCH_BLOCKING=1 names the failing launch";
  return text;
}

void Worker::report_state() {
  const auto groups = static_cast<std::int64_t>(pipeline_.state_size());
  const auto bytes = static_cast<std::int64_t>(pipeline_.state_bytes());
  counters_.state_groups += groups - state_groups_;
  counters_.state_bytes += bytes - state_bytes_;
  state_groups_ = groups;
  state_bytes_ = bytes;
}

void Worker::stage_ahead(RoundPart& part, std::size_t next) {
  // The next batches' copies overlap with this batch's work (device executors).
  int staged = 0;
  for (std::size_t i = next; i < part.batches.size() && staged < WorkerPipeline::kStagedAhead;
       ++i, ++staged)
    pipeline_.stage(part.batches[i]->view());
  for (std::size_t q = 0; staged < WorkerPipeline::kStagedAhead; ++q) {
    RoundPart* later = queue_.peek(q);
    if (later == nullptr) break;
    for (std::size_t i = 0; i < later->batches.size() && staged < WorkerPipeline::kStagedAhead;
         ++i, ++staged)
      pipeline_.stage(later->batches[i]->view());
  }
}

void Worker::run_stateless(RoundPart& part) {
  for (std::size_t i = 0; i < part.batches.size(); ++i) {
    MicroBatch& b = *part.batches[i];
    batch_ = b.id;
    stage_ = "copy-in";
    stage_ahead(part, i + 1);
    stage_ = "filter and projection";
    const ProjectedView& rows = pipeline_.project(b.view(), kept_);
    counters_.filtered += b.rows - rows.rows;
    stage_ = "row output";
    emitter_.deliver_rows(part.number, b.id, rows);
  }
  emitter_.end_round(part.number);
}

void Worker::run_round(RoundPart& part) {
  round_ = part.number;
  batch_.reset();
  first_batch_ = part.batches.empty() ? 0 : part.batches.front()->id;
  last_batch_ = part.batches.empty() ? 0 : part.batches.back()->id;
  batches_ += part.batches.size();
  counters_.batches += part.batches.size();
  if (!query_.windowed) {
    run_stateless(part);
    return;
  }
  stage_ = "round start";
  pipeline_.begin_round(part.rows());
  clock_.begin_round(part.idle_sources, part.round_batches);
  const bool has_time = query_.time_input >= 0;
  // One worker whose fold measures event times as it goes: the batches before each are folded
  // (and measured) before it, so the times need no pass of their own.
  const bool measured_in_fold = has_time && workers_ == 1 && pipeline_.measures_event_times();
  if (has_time && !measured_in_fold) measure_times(part);
  for (std::size_t i = 0; i < part.batches.size(); ++i) {
    MicroBatch& b = *part.batches[i];
    batch_ = b.id;
    stage_ = "copy-in";
    stage_ahead(part, i + 1);
    stage_ = "pre-aggregation";
    if (measured_in_fold) {
      pipeline_.aggregate(b.view(), clock_.current());
      time_rows_.clear();
      append_time_rows(b, pipeline_.event_times(), time_rows_);
      clock_.advance(time_rows_);
    } else {
      pipeline_.aggregate(b.view(), has_time ? wm_before_[i] : kNoWatermark);
    }
  }
  if (workers_ > 1) {
    stage_ = "partitioning";
    const std::span<const PartDescriptor> parts = pipeline_.pack();
    stage_ = "exchange";
    exchange_.all_to_all(index_, parts, pipeline_.outbox(), received_);
    pipeline_.unpack(received_);
  }
  stage_ = "state lookup";
  pipeline_.settle(clock_.first_pane(), clock_.last_pane(), fired_wm_);
  for (std::size_t i = 0; i < part.batches.size(); ++i) {
    MicroBatch& b = *part.batches[i];
    const BatchOutcome outcome = pipeline_.outcome(i);
    counters_.filtered += b.rows - outcome.kept;
    counters_.late += outcome.late;
    if (outcome.late > 0) {
      batch_ = b.id;
      stage_ = "late output";
      emitter_.late(b, outcome.late_rows);
    }
  }
  if (pending_) {
    // The previous round's rows came back with this round's settle.
    stage_ = "emission";
    emitter_.deliver(index_, *pending_, pipeline_.collect_fired());
    pending_.reset();
  }
  stage_ = "state merge";
  pipeline_.merge(fired_wm_);
  stage_ = "watermark agreement";
  const std::int64_t wm = exchange_.all_reduce_min(index_, clock_.end_round(part.final));
  stage_ = "fire";
  pipeline_.fire(fired_wm_, wm);
  fired_wm_ = std::max(fired_wm_, wm);
  report_state();
  if (!part.final && queue_.peek(0) != nullptr) {
    pending_ = part.number;
    return;
  }
  stage_ = "emission";
  emitter_.deliver(index_, part.number, pipeline_.collect_fired());
}

}  // namespace sluice::detail
