// Worker: one worker's rounds.
#include "host/engine/worker.hpp"

#include <algorithm>

#include "kernels/ops/window_assign.hpp"

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
      fired_wm_(kNoWatermark) {
  received_.reserve(static_cast<std::size_t>(workers));
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
  for (std::size_t i = 0; i < part.batches.size(); ++i) {
    MicroBatch& b = *part.batches[i];
    batch_ = b.id;
    stage_ = "copy-in";
    stage_ahead(part, i + 1);
    stage_ = "pre-aggregation";
    pipeline_.aggregate(b.view(), b.wm_before);
  }
  if (workers_ > 1) {
    stage_ = "partitioning";
    const std::span<const PartDescriptor> parts = pipeline_.pack();
    stage_ = "exchange";
    exchange_.all_to_all(index_, parts, pipeline_.outbox(), received_);
    pipeline_.unpack(received_);
  }
  stage_ = "state lookup";
  pipeline_.settle(part.first_pane, part.last_pane, fired_wm_);
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
  const std::int64_t wm = exchange_.all_reduce_min(index_, part.watermark);
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
