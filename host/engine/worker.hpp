// Worker: the round protocol of one worker, over its pipeline, the exchange and the emitter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "host/engine/dispatch.hpp"
#include "host/engine/emitter.hpp"
#include "host/engine/event_clock.hpp"
#include "host/engine/string_codes.hpp"
#include "host/query_compiler.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "transport/exchange.hpp"

namespace sluice::detail {

/// @brief Counters the workers keep for Metrics.
struct WorkCounters {
  std::atomic<std::uint64_t> filtered{0};
  std::atomic<std::uint64_t> late{0};
  std::atomic<std::uint64_t> unrepresentable{0};  ///< rows with event times no window can hold
  std::atomic<std::uint64_t> aggregated{0};       ///< rows folded into windows (or output)
  std::atomic<std::uint64_t> batches{0};
  /// Live window-state entries and the bytes of their tables, all workers (each adds the change
  /// of its own after every round).
  std::atomic<std::int64_t> state_groups{0};
  std::atomic<std::int64_t> state_bytes{0};
  std::atomic<std::int64_t> state_slots{0};
  /// Bytes of the job's string dictionary (the job updates it after pushes).
  std::atomic<std::int64_t> dictionary_bytes{0};
  /// Nanoseconds in rounds, and in the exchange's collectives, all workers.
  std::atomic<std::int64_t> round_ns{0};
  std::atomic<std::int64_t> exchange_ns{0};
  /// Bytes of the partials sent to workers of other ranks.
  std::atomic<std::uint64_t> partial_bytes{0};
  /// The watermark the workers have fired to (INT64_MIN before the first).
  std::atomic<std::int64_t> watermark{std::numeric_limits<std::int64_t>::min()};
  HistogramRecorder round_duration;  ///< seconds per worker and round
};

/// @brief What a worker needs when the job spans several ranks (processes): the workers of all
/// ranks are the members of one exchange, member = rank * local_workers + local index.
struct RankRole {
  int rank = 0;
  int ranks = 1;
  int local_workers = 1;
  /// Fired rows go to member 0 (rank 0's first worker), which emits every window; otherwise
  /// each rank emits the windows of the keys its workers own.
  bool gather_results = true;
  RowTranslator* partials = nullptr;  ///< string codes of packed partials (null: none)
  RowTranslator* fired = nullptr;     ///< string codes of fired rows (null: none)
  /// The job's dictionary, for the text hashes that own string keys (replaced between rounds
  /// when the job reclaims strings).
  DictionaryPtr dictionary;
};

/// @brief Runs one worker's rounds. A windowed round: the watermark before each batch (from the
/// event times of all earlier batches: measured by the fold itself when one worker folds them
/// in order, else scanned first and, with several workers, traded), pre-aggregate each batch,
/// exchange the groups by owner (several workers), settle (the one synchronization: counters, and
/// the previous round's fired rows, on the host), emit the previous round's rows, merge, agree on
/// the watermark, fire. The rows a fire emits go out at the next round's settle when another
/// round is already queued (so their copy overlaps that round's work), at once otherwise.
/// Across ranks (a RankRole), every round starts with the ranks' facts (batches, idle sources,
/// whether a rank's input has ended) traded with the event times; the batches of a round are
/// ordered by rank, then by number; a rank whose input ended runs empty rounds until every
/// rank's has (finished()); fired rows are emitted at once (gathered on member 0 by default).
/// Callable from any one thread; no threads of its own.
class Worker {
 public:
  /// @param index, workers this worker's member index and the members of the exchange.
  /// @param role null for a job in one process.
  Worker(int index, int workers, const CompiledQuery& query, WorkerPipeline& pipeline,
         RoundQueue& queue, Exchange& exchange, Emitter& emitter, WorkCounters& counters,
         const RankRole* role = nullptr);

  /// @brief Runs `part` (the front of the queue).
  void run_round(RoundPart& part);
  /// @brief Where the worker is, for error messages: "worker 0, round 3, fire, batch 7".
  std::string where() const;
  /// @brief Where a fault of the device's asynchronous work may have come from: it surfaces at
  /// the next synchronization, so any work queued since the last one (this round's batches, the
  /// previous fire) may have caused it.
  std::string where_device_fault() const;
  std::uint64_t batches() const noexcept { return batches_; }
  /// @brief The job's last round has run: one with `final` set in one process; across ranks,
  /// the round in which the input of every rank had ended.
  bool finished() const noexcept { return finished_; }
  /// @brief After a round that asked for it (RoundPart::census_words): bit c of word c / 32 is
  /// set for each string code the worker's state holds.
  const std::vector<std::uint32_t>& census() const noexcept { return census_; }
  /// @brief After a round that asked for it (RoundPart::save_state): the worker's state for a
  /// checkpoint (its window state, watermark, last fire), as restore() reads it.
  const std::vector<std::uint64_t>& saved_state() const noexcept { return saved_; }
  /// @brief States saved so far: across ranks a round that asked for a checkpoint saves only
  /// when every rank's part asked (it is then one round on every rank), and never once a
  /// rank's input has ended (peers_ended()). Read between rounds.
  std::uint64_t saves() const noexcept { return saves_; }
  bool peers_ended() const noexcept { return peers_ended_; }
  /// @brief Loads a state saved_state() held (a worker of the same query, index and workers),
  /// before the first round. @throws Error(malformed_input) when it describes no such state.
  void restore(std::span<const std::uint64_t> words);
  /// @brief Fails rounds after which the state's and the dictionary's bytes exceed `bytes`
  /// (EngineConfig::state_memory_limit; 0 = none).
  void set_memory_limit(std::size_t bytes) noexcept { memory_limit_ = bytes; }

 private:
  void run_stateless(RoundPart& part);
  /// Adds the change of this worker's window state since the last report to the counters.
  void report_state();
  void stage_ahead(RoundPart& part, std::size_t next);
  /// Starts the round's clock: scans the event times of this worker's batches of the round
  /// (with event time), trades them and the ranks' facts with the other workers (when there
  /// are several and anything to trade), and replays the watermark over the whole round: fills
  /// wm_before_. @return whether the round is the job's last.
  bool agree_round(const RoundPart& part, bool scan_times);
  /// Emits the rows of the last fire (gathering them on member 0 across ranks).
  /// `pushed_ns`: Emitter::deliver's.
  void emit_fired(std::uint64_t round, std::int64_t pushed_ns);
  int rank() const noexcept { return role_ != nullptr ? role_->rank : 0; }

  int index_;
  int workers_;
  const RankRole* role_;
  int local_index_;
  const CompiledQuery& query_;
  WorkerPipeline& pipeline_;
  RoundQueue& queue_;
  Exchange& exchange_;
  Emitter& emitter_;
  WorkCounters& counters_;
  std::int64_t fired_wm_;
  std::optional<std::uint64_t> pending_;  ///< a round whose fired rows are not emitted yet
  std::int64_t pending_pushed_ns_ = 0;    ///< its first push (Emitter::deliver)
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
  /// Rows of each of this worker's batches of the round whose event time no window can hold.
  std::vector<std::uint64_t> unrepresentable_;
  std::vector<std::uint64_t> idle_words_;
  std::vector<std::uint64_t> batch_times_;  // the batches' rows of round_times_
  // Across ranks.
  std::vector<char> ended_;  // per rank: its input has ended
  std::vector<int> newly_ended_;
  std::optional<TextHashes> text_hashes_;
  std::vector<std::uint32_t> census_;
  std::vector<std::uint64_t> saved_;
  std::uint64_t saves_ = 0;
  bool saves_now_ = false;    // the current round saves the state (agree_round)
  bool peers_ended_ = false;  // across ranks: some rank's input has ended
  /// Fills saved_ (RoundPart::save_state).
  void save_state();
  std::size_t memory_limit_ = 0;
  std::vector<std::uint8_t> remote_;  ///< per member: on another rank
  std::vector<std::uint64_t> fired_rows_;
  std::vector<PartDescriptor> fired_parts_;
  std::vector<ReceivedPart> received_fired_;
  std::vector<std::int64_t> gathered_window_;
  std::vector<std::uint64_t> gathered_keys_;
  std::vector<std::uint8_t> gathered_update_;
  std::vector<std::uint64_t> gathered_states_;
  bool finished_ = false;
  // For messages.
  const char* stage_ = "start";
  std::uint64_t round_ = 0;
  std::optional<std::uint64_t> batch_;
  std::int64_t state_groups_ = 0;  ///< this worker's share of counters_.state_groups
  std::int64_t state_bytes_ = 0;
  std::int64_t state_slots_ = 0;
  std::uint64_t first_batch_ = 0;  ///< of the current round (0: none)
  std::uint64_t last_batch_ = 0;
  std::uint64_t batches_ = 0;
};

}  // namespace sluice::detail
