// GroupTable: the portable pre-aggregation table. Events (or partial rows) fold into one
// open-addressing table of (key, pane, cut) groups with atomic state combines, and the table
// is then compacted into partial rows. Both executors run it; the CUDA fast path puts
// per-block shared-memory tables in front of it (kernels/cuda/).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/aggregation_spec.hpp"
#include "kernels/exec/buffer.hpp"
#include "kernels/partials.hpp"
#include "kernels/table/open_addressing.hpp"

namespace sluice::detail {

/// @brief What a probe-limited find_or_claim returns when it found no room.
inline constexpr std::uint64_t kNoGroupSlot = kNoSlot;

/// @brief Counters an aggregation pass keeps in the executor's memory (read by the host only
/// at the batch's one synchronization).
struct AggregationCounters {
  unsigned long long kept = 0;  ///< rows that passed the filter
  unsigned long long late = 0;  ///< of which too late for every window
};

/// @brief View of a group table: slot words and, per slot, the group's fields and states
/// (structure of arrays, `capacity` apart). Trivially copyable.
struct GroupTableRef {
  OpenAddressingRef<> index;
  std::uint64_t* key_hash = nullptr;
  std::uint64_t* keys = nullptr;  ///< key word j of slot p at keys[j * capacity + p]
  std::int64_t* pane = nullptr;
  std::uint32_t* cut = nullptr;
  std::uint64_t* states = nullptr;  ///< state s of slot p at states[s * capacity + p]
  int key_words = 0;
  int state_words = 0;
  /// Where claimed slots are listed (claimed[i] for i < *claimed_count), so that compaction
  /// touches only them; null for a table nobody compacts that way (a block's shared table), or
  /// in a copy whose caller lists its claims itself (a warp at a time, on the GPU).
  std::uint32_t* claimed = nullptr;
  unsigned long long* claimed_count = nullptr;

  SLUICE_HD std::uint64_t capacity() const { return index.capacity(); }

  /// @brief The slot of the group (key words, pane, cut), claiming and filling a free one for
  /// it when absent (OpenAddressingRef::find_or_publish: threads racing for one group agree on
  /// one slot).
  /// @pre A free slot exists (the table has twice as many slots as rows).
  SLUICE_HD std::uint64_t find_or_claim(std::uint64_t key_hash_value, const std::uint64_t* key,
                                        std::int64_t group_pane, std::uint32_t group_cut) const {
    return find_or_claim_within(key_hash_value, key, group_pane, group_cut, capacity());
  }

  /// @brief find_or_claim probing at most `max_probes` slots; kNoGroupSlot when none of them
  /// holds the group or is free. `Scope` is that of the threads sharing the table (a block's
  /// table in shared memory: thread_scope_block).
  /// `fresh`, when given, tells whether this call claimed the slot.
  template <cuda::thread_scope Scope = cuda::thread_scope_device>
  SLUICE_HD std::uint64_t find_or_claim_within(std::uint64_t key_hash_value,
                                               const std::uint64_t* key, std::int64_t group_pane,
                                               std::uint32_t group_cut, std::uint64_t max_probes,
                                               bool* fresh = nullptr) const {
    bool claimed_here = false;
    const std::uint64_t p = find_or_claim_unlisted<Scope>(key_hash_value, key, group_pane,
                                                          group_cut, max_probes, claimed_here);
    if (fresh != nullptr) *fresh = claimed_here;
    if (claimed_here && claimed != nullptr) {
      cuda::atomic_ref<unsigned long long, Scope> n(*claimed_count);
      claimed[n.fetch_add(1, cuda::memory_order_relaxed)] = static_cast<std::uint32_t>(p);
    }
    return p;
  }

  /// @brief find_or_claim_within that leaves a claim unlisted: the caller lists the slots for
  /// which `fresh` comes back true (e.g. a warp's claims with one reservation).
  template <cuda::thread_scope Scope = cuda::thread_scope_device>
  SLUICE_HD std::uint64_t find_or_claim_unlisted(std::uint64_t key_hash_value,
                                                 const std::uint64_t* key, std::int64_t group_pane,
                                                 std::uint32_t group_cut, std::uint64_t max_probes,
                                                 bool& fresh) const {
    const std::uint64_t h = group_hash(key_hash_value, group_pane, group_cut);
    const OpenAddressingRef<Scope> slots{index.slots, index.mask};
    fresh = false;
    return slots.find_or_publish(
        h,
        [&](std::uint64_t q) { return same_group(q, key_hash_value, key, group_pane, group_cut); },
        [&](std::uint64_t q) {
          key_hash[q] = key_hash_value;
          for (int j = 0; j < key_words; ++j) keys[j * capacity() + q] = key[j];
          pane[q] = group_pane;
          cut[q] = group_cut;
        },
        max_probes, &fresh);
  }

  SLUICE_HD bool same_group(std::uint64_t p, std::uint64_t h, const std::uint64_t* key,
                            std::int64_t group_pane, std::uint32_t group_cut) const {
    if (key_hash[p] != h || pane[p] != group_pane || cut[p] != group_cut) return false;
    for (int j = 0; j < key_words; ++j)
      if (keys[j * capacity() + p] != key[j]) return false;
    return true;
  }

  SLUICE_HD std::uint64_t* state(int s, std::uint64_t p) const {
    return states + static_cast<std::uint64_t>(s) * capacity() + p;
  }
};

/// @brief Owner of a group table in an executor's memory. Between uses every slot is empty and
/// every state holds its identity, so a pass touches only the slots its rows use; compact()
/// restores that.
template <class Exec>
class GroupTable {
 public:
  GroupTable(Exec& exec, int key_words, const StateSpec& states);

  /// @brief Makes room for `rows` rows (events or partials) between compactions.
  void reserve(std::size_t rows);
  std::size_t row_capacity() const noexcept { return capacity_ / 2; }

  /// @brief Folds the events of one batch (`rows` rows of `in`) into the table: rows that pass
  /// the filter count as kept; late ones are counted and their row indices appended to
  /// late_rows (at most `rows` of room) at position counters->late.
  /// @pre rows + the rows folded since the last compact() <= row_capacity().
  void add_events(const InputColumns& in, std::size_t rows, ProgramSetView programs,
                  const AggregationSpec& spec, std::int64_t wm_before,
                  AggregationCounters* counters, std::uint32_t* late_rows);

  /// @brief Folds partial rows (late rows excluded) into the table; their count is `*count`
  /// when `count` is given (in the executor's memory), `partials.size` otherwise.
  void add_partials(PartialsView partials, const unsigned long long* count);

  /// @brief Writes one partial row per group to `out` (resized to row_capacity(), the groups
  /// first, in the order they were claimed) and the number of groups to *count (executor
  /// memory); empties the table. Touches only the claimed slots.
  void compact(Partials<Exec>& out, unsigned long long* count);

  GroupTableRef ref();

 private:
  Exec* exec_;
  int key_words_;
  StateSpec spec_;
  std::size_t capacity_ = 0;
  Buffer<std::uint64_t, Exec> slots_;
  Buffer<std::uint64_t, Exec> key_hash_;
  Buffer<std::uint64_t, Exec> keys_;
  Buffer<std::int64_t, Exec> pane_;
  Buffer<std::uint32_t, Exec> cut_;
  Buffer<std::uint64_t, Exec> states_;
  Buffer<std::uint32_t, Exec> claimed_;             // slots claimed since the last compact()
  Buffer<unsigned long long, Exec> claimed_count_;  // [0]: how many
};

}  // namespace sluice::detail
