// Engine (backend choice, job start) and Job's forwarding to Job::Impl.
#include "sluice/engine.hpp"

#include "sluice/arrow.hpp"

#include "host/cuda_probe.hpp"
#include "host/engine/job_impl.hpp"
#include "host/query_compiler.hpp"
#include "transport/rank_transport.hpp"

namespace sluice {

const char* to_string(Backend backend) noexcept {
  switch (backend) {
    case Backend::automatic:
      return "auto";
    case Backend::cpu:
      return "cpu";
    case Backend::gpu:
      return "gpu";
  }
  return "?";
}

bool Engine::gpu_available(std::string* why) { return detail::cuda_device_available(why); }

Engine::Engine(EngineConfig config) : config_(std::move(config)) {
  std::string why;
  switch (config_.backend) {
    case Backend::cpu:
      backend_ = Backend::cpu;
      reason_ = "CPU backend requested";
      break;
    case Backend::gpu:
      if (!gpu_available(&why))
        throw Error(ErrorCode::backend_unavailable, "GPU backend requested, but " + why);
      backend_ = Backend::gpu;
      reason_ = "GPU backend requested; " + why;
      break;
    case Backend::automatic:
      if (gpu_available(&why)) {
        backend_ = Backend::gpu;
        reason_ = "GPU found: " + why;
      } else {
        backend_ = Backend::cpu;
        reason_ = "no usable GPU (" + why + "), using the CPU";
      }
      break;
  }
  if (config_.workers < 0) throw Error(ErrorCode::invalid_argument, "workers must not be negative");
  if (config_.workers == 0)
    config_.workers = backend_ == Backend::gpu ? std::max(1, detail::cuda_device_count()) : 1;
  config_.ranks = config_.ranks.resolved();
  if (const auto& ranks = config_.ranks.transport(); ranks && ranks->size() > 1) {
    // Every rank must run as many workers: the members of the exchange are ranks * workers.
    const std::int64_t fewest = ranks->all_reduce_min(config_.workers);
    const std::int64_t most = -ranks->all_reduce_min(-config_.workers);
    if (fewest != most)
      throw Error(ErrorCode::invalid_argument,
                  "every rank must run the same number of workers: rank " +
                      std::to_string(ranks->rank()) + " has " + std::to_string(config_.workers) +
                      ", others between " + std::to_string(fewest) + " and " +
                      std::to_string(most));
    // Every rank decides alike, so that none waits for a rank that has given up.
    const bool any_gpu = ranks->all_reduce_min(backend_ == Backend::gpu ? -1 : 0) < 0;
    if (config_.batch_timeout <= Duration::zero())
      throw Error(ErrorCode::invalid_argument,
                  "across ranks batch_timeout must be positive: an idle rank sends a round "
                  "every batch_timeout so that the others' rounds go on");
#ifdef SLUICE_WITH_NCCL
    // NCCL carries the device rows: one GPU worker per rank (the rank's local GPU).
    if (any_gpu && (backend_ != Backend::gpu || config_.workers != 1))
      throw Error(ErrorCode::invalid_argument,
                  "the GPU backend across ranks runs one GPU worker per rank on every rank "
                  "(workers = 1, a GPU on each)");
#else
    if (any_gpu)
      throw Error(ErrorCode::backend_unavailable,
                  "the GPU backend across ranks needs the NCCL exchange, which this Sluice was "
                  "built without; run --backend cpu across ranks");
#endif
  }
  if (config_.batch_rows == 0) throw Error(ErrorCode::invalid_argument, "batch_rows must be > 0");
  if (config_.checkpoint.keep < 1)
    throw Error(ErrorCode::invalid_argument, "checkpoint.keep must be at least 1");
  if (config_.round_batches < 1 || config_.round_batches > 1024)
    throw Error(ErrorCode::invalid_argument, "round_batches must be in [1, 1024]");
  if (config_.batch_rows >= (std::size_t{1} << 32))
    throw Error(ErrorCode::invalid_argument, "batch_rows must be < 2^32");
  if (config_.balance == BalancePolicy::weighted &&
      static_cast<int>(config_.weights.size()) != config_.workers)
    throw Error(
        ErrorCode::invalid_argument,
        "weighted balancing needs one weight per worker: " + std::to_string(config_.workers) +
            " workers, " + std::to_string(config_.weights.size()) + " weights");
}

namespace {

/// Compiles `query` with `dictionary` (a new one, or a checkpoint's) and starts the job.
Job launch(const EngineConfig& config, Backend backend, const Schema& schema, const Query& query,
           DictionaryPtr dictionary, std::shared_ptr<detail::CheckpointImage> image = nullptr,
           ResumePoint resumed = {}) {
  const int members = config.workers * config.ranks.size();
  detail::CompiledQuery compiled =
      detail::compile_query(schema, query, *dictionary, members, config.partition);
  if (config.ranks.size() > 1 && !compiled.windowed && config.gather_results)
    throw Error(ErrorCode::invalid_argument,
                "a query without windows writes each rank's rows where it runs: across ranks it "
                "needs gather_results = false (on the command line, an output file per rank)");
  return Job(std::make_unique<Job::Impl>(config, backend, schema, std::move(compiled),
                                         std::move(dictionary), std::move(image),
                                         std::move(resumed)));
}

/// Across ranks: the newest checkpoint complete on every rank (each rank's own part of it), or
/// none; collective. Each rank offers its newest complete one below the last candidate, the
/// smallest offer is the next candidate, until every rank has it.
std::optional<detail::CheckpointStore::Found> agree_on_checkpoint(
    const detail::CheckpointStore& store, detail::RankTransport& ranks,
    std::vector<std::string>& rejected) {
  std::vector<detail::CheckpointStore::Found> complete;  // newest first
  const std::vector<std::uint64_t> ids = store.ids();
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    std::string why;
    if (auto found = store.load(*it, why))
      complete.push_back(std::move(*found));
    else
      rejected.push_back(std::move(why));
  }
  auto limit = static_cast<std::uint64_t>(INT64_MAX);
  for (;;) {
    std::uint64_t offer = 0;
    for (const auto& c : complete)
      if (c.id < limit) {
        offer = c.id;
        break;
      }
    const auto candidate =
        static_cast<std::uint64_t>(ranks.all_reduce_min(static_cast<std::int64_t>(offer)));
    if (candidate == 0) return std::nullopt;
    const auto mine = std::find_if(complete.begin(), complete.end(),
                                   [&](const auto& c) { return c.id == candidate; });
    if (ranks.all_reduce_min(mine != complete.end() ? 1 : 0) == 1) {
      for (const auto& c : complete)
        if (c.id > candidate) rejected.push_back(c.path + ": not complete on every rank");
      return std::move(*mine);
    }
    limit = candidate;
  }
}

}  // namespace

Job Engine::start(const Schema& schema, const Query& query) const {
  return launch(config_, backend_, schema, query, std::make_shared<StringDictionary>());
}

Job Engine::resume(const Schema& schema, const Query& query) const {
  if (config_.checkpoint.directory.empty())
    throw Error(ErrorCode::invalid_argument,
                "resume: no checkpoint directory (EngineConfig::checkpoint.directory)");
  const int rank = config_.ranks.rank(), ranks = config_.ranks.size();
  const detail::CheckpointStore store(
      detail::rank_directory(config_.checkpoint.directory, rank, ranks), config_.checkpoint.keep);
  ResumePoint point;
  std::optional<detail::CheckpointStore::Found> found =
      ranks > 1 ? agree_on_checkpoint(store, *config_.ranks.transport(), point.rejected)
                : store.load_latest(point.rejected);
  if (!found)
    return launch(config_, backend_, schema, query, std::make_shared<StringDictionary>(), nullptr,
                  std::move(point));
  auto image = std::make_shared<detail::CheckpointImage>(
      detail::CheckpointImage::decode(found->body, found->path));
  std::vector<std::uint64_t>().swap(found->body);
  point.checkpoint = found->id;
  point.path = found->path;
  point.positions = image->positions;
  point.sink_position = image->sink_position;
  DictionaryPtr dictionary;
  try {
    dictionary =
        std::make_shared<StringDictionary>(image->codes, image->strings, image->code_limit);
  } catch (const Error& e) {
    throw Error(ErrorCode::malformed_input, "checkpoint " + found->path + ": " + e.what());
  }
  image->codes.clear();
  image->strings.clear();
  return launch(config_, backend_, schema, query, std::move(dictionary), std::move(image),
                std::move(point));
}

Job::Job(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Job::Job(Job&&) noexcept = default;
Job& Job::operator=(Job&&) noexcept = default;
Job::~Job() = default;

Job::Impl& Job::impl() const {
  if (!impl_)
    throw Error(ErrorCode::invalid_argument,
                "this Job was moved from: call the Job it was moved to");
  return *impl_;
}

BatchBuilder Job::make_builder() const { return impl().make_builder(); }
DictionaryPtr Job::dictionary() const { return impl().dictionary(); }
void Job::push(const Batch& batch, int source) { impl().push(batch, source); }
void Job::push_row(std::span<const Value> row, int source) { impl().push_row(row, source); }

void Job::push_arrow(ArrowArray* array, const ArrowSchema* schema, int source) {
  const Schema& columns = impl().schema();
  const DictionaryPtr dictionary = impl().dictionary();
  std::vector<DictionaryPtr> dictionaries(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c)
    if (columns.field(c).type.id == TypeId::string) dictionaries[c] = dictionary;
  ArrowImport in = import_arrow(array, schema, columns, dictionaries);
  if (in.rows_with_nulls > 0) impl().count_malformed(in.rows_with_nulls);
  if (in.batch.rows() > 0) impl().push(in.batch, source);
}
void Job::push_broadcast(std::string_view name, const Batch& batch) {
  impl().push_broadcast(name, batch);
}
void Job::count_malformed(std::uint64_t rows) { impl().count_malformed(rows); }
void Job::set_position(int source, std::uint64_t position) {
  impl().set_position(source, position);
}
void Job::expect_source(int source) { impl().expect_source(source); }
void Job::checkpoint() { impl().checkpoint(); }
const ResumePoint& Job::resumed_from() const { return impl().resumed_from(); }
void Job::flush() { impl().flush(); }
void Job::finish() { impl().end(true); }
void Job::stop() { impl().end(false); }
Metrics Job::metrics() const { return impl().metrics(); }
Metrics Job::total_metrics() const { return impl().total_metrics(); }
Status Job::status() const { return impl().status(); }
const Schema& Job::schema() const { return impl().schema(); }

}  // namespace sluice
