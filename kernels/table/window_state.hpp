// WindowState: the keyed window state of one worker. One PaneTable per live (partition, pane)
// holds the (key, cut) entries of that pane; windows fire by reading the tables of their panes
// (no sort, no scan of other panes) and expire by dropping whole tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/exec/buffer.hpp"
#include "kernels/exec/upload_arena.hpp"
#include "kernels/ops/aggregates.hpp"
#include "kernels/ops/hash.hpp"
#include "kernels/ops/window_assign.hpp"
#include "kernels/partials.hpp"
#include "kernels/table/group_table.hpp"
#include "kernels/table/pane_table.hpp"

namespace sluice::detail {

inline constexpr int kMaxStatePartitions = 64;

/// @brief The partition of the key space a key hash belongs to (its top bits), among
/// `partitions` (a power of two).
SLUICE_HD inline int state_partition(std::uint64_t key_hash, int partitions) {
  return partitions <= 1 ? 0 : static_cast<int>(key_hash >> (64 - highest_bit(partitions)));
}

/// @brief Where one merge may put entries: the panes (ascending) whose tables kernels see,
/// `partitions` tables each (pane d, partition q at refs[d * partitions + q]).
struct PaneDirectory {
  const std::int64_t* panes = nullptr;
  const PaneTableRef* refs = nullptr;
  std::uint32_t count = 0;
  int partitions = 1;

  /// @brief Index of `pane` in `panes`, or kNotFound.
  SLUICE_HD std::uint32_t find(std::int64_t pane) const {
    std::uint32_t lo = 0, hi = count;
    while (lo < hi) {
      const std::uint32_t mid = lo + (hi - lo) / 2;
      if (panes[mid] < pane)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < count && panes[lo] == pane ? lo : kNotFound;
  }
};

/// @brief Group rows [key hash, pane, cut, key words..., states...] in host memory, in lists
/// per (producer, partition); a group may repeat within and across lists.
struct GroupRowLists {
  const std::uint64_t* const* data = nullptr;  ///< data[producer * partitions + q]
  const std::size_t* rows = nullptr;           ///< rows of each list
  int producers = 0;
  int partitions = 1;
  std::int64_t first_pane = INT64_MAX;  ///< bounds of the rows' panes
  std::int64_t last_pane = INT64_MIN;
};

/// @brief Layout of the merge status words (executor memory, read by the host once per merge):
/// [kStatusRequests] re-emission requests the groups cause, [kStatusOutside] groups whose pane
/// is not in the directory (a broken invariant), then the new entries per directory table.
inline constexpr std::size_t kStatusRequests = 0;
inline constexpr std::size_t kStatusOutside = 1;
inline constexpr std::size_t kStatusNewEntries = 2;

/// @brief Rows a fire emits, in the executor's memory: window index, key words, whether the
/// row re-emits a window already emitted, and the state words (row i of column c at
/// [c * stride + i]). `count` (executor memory) holds the number of rows.
template <class Exec>
struct FiredRows {
  explicit FiredRows(Exec& exec)
      : window(exec), keys(exec), update(exec), states(exec), count(exec, 1) {}
  std::size_t capacity = 0;  ///< the stride of the columns
  Buffer<std::int64_t, Exec> window;
  Buffer<std::uint64_t, Exec> keys;
  Buffer<std::uint8_t, Exec> update;
  Buffer<std::uint64_t, Exec> states;
  Buffer<unsigned long long, Exec> count;
};

/// @brief A run of fired rows: the rows of one pane table, emitted for window `window`.
struct FireSpan {
  PaneTableRef table;
  std::int64_t window = 0;
  std::uint32_t max_cut = 0;     ///< sliding windows: rows with a larger cut miss the window
  unsigned long long first = 0;  ///< first row of the span among all spans' rows
  std::uint8_t update = 0;       ///< the rows are an early firing (the window is still open)
};

/// @brief What a fire will emit, known on the host before it runs: the rows of its firing
/// windows (exact for tumbling windows, a bound for sliding ones) and a bound on re-emissions.
struct FirePlan {
  std::size_t rows_bound = 0;
  std::size_t windows = 0;  ///< windows that fire with data
};

template <class Exec>
class WindowState {
 public:
  /// @param partitions a power of two <= kMaxStatePartitions: the key space is split so that
  ///        each partition's tables can be written by one thread without atomics.
  /// @param trigger an event-driven early trigger, whose state is one of `states` (sum_i64).
  WindowState(Exec& exec, const StateSpec& states, int key_words, const PaneSpec& panes,
              KeyHasher hasher, int partitions = 1, CountTrigger trigger = {});
  ~WindowState();
  WindowState(const WindowState&) = delete;
  WindowState& operator=(const WindowState&) = delete;

  const EntryLayout& layout() const noexcept { return layout_; }
  const PaneSpec& panes() const noexcept { return panes_; }
  int partitions() const noexcept { return partitions_; }

  // ----- Merge of unique groups, in two steps around one read of the status words. -----

  /// @brief Words of status a lookup() of at most `max_groups` groups with panes in
  /// [first_pane, last_pane] may write.
  std::size_t status_words(std::int64_t first_pane, std::int64_t last_pane,
                           std::size_t max_groups) const;
  /// @brief Looks up every group (unique (key, pane, cut) rows, none late; `*count` of them,
  /// at most `max_groups`, in executor memory) and writes to `status` (status_words() words,
  /// executor memory) the new entries per pane table and the re-emissions they cause. When
  /// the pane range is wider than a directory may be, the groups' distinct panes are read
  /// back first (two extra synchronizations; timestamps spread over more than 65 536 panes).
  /// @param first_pane, last_pane bound the panes of the groups.
  /// @param fired_wm the watermark of the last fire: groups of windows ending at or before it
  ///        re-emit those windows.
  void lookup(PartialsView groups, const unsigned long long* count, std::size_t max_groups,
              std::int64_t first_pane, std::int64_t last_pane, std::int64_t fired_wm,
              unsigned long long* status);
  /// @brief Starts a new generation of uploaded tables (UploadArena): call once per round,
  /// after the round's synchronization.
  void next_generation() { uploads_.next_generation(); }
  /// @brief Creates and grows the tables the status (as read by the host) asks for, inserts
  /// the new entries and combines the others, and queues the re-emissions.
  /// @throws Error(internal) when a group's pane was outside [first_pane, last_pane].
  void insert(PartialsView groups, const unsigned long long* count, std::size_t max_groups,
              const unsigned long long* host_status, std::int64_t fired_wm);

  /// @brief The host executor's merge (kernels/host/host_merge.cpp): the rows of each
  /// partition are merged by one thread of the calling thread's OpenMP team, without atomics,
  /// repeated groups combined. Defined for HostExec only.
  void merge_rows(const GroupRowLists& lists, std::int64_t fired_wm);

  // ----- Firing and expiry. -----

  /// @brief What fire(prev_wm, wm, early) will emit at most.
  FirePlan plan_fire(std::int64_t prev_wm, std::int64_t wm, bool early = false) const;
  /// @brief Writes every (window, key) with data whose window ends in (prev_wm, wm], with
  /// `early` also those of the windows still open after wm (an early firing: update rows that
  /// leave the state as it is), then the queued re-emissions and the early firings the count
  /// trigger asks for, to `out` (grown to plan_fire's bound); out.count receives the rows.
  /// @return the plan it followed (its bound on the rows).
  FirePlan fire(std::int64_t prev_wm, std::int64_t wm, FiredRows<Exec>& out, bool early = false);
  /// @brief Drops the tables of panes all of whose windows are past the allowed lateness.
  void evict(std::int64_t wm);

  /// @brief Sets bit c of `bits` (executor memory, `words` words) for each string code c a live
  /// entry holds in a key word of `code_words` (bit j: key word j is a string code). Call
  /// between rounds (after fire, which empties the queued requests): then the entries are all
  /// the codes the state holds. Codes of 32 * words and beyond are not marked.
  void mark_codes(std::uint32_t code_words, unsigned int* bits, std::size_t words);

  // ----- Checkpoints. -----

  /// @brief Appends the state's entries to `words` (host memory): the entry width and the
  /// number of tables, then per non-empty table its pane, partition, rows and the rows' words.
  /// Call between rounds (after fire, which empties the queued requests); synchronizes.
  void save(std::vector<std::uint64_t>& words);
  /// @brief Loads entries save() wrote from `words` into this state, which must be empty and of
  /// the same entry layout and partitions; synchronizes. @return the words read.
  /// @throws Error(malformed_input) when `words` do not describe such a state.
  std::size_t restore(std::span<const std::uint64_t> words);

  /// @brief Live (key, pane, cut) entries.
  std::size_t size() const noexcept { return entries_; }
  /// @brief Bytes the tables hold (index slots and row chunks, free tables included).
  std::size_t bytes() const noexcept;
  /// @brief Index slots of the tables (free tables included).
  std::size_t slots() const noexcept;

  /// @brief The table of one (partition, pane): index slots, row chunks and their addresses
  /// in executor memory.
  struct Table {
    explicit Table(Exec& exec) : slots(exec), chunk_table(exec) {}
    std::int64_t pane = 0;
    int partition = 0;
    std::uint32_t size = 0;      ///< rows in use
    std::uint64_t capacity = 0;  ///< index slots; 0 until first grown
    Buffer<std::uint64_t, Exec> slots;
    std::vector<Buffer<std::uint64_t, Exec>> chunks;
    std::size_t chunk_rows_total = 0;
    Buffer<std::uint64_t*, Exec> chunk_table;
  };

 private:
  struct PaneEntry {
    std::int64_t pane = 0;
    Table* tables[kMaxStatePartitions] = {};
  };
  /// The table of (partition, pane), created when absent (serial callers).
  Table& table(int partition, std::int64_t pane);
  /// The pane's entry, created when absent (serial callers).
  PaneEntry& pane_entry(std::int64_t pane);
  /// Partition q's table of `entry`, taken from partition q's pool when absent (callers
  /// working on distinct partitions may run concurrently).
  Table& table_of(PaneEntry& entry, int partition);
  /// Makes room in `t` for `more` entries (index and rows).
  void grow(Table& t, std::size_t more);
  PaneTableRef ref(const Table& t) const;
  PaneEntry* find_pane(std::int64_t pane);
  const PaneEntry* find_pane(std::int64_t pane) const;
  Table* acquire_table(std::int64_t pane, int partition);
  void release_table(Table* t);
  void rehash(Table& t, std::uint64_t capacity);
  void upload_directory(const std::vector<std::int64_t>& panes);
  void distinct_panes(PartialsView groups, const unsigned long long* count);
  void fire_tumbling(std::int64_t prev_wm, std::int64_t wm, bool early, FiredRows<Exec>& out,
                     std::size_t& at);
  void fire_sliding(std::int64_t prev_wm, std::int64_t wm, bool early, FiredRows<Exec>& out);
  /// Emits the queued requests that this fire's windows do not cover.
  void fire_requests(std::int64_t prev_wm, std::int64_t wm, bool early, FiredRows<Exec>& out);

  Exec* exec_;
  StateSpec spec_;
  EntryLayout layout_;
  PaneSpec panes_;
  KeyHasher hasher_;
  int partitions_;
  CountTrigger trigger_;
  std::size_t entries_ = 0;
  std::vector<PaneEntry> live_;  // ascending panes
  struct Pool {
    std::vector<std::unique_ptr<Table>> all;
    std::vector<Table*> free;
  };
  std::vector<Pool> pools_;  // per partition
  UploadArena<Exec> uploads_;
  // The directory of the current merge, as built on the host and as kernels see it.
  std::vector<std::int64_t> dir_panes_host_;
  std::vector<PaneTableRef> dir_refs_host_;
  PaneDirectory directory_;
  Buffer<std::uint32_t, Exec> entry_of_;      // per group: row id, or kNotFound (new)
  Buffer<unsigned long long, Exec> cursors_;  // per directory table: new rows claimed
  // Re-emission and trigger requests: window, trigger delta (with a trigger), key words each.
  Buffer<std::uint64_t, Exec> requests_;
  Buffer<unsigned long long, Exec> request_count_;
  std::size_t requests_bound_ = 0;
  std::vector<std::uint64_t> host_requests_;  // requests of merge_rows
  std::vector<std::vector<std::uint64_t>> partition_requests_;
  std::vector<std::uint64_t*> chunk_addresses_;
  // Fire scratch.
  std::vector<FireSpan> fire_spans_;
  std::vector<std::int64_t> live_panes_host_;
  GroupTable<Exec> window_groups_;  // sliding windows and re-emissions: (key, window) groups
  Partials<Exec> window_rows_;
  Buffer<unsigned long long, Exec> window_count_;
};

}  // namespace sluice::detail
