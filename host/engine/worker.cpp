// Worker: one worker's rounds.
#include "host/engine/worker.hpp"

#include <algorithm>
#include <chrono>

#include "kernels/host/time_range.hpp"
#include "kernels/ops/window_assign.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

/// Adds the time from its construction to its destruction to `ns`, and observes it in
/// `histogram` (if given).
class StopWatch {
 public:
  explicit StopWatch(std::atomic<std::int64_t>& ns, HistogramRecorder* histogram = nullptr)
      : ns_(ns), histogram_(histogram), start_(std::chrono::steady_clock::now()) {}
  ~StopWatch() {
    const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start_)
                                .count();
    ns_ += ns;
    if (histogram_ != nullptr) histogram_->observe(static_cast<double>(ns) * 1e-9);
  }
  StopWatch(const StopWatch&) = delete;
  StopWatch& operator=(const StopWatch&) = delete;

 private:
  std::atomic<std::int64_t>& ns_;
  HistogramRecorder* histogram_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

Worker::Worker(int index, int workers, const CompiledQuery& query, WorkerPipeline& pipeline,
               RoundQueue& queue, Exchange& exchange, Emitter& emitter, WorkCounters& counters,
               const RankRole* role)
    : index_(index),
      workers_(workers),
      role_(role),
      local_index_(role != nullptr ? index % role->local_workers : index),
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
  idle_words_.reserve(8);
  if (role_ != nullptr) {
    ended_.assign(static_cast<std::size_t>(role_->ranks), 0);
    clock_.expect_ranks(role_->ranks);
    for (int m = 0; m < workers; ++m)
      remote_.push_back(m / role_->local_workers != role_->rank ? 1 : 0);
    fired_parts_.resize(static_cast<std::size_t>(workers));
    if (query_.plan.aggregation.string_key_mask != 0) text_hashes_.emplace(role_->dictionary);
  }
}

bool Worker::agree_round(const RoundPart& part, bool scan_times) {
  stage_ = "event times";
  time_rows_.clear();
  const int my_rank = rank();
  // The rank's facts, from its first worker (every worker of a rank has the same).
  if (role_ != nullptr && local_index_ == 0) {
    time_rows_.insert(time_rows_.end(),
                      {static_cast<std::uint64_t>(my_rank), kRoundFacts, part.round_batches,
                       (part.final ? kRankEnded : 0U) | (part.save_state ? kRankSaves : 0U)});
    for (int s : part.idle_sources)
      time_rows_.insert(time_rows_.end(), {static_cast<std::uint64_t>(my_rank), kIdleSource,
                                           source_word(my_rank, s), 0});
  }
  unrepresentable_.assign(part.batches.size(), 0);
  if (scan_times) {
    const auto time_column = static_cast<std::size_t>(query_.time_input);
    for (std::size_t i = 0; i < part.batches.size(); ++i) {
      const MicroBatch& b = *part.batches[i];
      batch_ = b.id;
      scan_slice_times(b.view(), query_.time_input, query_.plan.input_types[time_column],
                       slice_times_);
      unrepresentable_[i] =
          append_time_rows(b, slice_times_, my_rank, query_.plan.aggregation.panes,
                           query_.time_input, query_.plan.input_types[time_column], time_rows_);
    }
    batch_.reset();
  }
  const std::vector<std::uint64_t>* all = &time_rows_;
  if (workers_ > 1 && (scan_times || role_ != nullptr)) {
    stage_ = "event-time exchange";
    for (PartDescriptor& p : time_parts_) p = {0, time_rows_.size() / kTimeRowWords};
    {
      const StopWatch in_exchange(counters_.exchange_ns);
      exchange_.all_to_all(
          index_, time_parts_,
          OutboxView{time_rows_.data(), -1, static_cast<std::uint32_t>(kTimeRowWords)},
          received_times_, nullptr);
    }
    round_times_.clear();
    for (const ReceivedPart& r : received_times_) {
      const std::uint64_t* rows = r.outbox.data + r.part.first_row * kTimeRowWords;
      round_times_.insert(round_times_.end(), rows, rows + r.part.rows * kTimeRowWords);
    }
    all = &round_times_;
  }
  // The round's facts: from the part in one process, from every rank's rows across ranks.
  std::size_t round_batches = part.round_batches;
  bool last = part.final;
  idle_words_.clear();
  newly_ended_.clear();
  saves_now_ = part.save_state;
  if (role_ == nullptr) {
    for (int s : part.idle_sources) idle_words_.push_back(source_word(0, s));
    std::sort(idle_words_.begin(), idle_words_.end());
  } else {
    round_batches = 0;
    batch_times_.clear();
    int saving = 0;
    for (std::size_t r = 0; r + kTimeRowWords <= all->size(); r += kTimeRowWords) {
      const std::uint64_t* row = all->data() + r;
      if (row[1] == kRoundFacts) {
        round_batches += row[2];
        saving += (row[3] & kRankSaves) != 0 ? 1 : 0;
        if ((row[3] & kRankEnded) != 0 && row[0] < ended_.size() && !ended_[row[0]]) {
          ended_[row[0]] = 1;
          newly_ended_.push_back(static_cast<int>(row[0]));
        }
      } else if (row[1] == kIdleSource) {
        idle_words_.push_back(row[2]);
      } else {
        batch_times_.insert(batch_times_.end(), row, row + kTimeRowWords);
      }
    }
    std::sort(idle_words_.begin(), idle_words_.end());
    last = std::all_of(ended_.begin(), ended_.end(), [](char e) { return e != 0; });
    // A checkpoint across ranks is the round that every rank asked for one in (each rank's
    // job waits in checkpoint(), sending such rounds, until that round comes); once a rank's
    // input has ended there is none.
    peers_ended_ = std::any_of(ended_.begin(), ended_.end(), [](char e) { return e != 0; });
    saves_now_ = saving == role_->ranks && !peers_ended_;
    all = &batch_times_;
  }
  clock_.begin_round(idle_words_, round_batches);
  if (!scan_times) return last;
  clock_.advance_all(*all, round_before_);
  if (round_before_.size() != round_batches || (role_ == nullptr && !round_before_.empty() &&
                                                round_before_.front().first != part.first_batch))
    throw Error(ErrorCode::internal, "round " + std::to_string(part.number) + ": event times of " +
                                         std::to_string(round_before_.size()) +
                                         " batches traded for a round of " +
                                         std::to_string(round_batches) + " from batch " +
                                         std::to_string(part.first_batch));
  wm_before_.clear();
  std::size_t mine = 0;
  for (const auto& [id, wm] : round_before_)
    if (mine < part.batches.size() && batch_word(my_rank, part.batches[mine]->id) == id) {
      wm_before_.push_back(wm);
      ++mine;
    }
  if (mine != part.batches.size())
    throw Error(ErrorCode::internal, "event times of a batch of round " +
                                         std::to_string(part.number) + " were not traded");
  return last;
}

void Worker::emit_fired(std::uint64_t round, std::int64_t pushed_ns) {
  const FiredView& rows = pipeline_.collect_fired();
  if (role_ == nullptr || !role_->gather_results) {
    emitter_.deliver(local_index_, round, rows, pushed_ns);
    return;
  }
  // Every member's rows to member 0, as rows [window, keys, update, states].
  stage_ = "result gathering";
  const auto key_words = static_cast<std::size_t>(query_.plan.aggregation.key_words);
  const auto state_words = static_cast<std::size_t>(query_.plan.aggregation.states.count);
  const std::size_t width = 2 + key_words + state_words;
  fired_rows_.resize(rows.size * width);
  for (std::size_t i = 0; i < rows.size; ++i) {
    std::uint64_t* out = fired_rows_.data() + i * width;
    out[0] = static_cast<std::uint64_t>(rows.window[i]);
    for (std::size_t k = 0; k < key_words; ++k) out[1 + k] = rows.keys[k * rows.stride + i];
    out[1 + key_words] = rows.update[i];
    for (std::size_t s = 0; s < state_words; ++s)
      out[2 + key_words + s] = rows.states[s * rows.stride + i];
  }
  for (PartDescriptor& p : fired_parts_) p = {};
  fired_parts_[0] = {0, rows.size};
  {
    const StopWatch in_exchange(counters_.exchange_ns);
    exchange_.all_to_all(index_, fired_parts_,
                         OutboxView{fired_rows_.data(), -1, static_cast<std::uint32_t>(width)},
                         received_fired_, role_->fired);
  }
  if (index_ != 0) {
    emitter_.deliver(local_index_, round, FiredView{}, 0);
    return;
  }
  std::size_t n = 0;
  for (const ReceivedPart& r : received_fired_) n += r.part.rows;
  gathered_window_.resize(n);
  gathered_keys_.resize(n * key_words);
  gathered_update_.resize(n);
  gathered_states_.resize(n * state_words);
  std::size_t at = 0;
  for (const ReceivedPart& r : received_fired_)
    for (std::size_t i = 0; i < r.part.rows; ++i, ++at) {
      const std::uint64_t* row = r.outbox.data + (r.part.first_row + i) * width;
      gathered_window_[at] = static_cast<std::int64_t>(row[0]);
      for (std::size_t k = 0; k < key_words; ++k) gathered_keys_[k * n + at] = row[1 + k];
      gathered_update_[at] = static_cast<std::uint8_t>(row[1 + key_words]);
      for (std::size_t s = 0; s < state_words; ++s)
        gathered_states_[s * n + at] = row[2 + key_words + s];
    }
  FiredView all;
  all.size = n;
  all.stride = n;
  all.window = gathered_window_.data();
  all.keys = gathered_keys_.data();
  all.update = gathered_update_.data();
  all.states = gathered_states_.data();
  emitter_.deliver(local_index_, round, all, pushed_ns);
}

std::string Worker::where() const {
  std::string text = (role_ != nullptr ? "rank " + std::to_string(role_->rank) + ", " : "") +
                     "worker " + std::to_string(local_index_) + ", round " +
                     std::to_string(round_) + ", " + stage_;
  if (batch_)
    text += ", batch " + std::to_string(*batch_);
  else
    text += ", no batch in this round";
  return text;
}

std::string Worker::where_device_fault() const {
  std::string text = (role_ != nullptr ? "rank " + std::to_string(role_->rank) + ", " : "") +
                     "worker " + std::to_string(local_index_) + ", round " +
                     std::to_string(round_) + ", detected at " + stage_ +
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
  const auto slots = static_cast<std::int64_t>(pipeline_.state_slots());
  counters_.state_groups += groups - state_groups_;
  counters_.state_bytes += bytes - state_bytes_;
  counters_.state_slots += slots - state_slots_;
  state_groups_ = groups;
  state_bytes_ = bytes;
  state_slots_ = slots;
  if (memory_limit_ == 0) return;
  const std::int64_t state = counters_.state_bytes;
  const std::int64_t strings = counters_.dictionary_bytes;
  if (static_cast<std::uint64_t>(std::max<std::int64_t>(0, state + strings)) <= memory_limit_)
    return;
  throw Error(ErrorCode::out_of_memory,
              "the window state holds " + std::to_string(state) + " bytes (" +
                  std::to_string(counters_.state_groups.load()) +
                  " live groups) and the string dictionary " + std::to_string(strings) +
                  " bytes, together more than the state memory limit of " +
                  std::to_string(memory_limit_) + " bytes (EngineConfig::state_memory_limit)");
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
    counters_.aggregated += rows.rows;
    stage_ = "row output";
    emitter_.deliver_rows(part.number, b.id, rows);
  }
  emitter_.end_round(part.number);
  if (part.census_words > 0) census_.assign(part.census_words, 0);  // no state
  if (part.save_state) save_state();
  finished_ = part.final;
}

void Worker::save_state() {
  stage_ = "checkpoint";
  ++saves_;
  saved_.clear();
  WordWriter out(saved_);
  out.put(batches_);
  out.put_i64(fired_wm_);
  clock_.save(out);
  // The window state's words last, counted once written.
  const std::size_t count_at = out.size();
  out.put(0);
  pipeline_.save_state(saved_);
  saved_[count_at] = saved_.size() - count_at - 1;
}

void Worker::restore(std::span<const std::uint64_t> words) {
  WordReader in(words, "worker " + std::to_string(index_) + "'s state in the checkpoint");
  batches_ = in.get();
  fired_wm_ = in.get_i64();
  clock_.restore(in);
  const std::span<const std::uint64_t> state = in.get_words();
  if (pipeline_.restore_state(state) != state.size() || !in.done())
    in.fail("words beyond the window state");
  report_state();
}

void Worker::run_round(RoundPart& part) {
  const StopWatch in_round(counters_.round_ns, &counters_.round_duration);
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
  const bool has_time = query_.time_input >= 0;
  // One worker whose fold measures event times as it goes: the batches before each are folded
  // (and measured) before it, so the times need no pass of their own.
  const bool measured_in_fold = has_time && workers_ == 1 && pipeline_.measures_event_times();
  const bool last = agree_round(part, has_time && !measured_in_fold);
  for (std::size_t i = 0; i < part.batches.size(); ++i) {
    MicroBatch& b = *part.batches[i];
    batch_ = b.id;
    stage_ = "copy-in";
    stage_ahead(part, i + 1);
    stage_ = "pre-aggregation";
    if (measured_in_fold) {
      pipeline_.aggregate(b.view(), clock_.current());
      time_rows_.clear();
      unrepresentable_[i] = append_time_rows(
          b, pipeline_.event_times(), 0, query_.plan.aggregation.panes, query_.time_input,
          query_.plan.input_types[static_cast<std::size_t>(query_.time_input)], time_rows_);
      clock_.advance(time_rows_);
    } else {
      pipeline_.aggregate(b.view(), has_time ? wm_before_[i] : kNoWatermark);
    }
  }
  if (workers_ > 1) {
    stage_ = "partitioning";
    PackOptions pack;
    if (text_hashes_) pack.string_hashes = text_hashes_->refresh(role_->dictionary);
    pack.combine = remote_;
    const std::span<const PartDescriptor> parts = pipeline_.pack(pack);
    stage_ = "exchange";
    if (role_ != nullptr) {
      std::uint64_t rows = 0;
      for (std::size_t d = 0; d < parts.size(); ++d)
        if (static_cast<int>(d) / role_->local_workers != role_->rank) rows += parts[d].rows;
      counters_.partial_bytes += rows * pipeline_.outbox().row_words * sizeof(std::uint64_t);
    }
    {
      const StopWatch in_exchange(counters_.exchange_ns);
      exchange_.all_to_all(index_, parts, pipeline_.outbox(), received_,
                           role_ != nullptr ? role_->partials : nullptr);
    }
    pipeline_.unpack(received_);
  }
  stage_ = "state lookup";
  pipeline_.settle(clock_.first_pane(), clock_.last_pane(), fired_wm_);
  for (std::size_t i = 0; i < part.batches.size(); ++i) {
    MicroBatch& b = *part.batches[i];
    const BatchOutcome outcome = pipeline_.outcome(i);
    // Rows with unrepresentable event times were dropped before the filter's count.
    counters_.filtered += b.rows - outcome.kept - unrepresentable_[i];
    counters_.unrepresentable += unrepresentable_[i];
    counters_.late += outcome.late;
    counters_.aggregated += outcome.kept - outcome.late;
    if (outcome.late > 0) {
      batch_ = b.id;
      stage_ = "late output";
      emitter_.late(b, outcome.late_rows);
    }
  }
  if (pending_) {
    // The previous round's rows came back with this round's settle.
    stage_ = "emission";
    emitter_.deliver(local_index_, *pending_, pipeline_.collect_fired(), pending_pushed_ns_);
    pending_.reset();
  }
  stage_ = "state merge";
  pipeline_.merge(fired_wm_);
  stage_ = "watermark agreement";
  for (int r : newly_ended_) clock_.retire_rank(r);
  std::int64_t wm = 0;
  {
    const StopWatch in_exchange(counters_.exchange_ns);
    // A job that stops without draining keeps its watermark: open windows are not fired. Across
    // ranks the least watermark wins, so one rank stopping so stops every rank's.
    wm = exchange_.all_reduce_min(index_, clock_.end_round(last && part.drain));
  }
  stage_ = "fire";
  pipeline_.fire(fired_wm_, wm, part.early_fire && !last);
  fired_wm_ = std::max(fired_wm_, wm);
  // Every worker reaches the same watermark in a round; the first to publish it wins.
  for (std::int64_t seen = counters_.watermark.load(std::memory_order_relaxed);
       seen < fired_wm_ &&
       !counters_.watermark.compare_exchange_weak(seen, fired_wm_, std::memory_order_relaxed);) {
  }
  stage_ = "state size";
  report_state();
  if (part.census_words > 0) {
    stage_ = "string census";
    census_.assign(part.census_words, 0);
    pipeline_.mark_string_codes(query_.plan.aggregation.string_key_mask, census_);
  }
  if (saves_now_) save_state();
  finished_ = last;
  // Across ranks every member emits in every round (the gathering is a collective); a
  // checkpoint's round emits at once, so that its windows reach the sinks before it is written.
  // The latency of rows the end of the input fired says nothing of the engine: not observed.
  std::int64_t pushed_ns = 0;
  if (!(last && part.drain))
    for (const BatchLease& b : part.batches)
      if (b->first_push_ns != 0 && (pushed_ns == 0 || b->first_push_ns < pushed_ns))
        pushed_ns = b->first_push_ns;
  if (!last && role_ == nullptr && !part.save_state && queue_.peek(0) != nullptr) {
    pending_ = part.number;
    pending_pushed_ns_ = pushed_ns;
    return;
  }
  stage_ = "emission";
  emit_fired(part.number, pushed_ns);
}

}  // namespace sluice::detail
