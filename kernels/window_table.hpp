// Operator: the keyed window-state table; merge of partials, firing and eviction on the watermark.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/buffer.hpp"
#include "kernels/ops/hash.hpp"
#include "kernels/ops/window_assign.hpp"
#include "kernels/partials.hpp"
#include "kernels/state_spec.hpp"

namespace sluice::detail {

/// @brief A (window, key) pair whose window already fired and must be emitted again.
struct WindowKey {
  std::int64_t window = 0;  ///< window index (PaneSpec::window_start gives its start)
  std::uint32_t key = 0;    ///< key id
};

/// @brief Rows emitted by a fire: window index, key id, whether it re-emits a window already
/// emitted, and the merged states (state s of row i at states[s * stride + i]).
template <class Exec>
struct FiredWindows {
  explicit FiredWindows(Exec& exec) : window(exec), key(exec), update(exec), states(exec) {}
  std::size_t size = 0;
  std::size_t stride = 0;
  Buffer<std::int64_t, Exec> window;
  Buffer<std::uint32_t, Exec> key;
  Buffer<std::uint8_t, Exec> update;
  Buffer<std::uint64_t, Exec> states;
};

struct WindowTableRef;

/// @brief Window state keyed by (key id, pane, cut): open addressing with linear probing over
/// structure-of-arrays slots (tag claimed by CAS: 0 empty, 1 tombstone, else hash | 2; key id,
/// pane, cut; one column per accumulator state). A window's value for a key merges the slots
/// of its panes whose cut admits it. Grows (and drops tombstones) when the load would pass
/// `max_load`.
template <class Exec>
class WindowTable {
 public:
  WindowTable(Exec& exec, const StateSpec& states, const PaneSpec& panes, KeyHasher hasher,
              double max_load = 0.5);

  /// @brief Merges partial rows into the state.
  /// @pre (key id, pane, cut) unique among `rows` (reduce_partials' output); no late rows.
  /// @param key_ids key id of each row (KeyTable::find_or_insert).
  /// @param fired_wm the watermark of the last fire: windows ending at or before it already
  ///        fired, and rows that update them queue those (window, key) pairs for re-emission.
  void merge(PartialsView rows, const std::uint32_t* key_ids, std::int64_t fired_wm);

  /// @brief True when fire(prev_wm, wm) could emit anything.
  bool may_fire(std::int64_t prev_wm, std::int64_t wm) const;

  /// @brief Emits every (window, key) with data whose window ends in (prev_wm, wm], and the
  /// queued re-emissions, into `out`, ordered by (window, key id).
  /// @return out.size.
  std::size_t fire(std::int64_t prev_wm, std::int64_t wm, FiredWindows<Exec>& out);

  /// @brief True when evict(wm) after a fire at prev_wm could remove anything.
  bool may_evict(std::int64_t prev_wm, std::int64_t wm) const;

  /// @brief Removes the slots of panes all of whose windows are past the allowed lateness.
  void evict(std::int64_t wm);

  std::size_t size() const noexcept { return live_; }
  std::size_t capacity() const noexcept { return tags_.size(); }
  const PaneSpec& panes() const noexcept { return panes_; }

 private:
  WindowTableRef ref();
  void rehash(std::size_t capacity);

  Exec* exec_;
  StateSpec spec_;
  PaneSpec panes_;
  KeyHasher hasher_;
  double max_load_;
  std::size_t live_ = 0;
  std::size_t tombstones_ = 0;
  std::size_t stride_ = 0;
  Buffer<std::uint64_t, Exec> tags_;
  Buffer<std::uint32_t, Exec> key_ids_;
  Buffer<std::int64_t, Exec> panes_of_;
  Buffer<std::uint32_t, Exec> cuts_;
  Buffer<std::uint64_t, Exec> states_;
  // Re-emission requests queued by merge, consumed by fire.
  Buffer<WindowKey, Exec> requests_;
  std::size_t num_requests_ = 0;
  // Scratch.
  Buffer<std::uint32_t, Exec> slots_;
  Buffer<std::uint64_t, Exec> counts_;
  Buffer<WindowKey, Exec> contrib_;
  Buffer<std::uint32_t, Exec> contrib_slot_;
  Buffer<std::uint32_t, Exec> order_;
  Buffer<std::uint32_t, Exec> group_;
  Buffer<std::uint32_t, Exec> starts_;
};

}  // namespace sluice::detail
