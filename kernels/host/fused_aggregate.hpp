// Host fast path of the fused pre-aggregation: each OpenMP thread evaluates blocks of rows with
// the vector interpreter and folds them into its own cache-sized table, which it flushes into
// per-partition group lists. Agrees with GroupTable::add_events (the portable operator): the
// same groups and states once the lists are merged, float sums up to association order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/aggregation_spec.hpp"
#include "kernels/pipeline/batch_view.hpp"
#include "kernels/table/window_state.hpp"

namespace sluice::detail {

struct HostThreadAggregation;
struct HostProgramAnalysis;

/// @brief Per-thread tables and group lists of the host's fused pre-aggregation. Group rows are
/// [key hash, pane, cut, key words..., states...]; the same group may appear in several lists
/// (other threads, or an earlier flush of the same thread).
class HostAggregator {
 public:
  /// @param partitions of the window state the lists feed (a power of two).
  /// @param table_groups groups a thread's table holds at most before it flushes (at least
  ///        kVectorRows: a block of rows must fit).
  /// @param programs in host memory; @param input_types the types of the batch columns.
  /// @param time_column the input column of event time whose range each batch measures (-1:
  ///        none).
  HostAggregator(const AggregationSpec& spec, ProgramSetView programs,
                 const std::vector<ColumnType>& input_types, int partitions,
                 std::size_t table_groups = 8192, int time_column = -1);
  ~HostAggregator();
  HostAggregator(const HostAggregator&) = delete;
  HostAggregator& operator=(const HostAggregator&) = delete;

  /// @brief Folds one batch (host memory) into the lists, on the calling thread's OpenMP team.
  /// @pre With a time column, the batch has at most kMaxSlices slices (Error(internal) if not).
  /// @param late_rows receives the batch rows too late for every window, in row order.
  /// @return rows that passed the filter (late ones included) with a representable event time
  /// (PaneSpec::time_representable; the others are dropped).
  std::size_t add_batch(const BatchView& batch, std::int64_t wm_before,
                        std::vector<std::uint32_t>& late_rows);
  /// @brief The event-time range of each slice of the last add_batch(), over all its rows
  /// (filtered or not), measured in the same pass; all empty without a time column.
  const SliceTimes& slice_times() const noexcept { return slice_times_; }
  /// @brief The lists since the last clear(), for WindowState::merge_rows.
  GroupRowLists lists();
  /// @brief Empties the lists (their memory stays).
  void clear();
  int row_words() const noexcept { return row_words_; }
  /// @brief Whether batches fold row by row straight from the columns (one plain integer key
  /// column, an i64 time column, at most one plain input) rather than through vectors.
  bool row_path() const noexcept;

 private:
  AggregationSpec spec_;
  ProgramSetView programs_;
  int partitions_;
  std::size_t table_groups_;
  int row_words_;
  int time_column_;
  SliceTimes slice_times_;
  ColumnType input_types_[kMaxInputColumns] = {};
  std::unique_ptr<HostProgramAnalysis> analysis_;
  std::vector<std::unique_ptr<HostThreadAggregation>> threads_;
  std::vector<const std::uint64_t*> list_data_;
  std::vector<std::size_t> list_rows_;
  std::vector<std::size_t> list_peak_;  // per partition: the most words any round listed
};

}  // namespace sluice::detail
