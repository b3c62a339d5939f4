// Worker: the round protocol of one worker, over its pipeline, the exchange and the emitter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/engine/dispatch.hpp"
#include "host/engine/emitter.hpp"
#include "host/engine/event_clock.hpp"
#include "host/query_compiler.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "transport/exchange.hpp"

namespace sluice::detail {

/// @brief Counters the workers keep for Metrics.
struct WorkCounters {
  std::atomic<std::uint64_t> filtered{0};
  std::atomic<std::uint64_t> late{0};
  std::atomic<std::uint64_t> batches{0};
  /// Live window-state entries and the bytes of their tables, all workers (each adds the change
  /// of its own after every round).
  std::atomic<std::int64_t> state_groups{0};
  std::atomic<std::int64_t> state_bytes{0};
};

/// @brief Runs one worker's rounds. A windowed round: the watermark before each batch (from the
/// event times of all earlier batches: measured by the fold itself when one worker folds them
/// in order, else scanned first and, with several workers, traded), pre-aggregate each batch,
/// exchange the groups by owner (several workers), settle (the one synchronization: counters, and
/// the previous round's fired rows, on the host), emit the previous round's rows, merge, agree on
/// the watermark, fire. The rows a fire emits go out at the next round's settle when another
/// round is already queued (so their copy overlaps that round's work), at once otherwise.
/// Callable from any one thread; no threads of its own.
class Worker {
 public:
  Worker(int index, int workers, const CompiledQuery& query, WorkerPipeline& pipeline,
         RoundQueue& queue, Exchange& exchange, Emitter& emitter, WorkCounters& counters);

  /// @brief Runs `part` (the front of the queue).
  void run_round(RoundPart& part);
  /// @brief Where the worker is, for error messages: "worker 0, round 3, fire, batch 7".
  std::string where() const;
  /// @brief Where a fault of the device's asynchronous work may have come from: it surfaces at
  /// the next synchronization, so any work queued since the last one (this round's batches, the
  /// previous fire) may have caused it.
  std::string where_device_fault() const;
  std::uint64_t batches() const noexcept { return batches_; }

 private:
  void run_stateless(RoundPart& part);
  /// Adds the change of this worker's window state since the last report to the counters.
  void report_state();
  void stage_ahead(RoundPart& part, std::size_t next);
  /// Scans the event times of this worker's batches of the round, trades them with the other
  /// workers, and replays the watermark over the whole round: fills wm_before_.
  void measure_times(const RoundPart& part);

  int index_;
  int workers_;
  const CompiledQuery& query_;
  WorkerPipeline& pipeline_;
  RoundQueue& queue_;
  Exchange& exchange_;
  Emitter& emitter_;
  WorkCounters& counters_;
  std::int64_t fired_wm_;
  std::optional<std::uint64_t> pending_;  ///< a round whose fired rows are not emitted yet
  std::vector<ReceivedPart> received_;
  std::vector<std::uint32_t> kept_;
  EventClock clock_;
  SliceTimes slice_times_;
  std::vector<std::uint64_t> time_rows_;    // of this worker's batches
  std::vector<std::uint64_t> round_times_;  // of every worker's batches of the round
  std::vector<PartDescriptor> time_parts_;  // the same rows to every worker
  std::vector<ReceivedPart> received_times_;
  std::vector<std::pair<std::uint64_t, std::int64_t>> round_before_;  // every batch's
  std::vector<std::int64_t> wm_before_;  // of this worker's batches of the round
  // For messages.
  const char* stage_ = "start";
  std::uint64_t round_ = 0;
  std::optional<std::uint64_t> batch_;
  std::int64_t state_groups_ = 0;  ///< this worker's share of counters_.state_groups
  std::int64_t state_bytes_ = 0;
  std::uint64_t first_batch_ = 0;  ///< of the current round (0: none)
  std::uint64_t last_batch_ = 0;
  std::uint64_t batches_ = 0;
};

}  // namespace sluice::detail
