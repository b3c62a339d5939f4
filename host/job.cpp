// Job::Impl: ingest, dispatch in rounds, worker threads and emission.
#include <omp.h>
#include <thrust/system_error.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "host/cuda_probe.hpp"
#include "host/job_impl.hpp"
#include "host/result_decoder.hpp"
#include "kernels/ops/program.hpp"

namespace sluice {
namespace {

using detail::kFinalWatermark;
using detail::kNoWatermark;

Schema read_schema_of(const Schema& schema, const std::vector<std::size_t>& read) {
  std::vector<Field> fields;
  for (std::size_t c : read) fields.push_back(schema.field(c));
  return Schema(std::move(fields));
}

std::size_t pool_limit(const EngineConfig& config, int workers) {
  // Batches alive at once: one filling, a forming round, two queued rounds and one running
  // round per worker, plus what the user allows to wait.
  return 1 + static_cast<std::size_t>(workers) * 4 + config.queue_batches;
}

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status status_of_current_exception(const std::string& where) {
  try {
    throw;
  } catch (const Error& e) {
    return Status(e.code(), where + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::out_of_memory, where + ": out of host memory");
  } catch (const thrust::system_error& e) {
    // A failure Thrust detected in a device algorithm (its message names the algorithm).
    const std::string what = e.what();
    const bool memory = what.find("cudaErrorMemoryAllocation") != std::string::npos ||
                        what.find("out of memory") != std::string::npos;
    return Status(memory ? ErrorCode::out_of_memory : ErrorCode::device_error, where + ": " + what);
  } catch (const std::exception& e) {
    return Status(ErrorCode::internal, where + ": " + e.what());
  } catch (...) {
    return Status(ErrorCode::internal, where + ": an exception of unknown type");
  }
}

}  // namespace

Job::Impl::Impl(const EngineConfig& config, Backend backend, Schema schema,
                detail::CompiledQuery query, DictionaryPtr dictionary)
    : config_(config),
      backend_(backend),
      schema_(std::move(schema)),
      read_schema_(read_schema_of(schema_, query.read_columns)),
      query_(std::move(query)),
      dictionary_(std::move(dictionary)),
      workers_(config.workers),
      widths_([&] {
        std::vector<std::size_t> w;
        for (std::size_t c : query_.read_columns) w.push_back(type_width(schema_.field(c).type.id));
        return w;
      }()),
      pool_(widths_, std::max<std::size_t>(config.batch_rows, 1), pool_limit(config, workers_),
            backend == Backend::gpu),
      watermark_(query_.max_delay, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                       config.source_idle_timeout)),
      balancer_(config.balance, workers_, config.weights, config.seed),
      queues_(static_cast<std::size_t>(workers_)),
      per_worker_(static_cast<std::size_t>(workers_)) {
  std::vector<DictionaryPtr> dicts;
  for (std::size_t c = 0; c < schema_.size(); ++c)
    dicts.push_back(schema_.field(c).type.id == TypeId::string ? dictionary_ : nullptr);
  row_builder_.emplace(schema_, std::move(dicts));
  forming_.batches.resize(static_cast<std::size_t>(workers_));
  exchange_ = std::make_unique<detail::LocalExchange>(workers_);
  last_activity_ = std::chrono::steady_clock::now();
  pipelines_.resize(static_cast<std::size_t>(workers_));
  for (int w = 0; w < workers_; ++w) threads_.emplace_back([this, w] { worker_main(w); });
  timer_ = std::thread([this] { timer_main(); });
}

Job::Impl::~Impl() {
  if (!finished_) {
    try {
      finish();
    } catch (...) {  // a destructor must not throw; status() keeps the error
    }
  }
}

BatchBuilder Job::Impl::make_builder() const {
  std::vector<DictionaryPtr> dicts;
  for (std::size_t c = 0; c < schema_.size(); ++c)
    dicts.push_back(schema_.field(c).type.id == TypeId::string ? dictionary_ : nullptr);
  return BatchBuilder(schema_, std::move(dicts));
}

void Job::Impl::throw_if_failed() const {
  if (failed()) throw Error(status());
}

void Job::Impl::push(const Batch& batch, int source) {
  if (!(batch.schema() == schema_))
    throw Error(ErrorCode::invalid_argument, "push: batch schema (" + batch.schema().to_string() +
                                                 ") differs from the job's (" +
                                                 schema_.to_string() + ")");
  std::lock_guard lock(ingest_mutex_);
  if (finished_) throw Error(ErrorCode::invalid_argument, "push after finish()");
  throw_if_failed();
  flush_rows_locked();
  append_locked(batch, source);
}

void Job::Impl::push_row(std::span<const Value> row, int source) {
  std::lock_guard lock(ingest_mutex_);
  if (finished_) throw Error(ErrorCode::invalid_argument, "push_row after finish()");
  throw_if_failed();
  if (source != row_source_) {
    flush_rows_locked();
    row_source_ = source;
  }
  row_builder_->append_row(row);
  if (row_builder_->rows() >= 4096) flush_rows_locked();
}

void Job::Impl::flush_rows_locked() {
  if (row_builder_->rows() == 0) return;
  append_locked(row_builder_->finish(), row_source_);
}

std::vector<std::uint32_t> Job::Impl::translation_for(const Batch& batch, std::size_t column) {
  // Codes of a foreign dictionary are re-encoded through the job's dictionary; the table of
  // each foreign dictionary grows as it does.
  const StringDictionary* foreign = batch.dictionary(column).get();
  std::vector<std::uint32_t>& table = translations_[foreign];
  for (std::size_t code = table.size(); code < foreign->size(); ++code)
    table.push_back(dictionary_->intern(foreign->at(static_cast<std::uint32_t>(code))));
  return table;
}

void Job::Impl::append_locked(const Batch& batch, int source) {
  if (started_ns_ == 0) started_ns_ = steady_now_ns();
  last_activity_ = std::chrono::steady_clock::now();
  watermark_.touch(source, last_activity_);
  events_in_ += batch.rows();
  std::vector<std::vector<std::uint32_t>> translate(query_.read_columns.size());
  for (std::size_t r = 0; r < query_.read_columns.size(); ++r) {
    const std::size_t c = query_.read_columns[r];
    if (schema_.field(c).type.id == TypeId::string &&
        batch.dictionary(c).get() != dictionary_.get())
      translate[r] = translation_for(batch, c);
  }
  std::size_t done = 0;
  while (done < batch.rows()) {
    if (current_ == nullptr) {
      current_ = pool_.acquire([this] { return failed(); });
      if (current_ == nullptr) throw_if_failed();
    }
    const std::size_t take = std::min(batch.rows() - done, current_->capacity - current_->rows);
    for (std::size_t r = 0; r < query_.read_columns.size(); ++r) {
      const std::size_t c = query_.read_columns[r];
      const std::size_t w = widths_[r];
      const auto* src = static_cast<const std::byte*>(batch.column(c).data) + done * w;
      std::byte* dst = current_->columns[r].get() + current_->rows * w;
      if (translate[r].empty()) {
        std::memcpy(dst, src, take * w);
      } else {
        const auto* codes = reinterpret_cast<const std::uint32_t*>(src);
        auto* out = reinterpret_cast<std::uint32_t*>(dst);
        for (std::size_t i = 0; i < take; ++i) out[i] = translate[r][codes[i]];
      }
    }
    if (query_.time_input >= 0) {
      const auto r = static_cast<std::size_t>(query_.time_input);
      const void* col = current_->columns[r].get();
      const detail::ColumnType type = query_.plan.input_types[r];
      std::int64_t max_time = INT64_MIN;
      for (std::size_t i = current_->rows; i < current_->rows + take; ++i)
        max_time = std::max(max_time, static_cast<std::int64_t>(detail::load_column(col, type, i)));
      auto [it, fresh] = current_max_time_.try_emplace(source, max_time);
      if (!fresh) it->second = std::max(it->second, max_time);
    }
    current_->rows += take;
    done += take;
    if (current_->rows == current_->capacity) seal_locked();
  }
}

void Job::Impl::seal_locked() {
  if (current_ == nullptr || current_->rows == 0) return;
  detail::HostBatch* batch = current_;
  current_ = nullptr;
  batch->sequence = next_sequence_++;
  batch->wm_before = watermark_.current();
  for (const auto& [source, max_time] : current_max_time_) watermark_.observe(source, max_time);
  current_max_time_.clear();
  watermark_.refresh(std::chrono::steady_clock::now());
  const int worker = balancer_.next();
  forming_.batches[static_cast<std::size_t>(worker)].push_back(batch);
  ++forming_count_;
  if (forming_count_ >= static_cast<std::size_t>(workers_)) dispatch_locked(false);
}

void Job::Impl::dispatch_locked(bool final, bool even_if_empty) {
  if (forming_count_ == 0 && !final && !even_if_empty) return;
  Round round = std::move(forming_);
  forming_ = Round{};
  forming_.batches.resize(static_cast<std::size_t>(workers_));
  forming_count_ = 0;
  round.number = next_round_++;
  round.final = final;
  round.watermark = final ? kFinalWatermark : watermark_.current();
  dispatched_wm_ = round.watermark;
  for (int w = 0; w < workers_; ++w) {
    Round part;
    part.number = round.number;
    part.final = round.final;
    part.watermark = round.watermark;
    part.batches.resize(1);
    part.batches[0] = std::move(round.batches[static_cast<std::size_t>(w)]);
    enqueue(w, std::move(part));
  }
}

void Job::Impl::enqueue(int worker, Round round) {
  std::unique_lock lock(queue_mutex_);
  queue_cv_.wait(lock, [&] { return queues_[worker].rounds.size() < 2 || failed(); });
  if (failed()) {
    for (detail::HostBatch* b : round.batches[0]) pool_.release(b);
    lock.unlock();
    throw_if_failed();
  }
  queues_[worker].rounds.push_back(std::move(round));
  queue_cv_.notify_all();
}

void Job::Impl::worker_main(int worker) {
  // The pipeline lives until the job ends: other workers copy partials from its outbox and may
  // still do so when this worker has failed.
  std::unique_ptr<detail::WorkerPipeline>& pipeline = pipelines_[static_cast<std::size_t>(worker)];
  WorkerState state;
  state.fired_wm = kNoWatermark;
  try {
    if (backend_ == Backend::gpu) {
      const int device = worker % std::max(1, detail::cuda_device_count());
      state.stage = "device setup";
      pipeline = detail::make_cuda_pipeline(query_.plan, device, config_.device_memory_limit);
    } else {
      const int cores = std::max(1, omp_get_num_procs());
      omp_set_num_threads(config_.threads > 0 ? config_.threads : std::max(1, cores / workers_));
      pipeline = detail::make_host_pipeline(query_.plan);
    }
    state.stage = "buffer reservation";
    pipeline->reserve(config_.batch_rows);
  } catch (...) {
    fail(worker,
         status_of_current_exception("worker " + std::to_string(worker) + " " + state.stage));
  }
  for (;;) {
    Round round;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return !queues_[worker].rounds.empty() || failed(); });
      if (queues_[worker].rounds.empty()) return;  // failed
      round = std::move(queues_[worker].rounds.front());
      queues_[worker].rounds.pop_front();
      queue_cv_.notify_all();
    }
    const bool final = round.final;
    if (!failed()) {
      try {
        run_round(worker, *pipeline, round, state);
      } catch (...) {
        fail(worker, status_of_current_exception(state.where(worker)));
      }
    }
    for (detail::HostBatch* b : round.batches[0]) pool_.release(b);
    if (final || failed()) return;
  }
}

std::string Job::Impl::WorkerState::where(int worker) const {
  std::string text =
      "worker " + std::to_string(worker) + ", round " + std::to_string(round) + ", " + stage;
  if (batch)
    text += ", batch " + std::to_string(*batch);
  else
    text += ", no batch in this round";
  return text;
}

void Job::Impl::stage_ahead(int worker, detail::WorkerPipeline& pipeline,
                            const std::vector<detail::HostBatch*>& batches, std::size_t next) {
  constexpr auto kAhead = static_cast<std::size_t>(detail::WorkerPipeline::kStagedAhead);
  std::vector<detail::HostBatch*> upcoming;
  for (std::size_t i = next; i < batches.size() && upcoming.size() < kAhead; ++i)
    upcoming.push_back(batches[i]);
  if (upcoming.size() < kAhead) {
    std::lock_guard lock(queue_mutex_);
    for (const Round& r : queues_[worker].rounds)
      for (detail::HostBatch* b : r.batches[0])
        if (upcoming.size() < kAhead) upcoming.push_back(b);
  }
  for (detail::HostBatch* b : upcoming) pipeline.stage(b->view());
}

detail::HostBatch* Job::Impl::begin_batch(int worker, detail::WorkerPipeline& pipeline,
                                          const std::vector<detail::HostBatch*>& batches,
                                          std::size_t i, WorkerState& state) {
  state.batch = batches[i]->sequence;
  // The next batches' copies overlap with this batch's kernels.
  state.stage = "copy-in";
  stage_ahead(worker, pipeline, batches, i + 1);
  return batches[i];
}

bool Job::Impl::round_waiting(int worker) {
  std::lock_guard lock(queue_mutex_);
  return !queues_[worker].rounds.empty();
}

void Job::Impl::emit_fired(std::uint64_t round, detail::WorkerPipeline& pipeline) {
  std::vector<WindowResult> results;
  detail::decode_windows(query_, pipeline.collect_fired(), *dictionary_, results);
  emit(round, std::move(results));
}

void Job::Impl::run_round(int worker, detail::WorkerPipeline& pipeline, Round& round,
                          WorkerState& state) {
  std::vector<detail::HostBatch*>& batches = round.batches[0];
  state.round = round.number;
  state.batch.reset();
  per_worker_[worker] += batches.size();
  batches_ += batches.size();
  if (!query_.windowed) {
    std::vector<std::pair<std::uint64_t, Batch>> rows;
    std::vector<std::uint64_t> words;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      detail::HostBatch* b = begin_batch(worker, pipeline, batches, i, state);
      state.stage = "filter and projection";
      const std::size_t kept = pipeline.project(b->view(), words);
      filtered_ += b->rows - kept;
      state.stage = "row output";
      rows.emplace_back(b->sequence, detail::output_batch(query_, words, kept, dictionary_));
    }
    emit_rows(round.number, std::move(rows));
    return;
  }
  // The last round's collective (the watermark) has passed: no owner still reads the outbox.
  if (workers_ > 1) pipeline.clear_outbox();
  for (std::size_t i = 0; i < batches.size(); ++i) {
    detail::HostBatch* b = begin_batch(worker, pipeline, batches, i, state);
    state.stage = "pre-aggregation";
    detail::BatchOutcome outcome = pipeline.preaggregate(b->view(), b->wm_before);
    filtered_ += b->rows - outcome.kept;
    late_ += outcome.late;
    if (outcome.late > 0 && query_.late_sink) {
      state.stage = "late output";
      Batch late = detail::gather_rows(read_schema_, *b, outcome.late_rows, dictionary_);
      std::lock_guard lock(late_mutex_);
      query_.late_sink(late);
    }
    state.stage = workers_ == 1 ? "state merge" : "partitioning";
    if (workers_ == 1)
      pipeline.merge_held(state.fired_wm);
    else
      pipeline.pack_held_to_outbox();
  }
  if (workers_ > 1) {
    // Owners copy their parts from the senders' outboxes (device to device on GPUs).
    state.stage = "exchange";
    std::vector<std::vector<std::uint64_t>> manifests = pipeline.outbox_manifests();
    const std::vector<std::uint64_t> received = exchange_->all_to_all(worker, manifests);
    state.stage = "state merge";
    pipeline.merge_outboxes(received, state.fired_wm);
  }
  state.stage = "watermark agreement";
  const std::int64_t wm = exchange_->all_reduce_min(worker, round.watermark);
  // The previous round's fired rows were copied out while this round ran.
  if (state.pending_round) {
    state.stage = "copy-out";
    const std::optional<std::uint64_t> current_batch = state.batch;
    state.round = *state.pending_round;
    state.batch = state.pending_batch;
    emit_fired(*state.pending_round, pipeline);
    state.pending_round.reset();
    state.round = round.number;
    state.batch = current_batch;
  }
  state.stage = "fire";
  pipeline.fire(state.fired_wm, wm);
  state.fired_wm = std::max(state.fired_wm, wm);
  // With another round waiting, its work overlaps this copy-out; otherwise emit now.
  if (!round.final && round_waiting(worker)) {
    state.pending_round = round.number;
    state.pending_batch = state.batch;
    return;
  }
  state.stage = "copy-out";
  emit_fired(round.number, pipeline);
}

void Job::Impl::emit(std::uint64_t round, std::vector<WindowResult> results) {
  std::lock_guard lock(emit_mutex_);
  auto& [count, all] = pending_[round];
  all.insert(all.end(), std::make_move_iterator(results.begin()),
             std::make_move_iterator(results.end()));
  if (++count < workers_) return;
  std::vector<WindowResult> out = std::move(all);
  pending_.erase(round);
  if (out.empty()) return;
  detail::sort_results(out);
  std::uint64_t updates = 0;
  for (const WindowResult& r : out) updates += r.update ? 1 : 0;
  fired_ += out.size();
  updates_ += updates;
  if (query_.result_sink) query_.result_sink(out);
}

void Job::Impl::emit_rows(std::uint64_t round, std::vector<std::pair<std::uint64_t, Batch>> rows) {
  std::lock_guard lock(emit_mutex_);
  auto& [count, all] = pending_rows_[round];
  for (auto& r : rows) all.push_back(std::move(r));
  if (++count < workers_) return;
  std::vector<std::pair<std::uint64_t, Batch>> out = std::move(all);
  pending_rows_.erase(round);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (!query_.row_sink) return;
  for (auto& [sequence, batch] : out)
    if (batch.rows() > 0) query_.row_sink(batch);
}

void Job::Impl::fail(int worker, const Status& status) {
  {
    std::lock_guard lock(status_mutex_);
    if (status_.ok()) status_ = status;
  }
  failed_ = true;
  exchange_->abort(worker, status.message());
  {
    std::lock_guard lock(queue_mutex_);
    queue_cv_.notify_all();
  }
  pool_.wake();
}

void Job::Impl::timer_main() {
  const auto timeout =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(config_.batch_timeout);
  if (timeout <= std::chrono::steady_clock::duration::zero()) return;
  std::unique_lock lock(ingest_mutex_);
  while (!stop_timer_) {
    timer_cv_.wait_for(lock, timeout);
    if (stop_timer_ || finished_) break;
    if (std::chrono::steady_clock::now() - last_activity_ < timeout) continue;
    // Idle for a whole timeout: seal what is pending and send out a partial round; if idle
    // sources let the watermark advance, an empty round fires what it closes.
    try {
      flush_rows_locked();
      seal_locked();
      dispatch_locked(false);
      if (watermark_.refresh(std::chrono::steady_clock::now()) ||
          watermark_.current() > dispatched_wm_)
        dispatch_locked(false, true);
    } catch (...) {
      fail(-1, status_of_current_exception("batch timer"));
    }
    last_activity_ = std::chrono::steady_clock::now();
  }
}

void Job::Impl::finish() {
  {
    std::lock_guard lock(ingest_mutex_);
    if (finished_) {
      throw_if_failed();
      return;
    }
    finished_ = true;
    stop_timer_ = true;
    timer_cv_.notify_all();
    try {
      flush_rows_locked();
      seal_locked();
      dispatch_locked(false);
      dispatch_locked(true);
    } catch (...) {
      if (!failed()) fail(-1, status_of_current_exception("finish"));
    }
  }
  if (timer_.joinable()) timer_.join();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  ended_ns_ = steady_now_ns();
  throw_if_failed();
}

Metrics Job::Impl::metrics() const {
  Metrics m;
  m.events_in = events_in_;
  m.events_filtered = filtered_;
  m.events_late = late_;
  m.windows_fired = fired_;
  m.window_updates = updates_;
  m.batches = batches_;
  for (const auto& w : per_worker_) m.batches_per_worker.push_back(w);
  if (const std::int64_t start = started_ns_; start != 0) {
    const std::int64_t end = ended_ns_ != 0 ? ended_ns_.load() : steady_now_ns();
    m.elapsed_seconds = static_cast<double>(end - start) * 1e-9;
    if (m.elapsed_seconds > 0)
      m.events_per_second = static_cast<double>(m.events_in) / m.elapsed_seconds;
  }
  return m;
}

Status Job::Impl::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

}  // namespace sluice
