// EventClock: time rows of batches, and the watermark replayed over them.
#include "host/engine/event_clock.hpp"

#include <algorithm>

#include "kernels/host/time_range.hpp"

namespace sluice::detail {

std::uint64_t append_time_rows(const MicroBatch& batch, const SliceTimes& slice_times, int rank,
                               const PaneSpec& panes, int time_column, ColumnType time_type,
                               std::vector<std::uint64_t>& rows) {
  std::uint64_t unrepresentable = batch.copied_unrepresentable;
  const std::uint64_t id = batch_word(rank, batch.id);
  const std::size_t range_at = rows.size();
  rows.insert(rows.end(), {id, kTimeRange, static_cast<std::uint64_t>(INT64_MAX),
                           static_cast<std::uint64_t>(INT64_MIN)});
  std::int64_t lo = batch.copied_min;
  std::int64_t hi = batch.copied_max;
  const std::size_t sources_at = rows.size();
  const auto add_source = [&](int source, std::int64_t max_time) {
    const std::uint64_t word = source_word(rank, source);
    for (std::size_t r = sources_at; r < rows.size(); r += kTimeRowWords)
      if (rows[r + 1] == word) {
        rows[r + 2] =
            static_cast<std::uint64_t>(std::max(static_cast<std::int64_t>(rows[r + 2]), max_time));
        return;
      }
    rows.insert(rows.end(), {id, word, static_cast<std::uint64_t>(max_time), 0});
  };
  for (int s = 0; s < batch.num_slices; ++s) {
    if (batch.copied[s] || slice_times.min[s] > slice_times.max[s]) continue;
    std::int64_t slice_lo = slice_times.min[s];
    std::int64_t slice_hi = slice_times.max[s];
    if (slice_lo < panes.time_lo || slice_hi > panes.time_hi) {
      // Rare: times the window cannot represent tell the watermark nothing (the fold drops
      // their rows); measure the others again.
      slice_lo = INT64_MAX;
      slice_hi = INT64_MIN;
      unrepresentable += widen_time_range_within(batch.slices[s].columns[time_column], time_type, 0,
                                                 batch.slices[s].rows, panes.time_lo, panes.time_hi,
                                                 slice_lo, slice_hi);
      if (slice_lo > slice_hi) continue;
    }
    lo = std::min(lo, slice_lo);
    hi = std::max(hi, slice_hi);
    add_source(batch.sources[s], slice_hi);
  }
  for (const auto& [source, max_time] : batch.copied_source_max) add_source(source, max_time);
  rows[range_at + 2] = static_cast<std::uint64_t>(lo);
  rows[range_at + 3] = static_cast<std::uint64_t>(hi);
  return unrepresentable;
}

EventClock::EventClock(const PaneSpec& panes, bool has_time, std::int64_t max_delay)
    : panes_(panes), has_time_(has_time), tracker_(max_delay) {
  idle_.reserve(8);
  batch_rows_.reserve(8 * kTimeRowWords);
}

void EventClock::expect_ranks(int ranks) {
  heard_.assign(static_cast<std::size_t>(ranks), 0);
  unheard_ = ranks;
}

void EventClock::hear(int rank) {
  if (rank < 0 || static_cast<std::size_t>(rank) >= heard_.size() ||
      heard_[static_cast<std::size_t>(rank)])
    return;
  heard_[static_cast<std::size_t>(rank)] = 1;
  --unheard_;
}

void EventClock::refresh() {
  if (unheard_ == 0) tracker_.refresh(idle_);
}

void EventClock::retire_rank(int rank) {
  tracker_.retire(source_word(rank, 0), source_word(rank, -1));
  hear(rank);
}

void EventClock::begin_round(std::span<const std::uint64_t> idle, std::size_t batches) {
  idle_.assign(idle.begin(), idle.end());
  // Without event time, or with one global window, every event lies in pane 0.
  const bool one_pane = (!has_time_ || panes_.global) && batches > 0;
  first_pane_ = one_pane ? 0 : INT64_MAX;
  last_pane_ = one_pane ? 0 : INT64_MIN;
}

std::int64_t EventClock::advance(std::span<const std::uint64_t> rows) {
  const std::int64_t before = tracker_.current();
  if (!has_time_) return before;
  for (std::size_t r = 0; r + kTimeRowWords <= rows.size(); r += kTimeRowWords) {
    const auto a = static_cast<std::int64_t>(rows[r + 2]);
    if (rows[r + 1] != kTimeRange) {
      tracker_.observe(rows[r + 1], a);
      hear(static_cast<int>(rows[r + 1] >> 32));
      continue;
    }
    const auto b = static_cast<std::int64_t>(rows[r + 3]);
    if (a > b || panes_.global) continue;  // no event times, or the one pane
    // The panes its events can fall in, but for those too late for every window.
    std::int64_t lo = panes_.pane_of(a);
    const std::int64_t hi = panes_.pane_of(b);
    if (before != kNoWatermark) lo = std::max(lo, panes_.cut_bounds(before).alive);
    if (lo <= hi) {
      first_pane_ = std::min(first_pane_, lo);
      last_pane_ = std::max(last_pane_, hi);
    }
  }
  refresh();
  return before;
}

void EventClock::advance_all(const std::vector<std::uint64_t>& rows,
                             std::vector<std::pair<std::uint64_t, std::int64_t>>& before) {
  before.clear();
  // Rows in batch order (a batch's rows stay together; their order within it does not matter).
  const std::size_t n = rows.size() / kTimeRowWords;
  order_.resize(n);
  for (std::size_t i = 0; i < n; ++i) order_[i] = i;
  std::sort(order_.begin(), order_.end(), [&](std::size_t x, std::size_t y) {
    return rows[x * kTimeRowWords] < rows[y * kTimeRowWords];
  });
  for (std::size_t i = 0; i < n;) {
    const std::uint64_t id = rows[order_[i] * kTimeRowWords];
    batch_rows_.clear();
    for (; i < n && rows[order_[i] * kTimeRowWords] == id; ++i) {
      const std::uint64_t* row = rows.data() + order_[i] * kTimeRowWords;
      batch_rows_.insert(batch_rows_.end(), row, row + kTimeRowWords);
    }
    before.emplace_back(id, advance(batch_rows_));
  }
}

std::int64_t EventClock::end_round(bool final) {
  if (final) return kFinalWatermark;
  if (has_time_) refresh();
  return tracker_.current();
}

void EventClock::save(WordWriter& out) const {
  tracker_.save(out);
  out.put(heard_.size());
  for (char h : heard_) out.put(h != 0 ? 1 : 0);
}

void EventClock::restore(WordReader& in) {
  tracker_.restore(in);
  const std::size_t ranks = in.get_count();
  if (ranks != heard_.size()) in.fail("a clock of " + std::to_string(ranks) + " ranks");
  unheard_ = 0;
  for (char& h : heard_) {
    h = in.get() != 0 ? 1 : 0;
    if (h == 0) ++unheard_;
  }
}

}  // namespace sluice::detail
