// Job::Impl: threads, locks and errors around ingest, dispatch, the workers and emission.
#include <omp.h>
#include <thrust/system_error.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <exception>

#include "host/cuda_probe.hpp"
#include "host/engine/job_impl.hpp"
#include "transport/cluster_exchange.hpp"
#include "transport/local_exchange.hpp"
#ifdef SLUICE_WITH_NCCL
#include "transport/nccl/nccl_exchange.hpp"
#endif

namespace sluice {
namespace {

using detail::kFinalWatermark;
using detail::kNoWatermark;

Schema read_schema_of(const Schema& schema, const std::vector<std::size_t>& read) {
  std::vector<Field> fields;
  for (std::size_t c : read) fields.push_back(schema.field(c));
  return Schema(std::move(fields));
}

std::vector<std::size_t> read_widths(const Schema& schema, const std::vector<std::size_t>& read) {
  std::vector<std::size_t> w;
  for (std::size_t c : read) w.push_back(type_width(schema.field(c).type.id));
  return w;
}

std::size_t pool_limit(const EngineConfig& config, int workers) {
  // Batches alive at once: one filling, a forming round, two queued rounds and one running
  // round per worker, plus what the user allows to wait.
  return 1 +
         static_cast<std::size_t>(workers) * 4 * static_cast<std::size_t>(config.round_batches) +
         config.queue_batches;
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

std::vector<std::unique_ptr<detail::RoundQueue>> make_queues(int workers, int round_batches) {
  std::vector<std::unique_ptr<detail::RoundQueue>> q;
  for (int w = 0; w < workers; ++w)
    q.push_back(std::make_unique<detail::RoundQueue>(
        2, static_cast<std::size_t>(workers) * static_cast<std::size_t>(round_batches)));
  return q;
}

/// Across ranks, a transport of the job's own (collective).
std::shared_ptr<detail::RankTransport> job_transport(const EngineConfig& config) {
  return config.ranks.size() > 1 ? config.ranks.transport()->duplicate() : nullptr;
}

/// This process's place among the ranks on its node (the launcher's environment), else its
/// rank: which of the node's GPUs a rank takes.
int local_rank(int rank) {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID",
                           "MV2_COMM_WORLD_LOCAL_RANK"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return rank;
}

/// The GPU of worker `worker` of rank `rank`.
int device_of(int rank, int ranks, int workers, int worker) {
  const int devices = std::max(1, detail::cuda_device_count());
  return ((ranks > 1 ? local_rank(rank) * workers : 0) + worker) % devices;
}

std::unique_ptr<detail::Exchange> make_exchange(
    const std::shared_ptr<detail::RankTransport>& transport, int workers,
    [[maybe_unused]] Backend backend) {
#ifdef SLUICE_WITH_NCCL
  // Across ranks on the GPU (one worker per rank, Engine checks): device rows through NCCL.
  if (transport && backend == Backend::gpu)
    return std::make_unique<detail::NcclExchange>(
        transport, device_of(transport->rank(), transport->size(), workers, 0),
        transport->peer_timeout());
#endif
  if (transport) return std::make_unique<detail::ClusterExchange>(transport, workers);
  return std::make_unique<detail::LocalExchange>(workers);
}

/// Word offsets of the string key words in rows whose keys start at `key_first`.
std::vector<std::uint32_t> string_key_offsets(const detail::CompiledQuery& query, int key_first) {
  std::vector<std::uint32_t> at;
  for (int j = 0; j < query.plan.aggregation.key_words; ++j)
    if ((query.plan.aggregation.string_key_mask >> j) & 1U)
      at.push_back(static_cast<std::uint32_t>(key_first + j));
  return at;
}

detail::Dispatcher::Queues queue_pointers(
    const std::vector<std::unique_ptr<detail::RoundQueue>>& queues) {
  detail::Dispatcher::Queues p;
  for (const auto& q : queues) p.push_back(q.get());
  return p;
}

}  // namespace

Job::Impl::Impl(const EngineConfig& config, Backend backend, Schema schema,
                detail::CompiledQuery query, DictionaryPtr dictionary,
                std::shared_ptr<detail::CheckpointImage> image, ResumePoint resumed)
    : config_(config),
      backend_(backend),
      schema_(std::move(schema)),
      query_(std::move(query)),
      dictionary_(std::move(dictionary)),
      workers_(config.workers),
      rank_(config.ranks.rank()),
      ranks_(config.ranks.size()),
      transport_(job_transport(config)),
      cancelled_([this] { return failed(); }),
      pool_(read_widths(schema_, query_.read_columns), std::max<std::size_t>(config.batch_rows, 1),
            pool_limit(config, workers_), backend == Backend::gpu),
      queues_(make_queues(workers_, config.round_batches)),
      dispatcher_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      config.source_idle_timeout),
                  detail::Balancer(config.balance, workers_, config.weights, config.seed),
                  queue_pointers(queues_), cancelled_, config.round_batches),
      ingest_(
          schema_, query_, dictionary_, pool_, std::max<std::size_t>(config.batch_rows, 1),
          [this](detail::BatchLease b) { dispatcher_.add(std::move(b)); }, cancelled_),
      broadcast_(query_.broadcasts, query_.patterns, dictionary_),
      exchange_(make_exchange(transport_, workers_, backend)),
      emitter_(query_, read_schema_of(schema_, query_.read_columns), dictionary_, workers_,
               config.ordered_results, emit_counters_),
      per_worker_(static_cast<std::size_t>(workers_)),
      rounds_done_(static_cast<std::size_t>(workers_), 0),
      restore_image_(std::move(image)),
      resumed_(std::move(resumed)) {
  last_activity_ = std::chrono::steady_clock::now();
  if (broadcast_.has_patterns())
    ingest_.set_lookup_source([this] {
      broadcast_.refresh();
      return broadcast_.snapshot();
    });
  next_reclaim_ = config.string_reclaim_threshold;
  work_counters_.dictionary_bytes = static_cast<std::int64_t>(dictionary_->bytes());
  dispatcher_.set_early_fire(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(query_.early_fire_every));
  if (ranks_ > 1) {
    string_sync_ = std::make_unique<detail::StringCodeSync>(dictionary_, ranks_);
    // Packed partials: [hash, pane, cut, keys, states]; fired rows: [window, keys, ...].
    const auto& agg = query_.plan.aggregation;
    partial_codes_ = std::make_unique<detail::StringRowTranslator>(
        *string_sync_, string_key_offsets(query_, 3), true, 3, agg.key_words, agg.hasher);
    fired_codes_ =
        std::make_unique<detail::StringRowTranslator>(*string_sync_, string_key_offsets(query_, 1));
    role_.rank = rank_;
    role_.ranks = ranks_;
    role_.local_workers = workers_;
    role_.gather_results = config.gather_results;
    role_.partials = partial_codes_->empty() ? nullptr : partial_codes_.get();
    role_.fired = fired_codes_->empty() ? nullptr : fired_codes_.get();
    role_.dictionary = dictionary_;
  }
  emitter_.reserve(std::max<std::size_t>(config.batch_rows, 1));
  if (!config.checkpoint.directory.empty()) {
    checkpoints_ = std::make_unique<detail::CheckpointStore>(
        detail::rank_directory(config.checkpoint.directory, rank_, ranks_), config.checkpoint.keep);
    fingerprint_ = fingerprint();
    last_checkpoint_ = std::chrono::steady_clock::now();
  }
  if (restore_image_) restore(*restore_image_);
  pipelines_.resize(static_cast<std::size_t>(workers_));
  runners_.resize(static_cast<std::size_t>(workers_));
  for (int w = 0; w < workers_; ++w) threads_.emplace_back([this, w] { worker_main(w); });
  timer_ = std::thread([this] { timer_main(); });
}

Job::Impl::~Impl() {
  if (!finished_ && ranks_ > 1 && !failed()) {
    // Across ranks a job destroyed unfinished (an error unwinding on this rank) must not pass
    // for a rank whose input ended: the other ranks would finish without its data.
    fail(-1, Status(ErrorCode::internal,
                    "the job was destroyed before finish() (an error on this rank stopped it)"));
  }
  if (!finished_) {
    try {
      end(true);
    } catch (...) {  // a destructor must not throw; status() keeps the error
    }
  }
}

BatchBuilder Job::Impl::make_builder() const { return detail::builder_for(schema_, dictionary()); }

DictionaryPtr Job::Impl::dictionary() const {
  std::lock_guard lock(dictionary_mutex_);
  return dictionary_;
}

void Job::Impl::after_push() {
  // The reclaim first: its census round checks the memory limit with the dictionary's size as
  // of the last push, not with the strings it is about to drop.
  if (next_reclaim_ > 0 && dictionary_->size() >= next_reclaim_) reclaim_strings();
  work_counters_.dictionary_bytes = static_cast<std::int64_t>(dictionary_->bytes());
}

void Job::Impl::reclaim_strings() {
  // Every batch pushed so far goes out, the last round with a census: once it is done no batch
  // in flight holds a code, and the workers' censuses list those their state holds.
  ingest_.flush_rows();
  ingest_.seal();
  dispatcher_.dispatch(false);
  const DictionaryPtr old = dictionary_;
  // Codes interned while the round runs come from other ranks' descriptions only (nothing is
  // pushed under this lock), and those stay through string_sync_.
  const std::size_t census_words = old->code_limit() / 32 + 1;
  dispatcher_.dispatch_census(census_words);
  wait_for_rounds(dispatcher_.rounds());
  const std::uint32_t limit = old->code_limit();
  std::vector<bool> keep(limit, false);
  for (const auto& runner : runners_) {
    if (!runner) continue;  // a worker that never started holds no state
    const std::vector<std::uint32_t>& bits = runner->census();
    for (std::size_t w = 0; w < bits.size(); ++w)
      for (std::uint32_t b = bits[w]; b != 0; b &= b - 1)
        if (const std::size_t c = w * 32 + static_cast<std::size_t>(std::countr_zero(b)); c < limit)
          keep[c] = true;
  }
  std::vector<std::uint32_t> roots = query_.string_constants;
  broadcast_.list_codes(roots);
  if (string_sync_) string_sync_->list_codes(roots);
  for (std::uint32_t c : roots)
    if (c < limit) keep[c] = true;
  std::vector<std::uint32_t> kept;
  for (std::uint32_t c = 0; c < limit; ++c)
    if (keep[c] && old->contains(c)) kept.push_back(c);
  if (kept.size() * 2 > old->size()) {
    // Most strings are live: a new dictionary would free little, and batches coded with this
    // one (builders, arrays coded up front) would be copied from now on. Look again once it
    // has doubled.
    next_reclaim_ = std::max(config_.string_reclaim_threshold, 2 * old->size());
    return;
  }
  auto next = std::make_shared<StringDictionary>(*old, kept);
  {
    std::lock_guard lock(dictionary_mutex_);
    dictionary_ = next;
  }
  // Between rounds (the workers wait for the next): every holder of the old dictionary moves.
  ingest_.set_dictionary(next);
  broadcast_.set_dictionary(next);
  emitter_.set_dictionary(next);
  role_.dictionary = next;
  if (string_sync_) string_sync_->set_dictionary(next);
  strings_reclaimed_ += old->size() - next->size();
  ++string_reclaims_;
  next_reclaim_ = std::max(config_.string_reclaim_threshold, 2 * next->size());
  work_counters_.dictionary_bytes = static_cast<std::int64_t>(next->bytes());
}

void Job::Impl::take_checkpoint() {
  try {
    write_checkpoint();
  } catch (...) {
    if (!failed()) fail(-1, status_of_current_exception("checkpoint"));
    throw_if_failed();
    throw;
  }
}

void Job::Impl::throw_if_failed() const {
  if (failed()) throw Error(status());
}

void Job::Impl::touch(int source) {
  if (started_ns_ == 0) started_ns_ = detail::steady_now_ns();
  last_activity_ = std::chrono::steady_clock::now();
  dispatcher_.touch(source, last_activity_);
}

void Job::Impl::push(const Batch& batch, int source) {
  std::lock_guard lock(ingest_mutex_);
  if (finished_) throw Error(ErrorCode::invalid_argument, "push after finish()");
  throw_if_failed();
  touch(source);
  try {
    checkpoint_if_due();  // before the push: the positions set so far are those of its rows
    ingest_.push(batch, source);
    after_push();
  } catch (const Error&) {
    throw_if_failed();  // a stage failed while the push waited: its error, not the wait's
    throw;
  }
}

void Job::Impl::push_row(std::span<const Value> row, int source) {
  std::lock_guard lock(ingest_mutex_);
  if (finished_) throw Error(ErrorCode::invalid_argument, "push_row after finish()");
  throw_if_failed();
  touch(source);
  try {
    // Rows come one by one: the dictionary, and whether a checkpoint is due, are looked at
    // every kRowsPerCheck of them.
    if (rows_unchecked_ == 0) checkpoint_if_due();
    ingest_.push_row(row, source);
    if (++rows_unchecked_ >= kRowsPerCheck) {
      rows_unchecked_ = 0;
      after_push();
    }
  } catch (const Error&) {
    throw_if_failed();
    throw;
  }
}

void Job::Impl::push_broadcast(std::string_view name, const Batch& batch) {
  std::lock_guard lock(ingest_mutex_);
  if (finished_) throw Error(ErrorCode::invalid_argument, "push_broadcast after finish()");
  throw_if_failed();
  try {
    // Rows pushed so far keep the state they were pushed under.
    ingest_.flush_rows();
    ingest_.seal();
  } catch (const Error&) {
    throw_if_failed();
    throw;
  }
  broadcast_.apply(name, batch);
  ingest_.set_lookups(broadcast_.snapshot());
}

void Job::Impl::worker_main(int worker) {
  // The pipeline and the Worker live until the job ends: other workers read the pipeline's
  // outbox and the Worker's event times, and may still do so when this worker has failed.
  std::unique_ptr<detail::WorkerPipeline>& pipeline = pipelines_[static_cast<std::size_t>(worker)];
  const char* stage = "start";
  try {
    if (backend_ == Backend::gpu) {
      const int device = device_of(rank_, ranks_, workers_, worker);
      stage = "device setup";
      pipeline = detail::make_cuda_pipeline(query_.plan, device, config_.device_memory_limit);
    } else {
      const int cores = std::max(1, omp_get_num_procs());
      omp_set_num_threads(config_.threads > 0 ? config_.threads : std::max(1, cores / workers_));
      stage = "pipeline setup";
      pipeline = detail::make_host_pipeline(query_.plan);
    }
    stage = "buffer reservation";
    pipeline->reserve(config_.batch_rows);
  } catch (...) {
    fail(worker, status_of_current_exception("worker " + std::to_string(worker) + " " + stage));
    return;
  }
  detail::RoundQueue& queue = *queues_[static_cast<std::size_t>(worker)];
  auto& owned = runners_[static_cast<std::size_t>(worker)];
  owned = std::make_unique<detail::Worker>(rank_ * workers_ + worker, ranks_ * workers_, query_,
                                           *pipeline, queue, *exchange_, emitter_, work_counters_,
                                           ranks_ > 1 ? &role_ : nullptr);
  detail::Worker& runner = *owned;
  runner.set_memory_limit(config_.state_memory_limit);
  if (restore_image_) {
    try {
      std::vector<std::uint64_t>& mine = restore_image_->workers[static_cast<std::size_t>(worker)];
      runner.restore(mine);
      std::vector<std::uint64_t>().swap(mine);
    } catch (...) {
      fail(worker, status_of_current_exception("worker " + std::to_string(worker) + " restoring " +
                                               resumed_.path));
      return;
    }
  }
  for (;;) {
    detail::RoundPart* part = queue.front(cancelled_);
    if (part == nullptr) return;  // failed
    const bool final = part->final;
    if (!failed()) {
      try {
        runner.run_round(*part);
        if (final && ranks_ > 1) {
          // This rank's input has ended; the others' may not have: run empty rounds with them
          // until every rank's has.
          detail::RoundPart tail;
          tail.final = true;
          tail.drain = part->drain;
          tail.number = part->number;
          while (!runner.finished() && !failed()) {
            ++tail.number;
            runner.run_round(tail);
          }
        }
      } catch (const Error& e) {
        fail(worker, status_of_current_exception(e.code() == ErrorCode::device_error
                                                     ? runner.where_device_fault()
                                                     : runner.where()));
      } catch (...) {
        fail(worker, status_of_current_exception(runner.where()));
      }
    }
    per_worker_[static_cast<std::size_t>(worker)] += part->batches.size();
    queue.pop();
    {
      std::lock_guard lock(done_mutex_);
      ++rounds_done_[static_cast<std::size_t>(worker)];
    }
    done_cv_.notify_all();
    if (final || failed()) return;
  }
}

void Job::Impl::fail(int worker, const Status& status) {
  {
    std::lock_guard lock(status_mutex_);
    if (status_.ok()) status_ = status;
  }
  failed_ = true;
  exchange_->abort(worker, status.message());
  for (const auto& q : queues_) q->wake();
  pool_.wake();
  done_cv_.notify_all();
}

void Job::Impl::timer_main() {
  using Clock = std::chrono::steady_clock;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(config_.batch_timeout);
  if (timeout <= Clock::duration::zero()) return;
  std::unique_lock lock(ingest_mutex_);
  while (!stop_timer_ && !finished_ && !failed()) {
    const auto now = Clock::now();
    // Due: rows have waited a whole timeout for their micro-batch to seal; the input has been
    // idle for one (sources may have become idle since the last round); or, across ranks, no
    // round has left for one: every rank's rounds wait for every other's, so a rank sends a
    // round at least every timeout (sealing what is pending, or empty), however slowly its
    // input trickles.
    Clock::time_point pending_since;
    const bool pending = ingest_.pending(pending_since);
    Clock::time_point due = last_activity_ + timeout;
    if (pending) due = std::min(due, pending_since + timeout);
    if (ranks_ > 1) due = std::min(due, dispatcher_.last_dispatch() + timeout);
    if (now < due) {
      timer_cv_.wait_until(lock, due);
      continue;
    }
    try {
      ingest_.flush_rows();
      ingest_.seal();
      if (ranks_ > 1) {
        dispatcher_.dispatch(false, true);
      } else {
        dispatcher_.dispatch(false);
        // Sources that became idle since the last round: an empty round lets the watermark
        // pass them and fire what that closes.
        if (dispatcher_.refresh(now)) dispatcher_.dispatch(false, true);
      }
    } catch (...) {
      fail(-1, status_of_current_exception("batch timer"));
    }
    if (now >= last_activity_ + timeout) last_activity_ = Clock::now();
  }
}

void Job::Impl::flush() {
  std::uint64_t rounds = 0;
  {
    std::lock_guard lock(ingest_mutex_);
    if (finished_) {
      throw_if_failed();
      return;
    }
    throw_if_failed();
    try {
      checkpoint_if_due();
      ingest_.flush_rows();
      ingest_.seal();
      dispatcher_.dispatch(false);
    } catch (const Error&) {
      throw_if_failed();
      throw;
    }
    rounds = dispatcher_.rounds();
  }
  wait_for_rounds(rounds);
}

void Job::Impl::wait_for_rounds(std::uint64_t rounds) {
  {
    std::unique_lock lock(done_mutex_);
    done_cv_.wait(lock, [&] {
      if (failed()) return true;
      for (std::uint64_t done : rounds_done_)
        if (done < rounds) return false;
      return true;
    });
  }
  throw_if_failed();
}

void Job::Impl::end(bool drain) {
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
      ingest_.flush_rows();
      ingest_.seal();
      dispatcher_.dispatch(false);
      dispatcher_.dispatch_last(drain);
    } catch (...) {
      if (!failed()) fail(-1, status_of_current_exception(drain ? "finish" : "stop"));
    }
  }
  if (timer_.joinable()) timer_.join();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  ended_ns_ = detail::steady_now_ns();
  throw_if_failed();
}

Metrics Job::Impl::metrics() const {
  Metrics m;
  m.events_in = ingest_.events();
  m.events_filtered = work_counters_.filtered;
  m.events_unrepresentable = work_counters_.unrepresentable;
  m.events_malformed = malformed_ + m.events_unrepresentable;
  m.events_late = work_counters_.late;
  m.events_aggregated = work_counters_.aggregated;
  m.windows_fired = emit_counters_.windows_fired;
  m.watermark = work_counters_.watermark.load(std::memory_order_relaxed);
  m.window_updates = emit_counters_.window_updates;
  m.batches = work_counters_.batches;
  m.state_groups =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, work_counters_.state_groups));
  m.state_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, work_counters_.state_bytes));
  m.state_slots = static_cast<std::uint64_t>(std::max<std::int64_t>(0, work_counters_.state_slots));
  {
    const DictionaryPtr dictionary = this->dictionary();
    m.dictionary_strings = dictionary->size();
    m.dictionary_bytes = dictionary->bytes();
  }
  m.strings_reclaimed = strings_reclaimed_;
  m.string_reclaims = string_reclaims_;
  m.checkpoints = checkpoints_taken_;
  m.checkpoint_bytes = checkpoint_bytes_;
  m.exchange_bytes = exchange_->bytes_sent();
  m.partial_bytes = work_counters_.partial_bytes;
  m.round_seconds = static_cast<double>(work_counters_.round_ns.load()) * 1e-9;
  m.exchange_seconds = static_cast<double>(work_counters_.exchange_ns.load()) * 1e-9;
  for (const auto& w : per_worker_) m.batches_per_worker.push_back(w);
  m.round_duration = work_counters_.round_duration.snapshot();
  m.emission_latency = emit_counters_.emission_latency.snapshot();
  if (const std::int64_t start = started_ns_; start != 0) {
    const std::int64_t end = ended_ns_ != 0 ? ended_ns_.load() : detail::steady_now_ns();
    m.elapsed_seconds = static_cast<double>(end - start) * 1e-9;
    if (m.elapsed_seconds > 0)
      m.events_per_second = static_cast<double>(m.events_in) / m.elapsed_seconds;
  }
  return m;
}

Metrics Job::Impl::total_metrics() const {
  Metrics m = metrics();
  const auto& ranks = transport_;
  if (!ranks) return m;
  std::vector<std::uint64_t> sums{m.events_in,
                                  m.events_filtered,
                                  m.events_late,
                                  m.windows_fired,
                                  m.window_updates,
                                  m.batches,
                                  m.state_groups,
                                  m.state_bytes,
                                  m.events_malformed,
                                  m.exchange_bytes,
                                  m.partial_bytes,
                                  static_cast<std::uint64_t>(m.round_seconds * 1e9),
                                  static_cast<std::uint64_t>(m.exchange_seconds * 1e9),
                                  m.events_unrepresentable,
                                  m.events_aggregated,
                                  m.dictionary_strings,
                                  m.dictionary_bytes,
                                  m.strings_reclaimed,
                                  m.string_reclaims,
                                  m.state_slots};
  ranks->all_reduce_sum(sums);
  m.events_in = sums[0];
  m.events_filtered = sums[1];
  m.events_late = sums[2];
  m.windows_fired = sums[3];
  m.window_updates = sums[4];
  m.batches = sums[5];
  m.state_groups = sums[6];
  m.state_bytes = sums[7];
  m.events_malformed = sums[8];
  m.exchange_bytes = sums[9];
  m.partial_bytes = sums[10];
  m.round_seconds = static_cast<double>(sums[11]) * 1e-9;
  m.exchange_seconds = static_cast<double>(sums[12]) * 1e-9;
  m.events_unrepresentable = sums[13];
  m.events_aggregated = sums[14];
  m.dictionary_strings = sums[15];
  m.dictionary_bytes = sums[16];
  m.strings_reclaimed = sums[17];
  m.string_reclaims = sums[18];
  m.state_slots = sums[19];
  // The histograms bucket by bucket (the latencies as each rank measured its own).
  for (const auto& [h, recorder] :
       {std::pair{&m.round_duration, &work_counters_.round_duration},
        std::pair{&m.emission_latency, &emit_counters_.emission_latency}}) {
    std::vector<std::uint64_t> words(detail::HistogramRecorder::kWords);
    recorder->to_words(words.data());
    ranks->all_reduce_sum(words);
    *h = detail::HistogramRecorder::from_words(words.data());
  }
  // Every rank's workers, rank by rank: each rank contributes its own at its place.
  std::vector<std::uint64_t> per_worker(static_cast<std::size_t>(ranks->size() * workers_), 0);
  for (int w = 0; w < workers_; ++w)
    per_worker[static_cast<std::size_t>(rank_ * workers_ + w)] =
        m.batches_per_worker[static_cast<std::size_t>(w)];
  ranks->all_reduce_sum(per_worker);
  m.batches_per_worker = std::move(per_worker);
  // The job took as long as its slowest rank.
  const auto ns = static_cast<std::int64_t>(m.elapsed_seconds * 1e9);
  m.elapsed_seconds = static_cast<double>(-ranks->all_reduce_min(-ns)) * 1e-9;
  m.events_per_second =
      m.elapsed_seconds > 0 ? static_cast<double>(m.events_in) / m.elapsed_seconds : 0;
  return m;
}

Status Job::Impl::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

}  // namespace sluice
