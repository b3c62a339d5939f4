// WorkerPipeline: one worker's per-batch operators and round protocol, behind an interface
// free of CUDA types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/pipeline/batch_view.hpp"
#include "kernels/pipeline/plan.hpp"
#include "transport/exchange.hpp"

namespace sluice::detail {

/// @brief Fired rows in host memory, as one fire emitted them: window index, key words, update
/// flag and state words (row i of column c at [c * stride + i]). Valid until the pipeline's
/// next fire().
struct FiredView {
  std::size_t size = 0;
  std::size_t stride = 0;
  const std::int64_t* window = nullptr;
  const std::uint64_t* keys = nullptr;
  const std::uint8_t* update = nullptr;
  const std::uint64_t* states = nullptr;
};

/// @brief What one batch of a round produced, known once the round has settled.
struct BatchOutcome {
  std::size_t kept = 0;                      ///< rows that passed the filter
  std::size_t late = 0;                      ///< of which too late for every window
  std::span<const std::uint32_t> late_rows;  ///< their rows in the batch, ascending
};

/// @brief Output columns of a stateless query for one batch, in host memory owned by the
/// pipeline: column j has the type of plan output j; valid until the next project().
struct ProjectedView {
  std::size_t rows = 0;
  std::vector<const void*> columns;
};

/// @brief How pack() treats the round's groups when the workers span several processes.
struct PackOptions {
  /// Empty, or a hash of each string code's text (each process has its own dictionary): hash
  /// partitioning then hashes string key words by their text, so that a key has one owner in
  /// every process.
  std::span<const std::uint64_t> string_hashes;
  /// Empty, or per owner: whether to combine the rows of equal groups into one before they are
  /// sent (owners in other processes, so that the network carries one row per group).
  std::span<const std::uint8_t> combine;
};

/// @brief The per-batch operator chain of one worker on one executor. A windowed round goes:
/// begin_round(); aggregate() per batch; with several workers, pack() then the exchange then
/// unpack(); settle() (the round's one synchronization: afterwards outcome() and
/// collect_fired() for the previous fire are on the host); merge(); fire(). All methods are
/// called from the worker's thread. Errors throw sluice::Error.
class WorkerPipeline {
 public:
  virtual ~WorkerPipeline() = default;

  /// @brief Allocates every per-batch buffer for batches of up to `batch_rows` rows, so that a
  /// steady stream of such batches allocates nothing more.
  virtual void reserve(std::size_t batch_rows) = 0;
  /// @brief Starts copying a host batch's columns into the executor's memory in the background
  /// (nothing on the host executor). A later aggregate() or project() of the same batch uses
  /// the copy. At most kStagedAhead batches may be staged ahead of the one being processed;
  /// staging more only makes the oldest copy be redone.
  /// @pre The host columns stay unchanged until that batch has been processed.
  virtual void stage(const BatchView& batch) = 0;
  static constexpr int kStagedAhead = 2;

  /// @brief Stateless queries: filters the batch and evaluates the output columns.
  virtual const ProjectedView& project(const BatchView& batch,
                                       std::vector<std::uint32_t>& kept) = 0;

  /// @brief Starts a round whose batches have at most `max_rows` rows in all.
  virtual void begin_round(std::size_t max_rows) = 0;
  /// @brief Windowed queries: filter, event time, pane and cut (lateness against wm_before),
  /// keys and inputs of the batch, pre-aggregated into the round's groups.
  virtual void aggregate(const BatchView& batch, std::int64_t wm_before) = 0;
  /// @brief Whether aggregate() also measures the event-time range of each slice of the batch
  /// (event_times()), in the pass that folds it; otherwise a caller that needs the range for
  /// the watermark scans the batch itself.
  virtual bool measures_event_times() const = 0;
  /// @brief The ranges the last aggregate() measured. @pre measures_event_times().
  virtual const SliceTimes& event_times() const = 0;
  /// @brief With several workers: packs the round's groups by owner into the outbox; returns
  /// the part for each owner (one synchronization on a device: the parts' sizes).
  virtual std::span<const PartDescriptor> pack(const PackOptions& options) = 0;
  /// @brief The outbox pack() filled; valid until the next begin_round().
  virtual OutboxView outbox() const = 0;
  /// @brief Copies the parts other workers (and this one) sent here, from their outboxes, in
  /// place of the round's own groups.
  virtual void unpack(std::span<const ReceivedPart> parts) = 0;
  /// @brief Looks the round's groups up in the state and brings the round's counters to the
  /// host. @param first_pane, last_pane bound the panes of the round's events that are not late.
  virtual void settle(std::int64_t first_pane, std::int64_t last_pane, std::int64_t fired_wm) = 0;
  /// @brief Batch i of the round (in aggregate() order), once settled.
  virtual BatchOutcome outcome(std::size_t i) = 0;
  /// @brief The rows of the last fire(), in host memory (waits for their copy if needed).
  virtual const FiredView& collect_fired() = 0;
  /// @brief Merges the settled groups into the state. @param fired_wm as for settle().
  virtual void merge(std::int64_t fired_wm) = 0;
  /// @brief Fires windows ending in (prev_wm, wm] plus re-emissions, then evicts expired panes.
  /// The copy of the fired rows to the host may still run when fire() returns.
  /// With `early`, the windows still open after wm also emit their current values, as updates
  /// (an early firing; the state is left as it is).
  virtual void fire(std::int64_t prev_wm, std::int64_t wm, bool early) = 0;
  /// @brief ORs into `bits` (host memory: bit c of word c / 32) the string codes that the window
  /// state holds in the key words of `code_words` (bit j: key word j is a string). Between
  /// rounds only; synchronizes. Allocates (it runs when the job reclaims strings, not per round).
  virtual void mark_string_codes(std::uint32_t code_words, std::vector<std::uint32_t>& bits) = 0;
  /// @brief Appends the window state to `words` (host memory) for a checkpoint. Between rounds
  /// only; synchronizes. Nothing for a stateless query.
  virtual void save_state(std::vector<std::uint64_t>& words) = 0;
  /// @brief Loads a state save_state() wrote (of the same plan) before the first round.
  /// @return the words read. @throws Error(malformed_input) when they describe no such state.
  virtual std::size_t restore_state(std::span<const std::uint64_t> words) = 0;
  /// @brief Live (key, pane, cut) entries of the window state, the bytes its tables hold and
  /// their index slots.
  virtual std::size_t state_size() const = 0;
  virtual std::size_t state_bytes() const = 0;
  virtual std::size_t state_slots() const = 0;
};

/// @brief The pipeline on the host executor (OpenMP threads of the calling thread).
std::unique_ptr<WorkerPipeline> make_host_pipeline(const PipelinePlan& plan);
/// @brief The pipeline on CUDA device `device`, its device memory drawn from a pool of at most
/// `memory_limit` bytes (0: as much as the device has).
/// @throws Error(backend_unavailable) when Sluice was built without CUDA.
std::unique_ptr<WorkerPipeline> make_cuda_pipeline(const PipelinePlan& plan, int device,
                                                   std::size_t memory_limit = 0);

}  // namespace sluice::detail
