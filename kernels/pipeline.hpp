// WorkerPipeline: one worker's per-batch operator chain, behind an interface free of CUDA types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/filter_project.hpp"
#include "kernels/ops/hash.hpp"
#include "kernels/ops/program.hpp"
#include "kernels/ops/window_assign.hpp"
#include "kernels/partition.hpp"
#include "kernels/state_spec.hpp"

namespace sluice::detail {

/// @brief A compiled query in executor-neutral form: programs and the layout of their outputs.
struct PipelinePlan {
  std::vector<ColumnType> input_types;  ///< the columns a batch carries, in order
  std::vector<Instr> code;
  std::vector<ProgramRef> programs;
  ProjectionSpec projection;  ///< outputs: [time, keys..., state inputs...] when windowed
  bool windowed = false;
  int time_output = 0;
  int key_words = 0;
  StateSpec states;
  PaneSpec panes;
  KeyHasher hasher;
  Partitioner partitioner;  ///< parts == number of workers
};

/// @brief One batch's read columns (plan.input_types order).
struct BatchColumns {
  std::vector<const void*> data;
  std::size_t rows = 0;
  std::uint64_t id = 0;  ///< tells batches apart for stage() (the engine's batch sequence)
  /// False: the columns are in host memory and the pipeline copies them (asynchronously when
  /// the memory is pinned). True: they already lie in the pipeline executor's memory
  /// (device-resident benchmarks) and are read in place.
  bool resident = false;
};

/// @brief Fired windows in host memory owned by the pipeline, in (window, key id) order;
/// valid until the pipeline's next fire().
struct FiredHost {
  std::size_t size = 0;
  const std::int64_t* window = nullptr;  ///< window index (PaneSpec::window_start/end)
  const std::uint64_t* keys = nullptr;   ///< key word j of row i at keys[j * size + i]
  const std::uint8_t* update = nullptr;
  const std::uint64_t* states = nullptr;  ///< state s of row i at states[s * size + i]
};

/// @brief What one batch produced before the exchange.
struct BatchOutcome {
  std::size_t kept = 0;                  ///< rows that passed the filter
  std::size_t late = 0;                  ///< of which too late for every window
  std::vector<std::uint32_t> late_rows;  ///< their row indices in the batch
};

/// @brief The per-batch operator chain of one worker on one executor. All methods are called
/// from the worker's thread. Errors throw sluice::Error.
class WorkerPipeline {
 public:
  virtual ~WorkerPipeline() = default;

  /// @brief Allocates every per-batch buffer for batches of up to `batch_rows` rows, so that a
  /// steady stream of such batches allocates nothing more.
  virtual void reserve(std::size_t batch_rows) = 0;
  /// @brief Starts copying a host batch's columns into the executor's memory in the background
  /// (a no-op on the host executor). A later project() or preaggregate() of the same columns
  /// uses the copy. At most kStagedAhead batches may be staged ahead of the one being
  /// processed; staging more only makes the oldest copy be redone.
  /// @pre The host columns stay unchanged until that batch has been processed.
  virtual void stage(const BatchColumns& batch) = 0;
  static constexpr int kStagedAhead = 2;

  /// @brief Stateless queries: filter and evaluate the outputs; out_words receives output j of
  /// kept row i at [j * kept + i]. @return kept rows.
  virtual std::size_t project(const BatchColumns& batch, std::vector<std::uint64_t>& out_words) = 0;

  /// @brief Windowed queries: filter, project, assign panes (lateness against wm_before) and
  /// pre-aggregate the batch into partials held by the pipeline.
  virtual BatchOutcome preaggregate(const BatchColumns& batch, std::int64_t wm_before) = 0;
  /// @brief Merges the held partials into this worker's own state (single-worker jobs).
  virtual void merge_held(std::int64_t fired_wm) = 0;
  /// @brief Appends the held partials, packed and split by owner, to send[owner].
  virtual void pack_held(std::vector<std::vector<std::uint64_t>>& send) = 0;
  /// @brief Merges packed partials received from other workers (any order, duplicates of a
  /// group allowed) into the state.
  virtual void merge_packed(std::span<const std::uint64_t> packed, std::int64_t fired_wm) = 0;

  // Exchange in place, between workers of one process: partials stay in each pipeline's memory
  // (a device's, for CUDA) and owners copy their parts straight from the senders' memory
  // (peer-to-peer between GPUs where the devices allow it; the driver stages through the host
  // otherwise). A round: clear_outbox(), pack_held_to_outbox() per batch, the outbox
  // manifests through Exchange::all_to_all, merge_outboxes(), then a collective (the
  // watermark's all_reduce_min) before anyone clears its outbox again.

  /// @brief Empties the outbox. @pre Every worker has finished reading it (last round's
  /// collective).
  virtual void clear_outbox() = 0;
  /// @brief Appends the held partials, packed and split by owner, to the outbox.
  virtual void pack_held_to_outbox() = 0;
  /// @brief Where the outbox's part for each owner lies: manifests[d] describes it to owner d.
  /// Valid in this process until clear_outbox().
  virtual std::vector<std::vector<std::uint64_t>> outbox_manifests() = 0;
  /// @brief Copies the parts the manifests (from every sender, concatenated) describe from the
  /// senders' memory and merges them into the state. The copies are complete on return.
  virtual void merge_outboxes(std::span<const std::uint64_t> manifests, std::int64_t fired_wm) = 0;
  /// @brief Fires windows ending in (prev_wm, wm] plus re-emissions, then evicts expired panes.
  /// The copy of the fired rows to the host may still run when fire() returns: it overlaps
  /// with the next batches' work until collect_fired() waits for it.
  virtual void fire(std::int64_t prev_wm, std::int64_t wm) = 0;
  /// @brief The rows of the last fire(), once in host memory (empty before any fire).
  virtual const FiredHost& collect_fired() = 0;
  /// @brief Live (key, pane) slots in the window state.
  virtual std::size_t state_size() const = 0;
};

/// @brief The pipeline on the host executor (OpenMP threads of the calling thread).
std::unique_ptr<WorkerPipeline> make_host_pipeline(const PipelinePlan& plan);
/// @brief The pipeline on CUDA device `device`, its device memory drawn from a pool of at most
/// `memory_limit` bytes (0: as much as the device has).
/// @throws Error(backend_unavailable) when Sluice was built without CUDA.
std::unique_ptr<WorkerPipeline> make_cuda_pipeline(const PipelinePlan& plan, int device,
                                                   std::size_t memory_limit = 0);

}  // namespace sluice::detail
