// EventClock: a worker's copy of the job's watermark, derived from the event times of every
// batch in stream order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "host/engine/micro_batch.hpp"
#include "host/engine/watermark_tracker.hpp"
#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {

/// @brief What a batch tells the watermark, as rows of kTimeRowWords words, so that workers
/// (and ranks) can trade them: [batch word, kTimeRange, smallest, largest event time] once per
/// batch, and [batch word, source word, its largest event time, 0] per source with events in
/// the batch. Ranks also trade, per round, [rank, kRoundFacts, its batches in the round,
/// kRankEnded | kRankSaves flags] and [rank, kIdleSource, source word, 0] per idle source.
inline constexpr std::size_t kTimeRowWords = 4;
inline constexpr std::uint64_t kTimeRange = ~std::uint64_t{0};
inline constexpr std::uint64_t kRoundFacts = ~std::uint64_t{1};
inline constexpr std::uint64_t kIdleSource = ~std::uint64_t{2};
/// @brief Flags of a kRoundFacts row's last word: the rank's input has ended; the rank asks for
/// a checkpoint after the round.
inline constexpr std::uint64_t kRankEnded = 1;
inline constexpr std::uint64_t kRankSaves = 2;
/// @brief A source of rank `rank` as one word: the rank above its 32 bits (so never one of the
/// row kinds above); sources of one rank are the words [rank << 32, (rank << 32) + 2^32).
inline std::uint64_t source_word(int rank, int source) {
  return (static_cast<std::uint64_t>(rank) << 32) | static_cast<std::uint32_t>(source);
}
/// @brief A batch of rank `rank` as one word: ranks in order, then batches in stream order.
inline std::uint64_t batch_word(int rank, std::uint64_t id) {
  return (static_cast<std::uint64_t>(rank) << 40) | id;
}

/// @brief Appends the time rows of `batch` of rank `rank`: slices read in place from
/// `slice_times` (their sources from the batch), copied rows from what Ingest measured as it
/// copied them. Event times outside [panes.time_lo, panes.time_hi] are left out (a slice
/// measured beyond them is measured again from its column `time_column` of type `time_type`).
/// @return the batch's rows with such times (the fold drops them; the engine counts them).
std::uint64_t append_time_rows(const MicroBatch& batch, const SliceTimes& slice_times, int rank,
                               const PaneSpec& panes, int time_column, ColumnType time_type,
                               std::vector<std::uint64_t>& rows);

/// @brief The watermark before each batch and after each round, computed the same way by every
/// worker from the same time rows. A batch's events are late against the watermark before it
/// (after all earlier batches), so that N workers judge lateness as one does. Also bounds the
/// panes of a round's events that are not late. Not thread-safe.
class EventClock {
 public:
  EventClock(const PaneSpec& panes, bool has_time, std::int64_t max_delay);

  /// @brief The watermark before the next batch.
  std::int64_t current() const noexcept { return tracker_.current(); }
  /// @brief Starts a round of `batches` batches (all workers'): its idle sources (ascending)
  /// hold nothing back; the pane bounds start empty (pane 0 when the round has batches and
  /// there is no event time or one global window).
  void begin_round(std::span<const std::uint64_t> idle, std::size_t batches);
  /// @brief Across `ranks` ranks: the watermark stays where it is until every rank has sent
  /// an event time or ended (a rank that has not started holds it back, as a parallel source
  /// that has not emitted a watermark does).
  void expect_ranks(int ranks);
  /// @brief The input of rank `rank` has ended: its sources no longer hold the watermark back.
  void retire_rank(int rank);
  /// @brief Advances over one batch: `rows` are its time rows (any order).
  /// @return the watermark before it.
  std::int64_t advance(std::span<const std::uint64_t> rows);
  /// @brief Advances over every batch whose rows are in `rows` (any order, several batches),
  /// in batch order; `before` receives (batch id, the watermark before it) for each, in that
  /// order (cleared first).
  void advance_all(const std::vector<std::uint64_t>& rows,
                   std::vector<std::pair<std::uint64_t, std::int64_t>>& before);
  /// @brief Ends a round (refreshing once more with its idle sources, which may move the
  /// watermark with no batch at all). @return the watermark to fire at.
  std::int64_t end_round(bool final);
  /// @brief The panes the round's events that are not late can fall in ([0, 0] when none or
  /// without event time).
  /// @brief Writes the watermark tracker and which ranks were heard (a checkpoint, between
  /// rounds); restore() loads it into a clock of the same query and ranks.
  void save(WordWriter& out) const;
  void restore(WordReader& in);
  std::int64_t first_pane() const noexcept { return first_pane_ <= last_pane_ ? first_pane_ : 0; }
  std::int64_t last_pane() const noexcept { return first_pane_ <= last_pane_ ? last_pane_ : 0; }

 private:
  PaneSpec panes_;
  bool has_time_;
  WatermarkTracker tracker_;
  std::vector<std::uint64_t> idle_;
  std::vector<char> heard_;  ///< per rank (expect_ranks): it sent an event time or ended
  int unheard_ = 0;
  void hear(int rank);
  void refresh();
  std::int64_t first_pane_ = INT64_MAX;
  std::int64_t last_pane_ = INT64_MIN;
  std::vector<std::size_t> order_;         // scratch of advance_all
  std::vector<std::uint64_t> batch_rows_;  // scratch of advance_all
};

}  // namespace sluice::detail
