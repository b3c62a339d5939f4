// Engine and Job: run a Query over pushed batches or rows on the CPU or GPU backend.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/duration.hpp"
#include "sluice/histogram.hpp"
#include "sluice/query.hpp"
#include "sluice/ranks.hpp"
#include "sluice/status.hpp"

// The Arrow C data interface's structs (sluice/arrow.hpp).
extern "C" {
struct ArrowArray;
struct ArrowSchema;
}

namespace sluice {

enum class Backend : std::uint8_t {
  automatic,  ///< the GPU where one works, the CPU otherwise
  cpu,        ///< OpenMP threads
  gpu,        ///< CUDA
};
const char* to_string(Backend backend) noexcept;

/// How sealed batches are assigned to workers.
enum class BalancePolicy : std::uint8_t {
  round_robin,  ///< worker 0, 1, ..., N-1, 0, ...
  random,       ///< uniformly at random (seeded)
  weighted,     ///< in proportion to `weights` (smooth weighted round-robin)
};

/// @brief Checkpoints of a job's state, for an exactly-once restart (Engine::resume). A
/// checkpoint is taken between rounds, after every window that the rows pushed before it closed
/// has reached the sinks: it holds the window state of every worker, the rows pushed but not
/// yet processed, the string dictionary, the watermark, the broadcast state, the counters, each
/// source's position (Job::set_position) and the sinks' position (commit_sinks). Files are written
/// atomically and checksummed; a torn or corrupt one is skipped on resume for the one before it. A
/// checkpoint is read back by the same build with the same query, schema and workers.
struct CheckpointConfig {
  /// The directory of the checkpoint files (created if absent); empty: no checkpoints.
  std::string directory;
  /// Checkpoints taken automatically as a push, push_row or flush begins (of everything pushed
  /// before it, with the positions set since: Job::set_position), at least this far apart; 0:
  /// only when Job::checkpoint() is called.
  Duration every{0};
  /// Complete checkpoints kept: older ones are removed after each write (at least 1).
  int keep = 3;
  /// Called while a checkpoint is taken, once every window fired before it has reached the
  /// sinks (on the thread taking it; no sink runs meanwhile): makes what the sinks wrote durable
  /// and returns their position (such as the bytes of an output file), which the checkpoint
  /// stores. After Engine::resume, output beyond Job::resumed_from().sink_position is the part
  /// that will be produced again: drop it. Unset: position 0.
  std::function<std::uint64_t()> commit_sinks;
};

/// @brief Engine configuration; every field has a documented default.
struct EngineConfig {
  Backend backend = Backend::automatic;
  /// Workers in this process; 0 picks the default (1 on the CPU; one per GPU). Across ranks,
  /// every rank must have the same number.
  int workers = 0;
  /// The processes the job spans (default: detected from an MPI launcher, else this one).
  /// Balancing assigns each rank's batches to its own workers; partitioning assigns keys to
  /// the workers of all ranks (range partitioning: ranks * workers - 1 boundaries).
  Ranks ranks;
  /// Across ranks: rank 0's sinks receive every window (one output, as from one process);
  /// false: each rank's sinks receive the windows of the keys its workers own.
  bool gather_results = true;
  BalancePolicy balance = BalancePolicy::round_robin;
  std::vector<double> weights;                    ///< one per worker, for BalancePolicy::weighted
  std::uint64_t seed = 0x5EED;                    ///< for BalancePolicy::random
  PartitionSpec partition;                        ///< how keys are owned by workers
  std::size_t batch_rows = std::size_t{1} << 20;  ///< micro-batch size in rows
  /// Seal a partial micro-batch once its oldest row has waited this long, and send a round
  /// after this long without a push (so that the watermark passes sources gone idle); 0:
  /// never (batches are cut by rows only, so they, and lateness and output, do not depend on
  /// timing).
  Duration batch_timeout = std::chrono::milliseconds(10);
  std::size_t queue_batches = 4;  ///< sealed batches that may wait (backpressure beyond)
  /// Batches per worker in a round (a round leaves with workers * round_batches batches): a
  /// worker pre-aggregates them together before the exchange, so more mean fewer partials
  /// between workers and ranks and fewer collectives, at the cost of latency (the watermark
  /// advances once per round) and of memory for the round's groups.
  int round_batches = 1;
  int threads = 0;  ///< OpenMP threads per CPU worker; 0 = cores / workers
  /// A source that has not pushed for this long stops holding the watermark back; 0 = never.
  Duration source_idle_timeout{0};
  /// GPU backend: the most device memory one worker's pool may hold, in bytes; 0 = no limit
  /// below the card's. State that outgrows it fails the job with ErrorCode::out_of_memory.
  std::size_t device_memory_limit = 0;
  /// Strings no longer referenced (by a live window, a broadcast row, a query literal) are
  /// reclaimed once the job's dictionary holds this many strings and twice as many as the last
  /// look kept; 0 = never. Each look processes the batches in flight first (as flush() does,
  /// once) and counts the live strings; if at most half are live, the job's dictionary is
  /// replaced with one that keeps them under their codes (Job::dictionary()). So a stream whose
  /// keys churn holds strings in proportion to its live keys, not to all it ever saw. Batches
  /// coded before a reclaim are copied on push: a job fed arrays coded once, up front, over a
  /// fixed set of strings (not all live at once) should set 0.
  std::size_t string_reclaim_threshold = std::size_t{1} << 16;
  /// The most bytes the window state (every worker's tables) and the job's string dictionary
  /// may hold together; 0 = no limit. Checked after every round: state beyond it fails the job
  /// with ErrorCode::out_of_memory, naming both sizes, instead of exhausting the machine.
  std::size_t state_memory_limit = 0;
  /// Result batches ordered by window, then key (a radix pass over window and key code per
  /// emission); off: rows in the order the workers fire them.
  bool ordered_results = true;
  /// Checkpoints for an exactly-once restart; off unless checkpoint.directory is set. Across
  /// ranks each rank keeps its part in `directory`/rank-<rank>.
  CheckpointConfig checkpoint;
};

/// @brief Where a resumed job starts (Job::resumed_from()).
struct ResumePoint {
  /// The checkpoint restored (its number), or 0: none was found and the job starts from the
  /// beginning of its input, with empty state.
  std::uint64_t checkpoint = 0;
  std::string path;  ///< its file
  /// Per source (Job::set_position): where to read on from; sources never positioned: 0.
  std::vector<std::uint64_t> positions;
  /// What CheckpointConfig::commit_sinks returned for it: output beyond this is to be dropped.
  std::uint64_t sink_position = 0;
  /// Newer checkpoint files that were torn or corrupt, each with why ("FILE: torn: ...").
  std::vector<std::string> rejected;
};

/// @brief Counters of a job. Snapshot; safe to read while the job runs.
struct Metrics {
  std::uint64_t events_in = 0;        ///< rows pushed
  std::uint64_t events_filtered = 0;  ///< rows the filter removed
  /// Rows rejected as malformed: by a reader (Job::count_malformed), or by the engine for an
  /// event time the window cannot represent (events_unrepresentable).
  std::uint64_t events_malformed = 0;
  /// Of events_malformed, pushed rows whose event time lies so near the ends of the 64-bit range
  /// that their windows, panes or watermark cannot be represented: dropped, never wrapped.
  std::uint64_t events_unrepresentable = 0;
  std::uint64_t events_late = 0;  ///< rows too late for every window (side output)
  /// Rows folded into windows (without windows: rows that reached the output). Every pushed row
  /// is filtered, late, unrepresentable or aggregated once processed: after finish(),
  /// events_in = events_filtered + events_late + events_unrepresentable + events_aggregated
  /// (rows a reader rejected before the push are in events_malformed only).
  std::uint64_t events_aggregated = 0;
  std::uint64_t windows_fired = 0;  ///< (window, key) rows emitted, updates included
  /// The watermark windows have fired to, in the time column's unit (INT64_MIN before the
  /// first round; INT64_MAX once finish() fired every window).
  std::int64_t watermark = std::numeric_limits<std::int64_t>::min();
  std::uint64_t window_updates = 0;  ///< of which updates: re-emissions and early firings
  std::uint64_t batches = 0;         ///< micro-batches processed
  // Across ranks every counter is this rank's; windows_fired counts the windows its sinks got.
  /// Live (key, pane) groups of the window state, all workers, as of their last round.
  std::uint64_t state_groups = 0;
  /// Bytes the window state's tables hold (index slots and entry rows, including room to grow).
  std::uint64_t state_bytes = 0;
  /// Index slots of the window state's hash tables (free tables included); state_groups /
  /// state_slots is their load factor.
  std::uint64_t state_slots = 0;
  /// Strings the job's dictionary holds, and the host memory they take (approximately; both in
  /// state_memory_limit's sum with state_bytes).
  std::uint64_t dictionary_strings = 0;
  std::uint64_t dictionary_bytes = 0;
  /// Strings dropped by reclaims so far (EngineConfig::string_reclaim_threshold), and reclaims.
  std::uint64_t strings_reclaimed = 0;
  std::uint64_t string_reclaims = 0;
  /// Checkpoints taken by this job (a resumed job counts on from its checkpoint), and the bytes
  /// of the last one's file.
  std::uint64_t checkpoints = 0;
  std::uint64_t checkpoint_bytes = 0;
  std::vector<std::uint64_t> batches_per_worker;
  /// Bytes this rank's workers sent to other ranks (partials, event times, gathered windows);
  /// 0 in one process.
  std::uint64_t exchange_bytes = 0;
  std::uint64_t partial_bytes = 0;  ///< of which pre-aggregated partials
  /// Seconds the workers spent in rounds, and of those in the exchange's collectives (waiting
  /// for the other workers and ranks included), summed over this rank's workers.
  double round_seconds = 0;
  double exchange_seconds = 0;
  double elapsed_seconds = 0;  ///< from the first push to finish (or now)
  double events_per_second = 0;
  /// Seconds each worker spent on each of its rounds (its micro-batches of the round folded,
  /// exchanged, merged and fired): one observation per worker and round.
  Histogram round_duration;
  /// Event-to-emission latency of windowed queries, one observation per (window, key) row the
  /// sinks got: from the first push into the micro-batches of the round whose watermark fired
  /// the window to the moment its rows were handed to the sinks (so a row waits at least the
  /// time its micro-batch took to fill). Not observed: rows of the last round of finish() (the
  /// end of the input closed them) and of rounds without batches (idle sources, checkpoints).
  Histogram emission_latency;
};

class Job;

/// @brief Chooses a backend and starts jobs.
class Engine {
 public:
  /// @throws Error(backend_unavailable) when Backend::gpu is asked for and no GPU works;
  /// Error(invalid_argument) on inconsistent settings (e.g. weights vs workers).
  explicit Engine(EngineConfig config = {});
  /// @brief The backend in use (never `automatic`).
  Backend backend() const noexcept { return backend_; }
  const EngineConfig& config() const noexcept { return config_; }
  /// @brief Why the backend was chosen ("CPU: no CUDA device (...)").
  const std::string& backend_reason() const noexcept { return reason_; }
  /// @brief The ranks in use (resolved: never automatic).
  const Ranks& ranks() const noexcept { return config_.ranks; }
  /// @brief Compiles `query` against `schema` and starts it.
  /// @throws Error naming the unknown column, wrong type or bad expression.
  Job start(const Schema& schema, const Query& query) const;
  /// @brief Like start(), from the newest complete checkpoint in config().checkpoint.directory,
  /// or from the beginning when there is none (Job::resumed_from() says which); across ranks
  /// (collective), the newest whose part every rank holds complete. The caller then
  /// pushes each source on from its position and drops output beyond the sinks' position: the
  /// output of the resumed job then continues that of the job that wrote the checkpoint, as if
  /// it had not stopped.
  /// @throws Error(invalid_argument) without a checkpoint directory, or when the checkpoint is
  /// of another query, schema or number of workers; Error(malformed_input) when the newest
  /// complete checkpoint cannot be read back; Error(io_error) when the directory cannot be read.
  Job resume(const Schema& schema, const Query& query) const;

  /// @brief True when the CUDA backend is built and a device works; otherwise why not.
  static bool gpu_available(std::string* why = nullptr);

 private:
  EngineConfig config_;
  Backend backend_ = Backend::cpu;
  std::string reason_;
};

/// @brief A running query. push() from any thread; finish() flushes every window. A Job that
/// was moved from only accepts destruction and assignment: its other calls throw
/// Error(invalid_argument).
class Job {
 public:
  class Impl;
  explicit Job(std::unique_ptr<Impl> impl);
  Job(Job&&) noexcept;
  Job& operator=(Job&&) noexcept;
  /// Finishes the job if finish() was not called (errors are swallowed); across ranks it fails
  /// the job on every rank instead, naming this one.
  ~Job();

  /// @brief A builder whose string columns use the job's dictionary (no re-encoding on push).
  /// After the job reclaims strings (EngineConfig::string_reclaim_threshold) the batches of a
  /// builder made before are copied and re-encoded: make builders per batch, or anew when
  /// dictionary() changed.
  BatchBuilder make_builder() const;
  /// @brief The dictionary the job codes strings with now, shared by its string columns: batches
  /// coded with it are read in place, its codes name the strings of result batches. A reclaim
  /// replaces it with one that keeps every live string under its code; the earlier one stays
  /// valid for whoever holds it.
  DictionaryPtr dictionary() const;
  /// @brief Pushes a batch of the job's schema from `source`. Blocks while the engine is behind.
  /// Batches are read in place, without a copy, when their string columns use the job's
  /// dictionaries (make_builder(), or wrap() with dictionary(column)) and they are not small
  /// (at least 1/16 of EngineConfig::batch_rows): the engine then holds a copy of the Batch
  /// until it has processed those rows. A batch that owns its storage (built, or wrapped with
  /// keep_alive) needs no care; the arrays of a batch wrapped without keep_alive must stay
  /// valid and unchanged until flush() or finish() returns. Other batches (small ones, foreign
  /// dictionaries) have their read columns copied into the engine's micro-batches, and may be
  /// reused once push returns.
  /// The watermark is the minimum over sources (each: its largest event time minus the
  /// out-of-orderness) that have sent events and are not idle (EngineConfig::source_idle_timeout).
  /// @throws Error on a schema mismatch or if the job has failed.
  void push(const Batch& batch, int source = 0);
  /// @brief Pushes an Arrow record batch from `source` (sluice/arrow.hpp: import_arrow, with the
  /// job's dictionary): moved in, and read in place where its types are the columns' storage
  /// (the job releases it once it has processed those rows); rows with a null in a column read
  /// are dropped and counted as malformed.
  /// @throws Error as import_arrow does (nothing is moved then), or as push does.
  void push_arrow(ArrowArray* array, const ArrowSchema* schema, int source = 0);
  /// @brief Pushes one row (one Value per schema column) from `source`; rows are micro-batched.
  void push_row(std::span<const Value> row, int source = 0);
  void push_row(std::initializer_list<Value> row, int source = 0) {
    push_row(std::span<const Value>(row.begin(), row.size()), source);
  }
  /// @brief Applies the rows of `batch` (of the declared schema) to the query's broadcast input
  /// `name` (Query::broadcast): a row replaces the earlier row of its key. Rows pushed before
  /// this call see the earlier state and rows pushed after it the new one, on every worker
  /// (the forming micro-batch is sealed first). Across ranks each rank applies what is pushed
  /// on it: push the same rows on every rank (`sluice run --broadcast` reads the file on each).
  /// The table is copied whole per call, so push updates in batches, not row by row.
  /// @throws Error(invalid_argument) for an unknown name or another schema, or if the job
  /// has failed.
  void push_broadcast(std::string_view name, const Batch& batch);
  /// @brief Records where `source` stands after everything pushed from it so far (a byte
  /// offset, a message offset): the checkpoints taken from now on store it, and a resumed job
  /// hands it back (ResumePoint::positions). Call it after the push it follows.
  /// @throws Error(invalid_argument) for a negative source or one beyond 65 535.
  void set_position(int source, std::uint64_t position);
  /// @brief Declares that `source` will push events, before its first push: until it pushes
  /// its first event (or is idle, EngineConfig::source_idle_timeout, counted from this call)
  /// the watermark does not move, so its events are not late against the other sources' (as a
  /// Flink source's watermark waits for each of its splits). Without it a source holds the
  /// watermark back only from its first event on. Takes effect with the next rows pushed (from
  /// any source); a query without event time ignores it.
  /// @throws Error(invalid_argument) for a source outside [0, 65535] or after finish().
  void expect_source(int source);
  /// @brief Takes a checkpoint (EngineConfig::checkpoint) of everything pushed so far: the
  /// sealed batches are processed and the windows they closed reach the sinks, commit_sinks
  /// runs, and the state is written with the rows not yet in a full batch (as rows: nothing is
  /// sealed early, so batches, rounds and so lateness and output are those of a run without
  /// checkpoints). Blocks for that long. Across ranks it is collective: each rank's call waits
  /// (its rounds going on, empty) until every rank has called it, and all write their parts
  /// of one round; once any rank has finished, it returns without a checkpoint.
  /// @throws Error(invalid_argument) without a checkpoint directory or after finish();
  /// Error(io_error) when the file cannot be written (the job fails with it).
  void checkpoint();
  /// @brief Where the job started from (Engine::resume); checkpoint 0 for a job that start()
  /// began or that found no checkpoint.
  const ResumePoint& resumed_from() const;
  /// @brief Counts `rows` input rows that a reader rejected before they could be pushed (a CSV
  /// reader's malformed rows), in Metrics::events_malformed.
  void count_malformed(std::uint64_t rows);
  /// @brief Seals pending rows and waits until every batch pushed so far has been processed
  /// (its arrays are no longer read) and the windows it closed have been emitted.
  /// @throws Error if any stage failed.
  void flush();
  /// @brief Seals pending rows, processes everything, fires all remaining windows and stops.
  /// @throws Error if any stage failed (the message names the stage, worker and batch).
  void finish();
  /// @brief Like finish(), but without draining (a stop on request, e.g. on SIGINT): everything
  /// pushed is processed, the windows the watermark has passed are fired, and those still open
  /// are dropped (take a checkpoint() before to keep them for Engine::resume). Across ranks,
  /// one rank's stop() holds every rank's last watermark at the one reached.
  /// @throws Error if any stage failed.
  void stop();
  Metrics metrics() const;
  /// @brief Across ranks, collective (every rank calls it, after finish()): the counters summed
  /// over all ranks (batches_per_worker: every rank's workers, rank by rank). In one process,
  /// metrics().
  Metrics total_metrics() const;
  /// @brief Ok, or the first error of any stage.
  Status status() const;
  const Schema& schema() const;

 private:
  Impl& impl() const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
