// WindowState implemented once over an executor; instantiated by window_state.cpp and .cu.
#pragma once

#include <algorithm>
#include <string>

#include <thrust/scan.h>

#include "kernels/table/group_table.inl"
#include "kernels/table/window_state.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

/// Directory ranges wider than this are replaced by the groups' distinct panes.
inline constexpr std::int64_t kMaxDirectoryRange = std::int64_t{1} << 16;
inline constexpr double kPaneTableMaxLoad = 0.7;

// ---------------------------------------------------------------------------------------------
// Kernels.

/// The key hash of a row's key words (the documented key hash).
SLUICE_HD inline std::uint64_t row_key_hash(const KeyHasher& hasher, const std::uint64_t* row,
                                            int key_words) {
  return hasher(row, 1, key_words, 0);
}

struct RehashRows {
  PaneTableRef from;
  OpenAddressingRef<> to;
  EntryLayout layout;
  KeyHasher hasher;
  SLUICE_HD void operator()(std::size_t id) const {
    const std::uint64_t* r = from.row(static_cast<std::uint32_t>(id), layout.width());
    const std::uint32_t cut = layout.has_cut ? static_cast<std::uint32_t>(r[layout.cut_word()]) : 0;
    to.claim(entry_hash(row_key_hash(hasher, r, layout.key_words), cut),
             static_cast<std::uint32_t>(id));
  }
};

/// Sets the bit of every string code a row holds in the key words of `code_words` (bit j: key
/// word j is a string code).
struct MarkCodes {
  PaneTableRef table;
  EntryLayout layout;
  std::uint32_t code_words = 0;
  unsigned int* bits = nullptr;
  std::size_t words = 0;
  SLUICE_HD void operator()(std::size_t id) const {
    const std::uint64_t* r = table.row(static_cast<std::uint32_t>(id), layout.width());
    for (int j = 0; j < layout.key_words; ++j) {
      if (((code_words >> j) & 1U) == 0) continue;
      const std::uint64_t code = r[j];
      if ((code >> 5) >= words) continue;  // beyond the census: the caller sized it too small
      cuda::atomic_ref<unsigned int, cuda::thread_scope_device> word(bits[code >> 5]);
      word.fetch_or(1U << (code & 31U), cuda::memory_order_relaxed);
    }
  }
};

/// What a merged group asks of the count trigger: whether its open windows are to fire early,
/// and the delta their requests carry. With tumbling (and global) windows an entry's state is
/// its window's, so the merge decides from the state before and after it, and the request
/// carries 0 (fire); with sliding windows it carries the group's delta, and the fire decides
/// on the window's sum over its panes.
struct TriggerAsk {
  bool open = false;
  std::uint64_t delta = 0;
};

SLUICE_HD inline TriggerAsk trigger_ask(const PaneSpec& panes, const CountTrigger& trigger,
                                        std::uint64_t delta, std::uint64_t before) {
  if (!trigger.active() || delta == 0) return {};
  if (panes.tumbling()) return {trigger.crossed(before + delta, delta), 0};
  return {true, delta};
}

/// Layout of one re-emission or trigger request: the window index, the trigger delta (only
/// where the fire decides: a count trigger on sliding windows), the key words.
struct RequestLayout {
  int key_words = 0;
  bool delta = false;
  SLUICE_HD RequestLayout(int key_words_, const PaneSpec& panes, const CountTrigger& trigger)
      : key_words(key_words_), delta(trigger.active() && !panes.tumbling()) {}
  SLUICE_HD std::size_t key_offset() const { return delta ? 2 : 1; }
  SLUICE_HD std::size_t words() const { return key_offset() + static_cast<std::size_t>(key_words); }
};

/// Calls f(k, d) for each request a merged group of (pane, cut) makes: every window it updates
/// that had fired at fired_wm (a re-emission, d = 0), and, as `ask` says, every window it
/// updates that is still open (an early firing, d = ask.delta).
template <class F>
SLUICE_HD inline void for_each_request(const PaneSpec& panes, std::int64_t pane, std::uint32_t cut,
                                       std::int64_t fired_wm, TriggerAsk ask, F&& f) {
  const std::int64_t first = panes.first_window(pane) + cut;
  const std::int64_t last = panes.last_window(pane);
  std::int64_t last_fired = first - 1;  // windows [first, last_fired] had fired
  if (!panes.global && fired_wm != kNoWatermark) {
    last_fired = panes.first_window_ending_after(fired_wm) - 1;
    if (last_fired > last) last_fired = last;
  }
  for (std::int64_t k = first; k <= last_fired; ++k) f(k, std::uint64_t{0});
  if (!ask.open) return;
  for (std::int64_t k = last_fired + 1 > first ? last_fired + 1 : first; k <= last; ++k)
    f(k, ask.delta);
}

/// Whether window k fires at fire(prev_wm, wm, early): finally (it ends in (prev_wm, wm]) or,
/// with `early`, early (`open`: it is still open after wm).
SLUICE_HD inline bool window_fires(const PaneSpec& panes, std::int64_t k, std::int64_t prev_wm,
                                   std::int64_t wm, bool early, bool& open) {
  open = false;
  if (panes.global) {  // its one window ends with the input
    if (wm == kFinalWatermark) return prev_wm != kFinalWatermark;
    open = early;
    return open;
  }
  const std::int64_t end = panes.window_end(k);
  if (end > prev_wm && end <= wm) return true;
  open = early && end > wm;
  return open;
}

SLUICE_HD inline void atomic_add_count(unsigned long long* p, unsigned long long v) {
  cuda::atomic_ref<unsigned long long, cuda::thread_scope_device> a(*p);
  a.fetch_add(v, cuda::memory_order_relaxed);
}
SLUICE_HD inline unsigned long long atomic_take(unsigned long long* p, unsigned long long v) {
  cuda::atomic_ref<unsigned long long, cuda::thread_scope_device> a(*p);
  return a.fetch_add(v, cuda::memory_order_relaxed);
}

struct LookupGroups {
  PartialsView groups;
  const unsigned long long* count;
  PaneDirectory dir;
  EntryLayout layout;
  PaneSpec panes;
  CountTrigger trigger;
  std::int64_t fired_wm;
  std::uint32_t* entry_of;
  unsigned long long* status;
  SLUICE_HD void operator()(std::size_t i) const {
    if (i >= *count) return;
    const std::uint32_t d = dir.find(groups.pane[i]);
    if (d == kNotFound) {
      atomic_add_count(status + kStatusOutside, 1);
      entry_of[i] = kNotFound;
      return;
    }
    const int q = state_partition(groups.hash[i], dir.partitions);
    const std::size_t t = static_cast<std::size_t>(d) * dir.partitions + q;
    std::uint64_t key[kMaxKeyWords];
    for (int j = 0; j < layout.key_words; ++j) key[j] = groups.key(j, i);
    const std::uint32_t id = dir.refs[t].find(layout, groups.hash[i], key, groups.cut[i]);
    entry_of[i] = id;
    if (id == kNotFound) atomic_add_count(status + kStatusNewEntries + t, 1);
    TriggerAsk ask;
    if (trigger.active()) {
      const std::uint64_t before =
          id == kNotFound ? 0
                          : dir.refs[t].row(id, layout.width())[layout.state_word(trigger.state)];
      ask = trigger_ask(panes, trigger, groups.state(trigger.state, i), before);
    }
    unsigned long long requests = 0;
    for_each_request(panes, groups.pane[i], groups.cut[i], fired_wm, ask,
                     [&](std::int64_t, std::uint64_t) { ++requests; });
    if (requests > 0) atomic_add_count(status + kStatusRequests, requests);
  }
};

struct InsertGroups {
  PartialsView groups;
  const unsigned long long* count;
  PaneDirectory dir;
  EntryLayout layout;
  StateSpec spec;
  PaneSpec panes;
  CountTrigger trigger;
  std::int64_t fired_wm;
  const std::uint32_t* entry_of;
  unsigned long long* cursors;
  std::uint64_t* requests;  // RequestLayout(layout.key_words, panes, trigger) each
  unsigned long long* request_count;
  SLUICE_HD void operator()(std::size_t i) const {
    if (i >= *count) return;
    const std::uint32_t d = dir.find(groups.pane[i]);
    if (d == kNotFound) return;
    const int q = state_partition(groups.hash[i], dir.partitions);
    const std::size_t t = static_cast<std::size_t>(d) * dir.partitions + q;
    const PaneTableRef& ref = dir.refs[t];
    const int width = layout.width();
    std::uint32_t id = entry_of[i];
    std::uint64_t before = 0;  // the trigger's state before this group
    if (id == kNotFound) {
      id = ref.size + static_cast<std::uint32_t>(atomic_take(cursors + t, 1));
      std::uint64_t* r = ref.row(id, width);
      for (int j = 0; j < layout.key_words; ++j) r[j] = groups.key(j, i);
      if (layout.has_cut) r[layout.cut_word()] = groups.cut[i];
      for (int s = 0; s < spec.count; ++s) r[layout.state_word(s)] = groups.state(s, i);
      ref.index.claim(entry_hash(groups.hash[i], groups.cut[i]), id);
    } else {
      std::uint64_t* r = ref.row(id, width);
      if (trigger.active()) before = r[layout.state_word(trigger.state)];
      combine_states(
          spec, [&](int s) -> std::uint64_t& { return r[layout.state_word(s)]; },
          [&](int s) { return groups.state(s, i); });
    }
    const TriggerAsk ask = trigger.active()
                               ? trigger_ask(panes, trigger, groups.state(trigger.state, i), before)
                               : TriggerAsk{};
    const RequestLayout rl(layout.key_words, panes, trigger);
    for_each_request(panes, groups.pane[i], groups.cut[i], fired_wm, ask,
                     [&](std::int64_t k, std::uint64_t delta) {
                       std::uint64_t* q_row = requests + atomic_take(request_count, 1) * rl.words();
                       q_row[0] = static_cast<std::uint64_t>(k);
                       if (rl.delta) q_row[1] = delta;
                       for (int j = 0; j < layout.key_words; ++j)
                         q_row[rl.key_offset() + j] = groups.key(j, i);
                     });
  }
};

SLUICE_HD inline std::uint32_t find_span(const FireSpan* spans, std::uint32_t n,
                                         unsigned long long row) {
  std::uint32_t lo = 0, hi = n;  // the last span whose first <= row
  while (hi - lo > 1) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if (spans[mid].first <= row)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

struct EmitTumblingRows {
  const FireSpan* spans;
  std::uint32_t num_spans;
  EntryLayout layout;
  std::size_t base;  // first output row
  std::int64_t* window;
  std::uint64_t* keys;
  std::uint8_t* update;
  std::uint64_t* states;
  std::size_t stride;
  /// @brief Writes output row `i`, which lies in `span`.
  SLUICE_HD void emit(const FireSpan& span, std::size_t i) const {
    const std::uint64_t* r =
        span.table.row(static_cast<std::uint32_t>(i - span.first), layout.width());
    const std::size_t o = base + i;
    window[o] = span.window;
    update[o] = span.update;
    for (int j = 0; j < layout.key_words; ++j) keys[j * stride + o] = r[j];
    for (int s = 0; s < layout.state_words; ++s) states[s * stride + o] = r[layout.state_word(s)];
  }
  SLUICE_HD void operator()(std::size_t i) const { emit(spans[find_span(spans, num_spans, i)], i); }
};

/// @brief Writes the `total` rows of a tumbling fire, each row searching its span. The host
/// executor's form (kernels/host/host_fire.cpp) walks the spans block by block instead.
template <class Exec>
void emit_tumbling(Exec& exec, const EmitTumblingRows& rows, unsigned long long total) {
  exec.for_each_index(total, rows);
}
class HostExec;
template <>
void emit_tumbling(HostExec& exec, const EmitTumblingRows& rows, unsigned long long total);

/// Sliding windows: every row of a span contributes to its window's (key) group.
struct ContributeRows {
  const FireSpan* spans;
  std::uint32_t num_spans;
  EntryLayout layout;
  StateSpec spec;
  KeyHasher hasher;
  GroupTableRef groups;
  SLUICE_HD void operator()(std::size_t i) const {
    const FireSpan& span = spans[find_span(spans, num_spans, i)];
    const std::uint64_t* r =
        span.table.row(static_cast<std::uint32_t>(i - span.first), layout.width());
    if (layout.has_cut && r[layout.cut_word()] > span.max_cut) return;
    const std::uint64_t p =
        groups.find_or_claim(row_key_hash(hasher, r, layout.key_words), r, span.window, 0);
    atomic_combine_states(
        spec, [&](int s) { return groups.state(s, p); },
        [&](int s) { return r[layout.state_word(s)]; });
  }
};

/// Requests as partial rows (window in the pane field), for deduplication; a trigger's state
/// receives the sum of the requests' deltas (the window's growth over the round).
struct RequestsAsGroups {
  const std::uint64_t* requests;
  const unsigned long long* count;
  RequestLayout rl;
  KeyHasher hasher;
  CountTrigger trigger;
  GroupTableRef groups;
  SLUICE_HD void operator()(std::size_t i) const {
    if (i >= *count) return;
    const int key_words = rl.key_words;
    const std::uint64_t* q = requests + i * rl.words();
    const std::uint64_t* key = q + rl.key_offset();
    const std::uint64_t p =
        groups.find_or_claim(hasher(key, 1, key_words, 0), key, static_cast<std::int64_t>(q[0]), 0);
    if (rl.delta && q[1] != 0)
      atomic_state_combine(StateOp::sum_i64, groups.state(trigger.state, p), q[1]);
  }
};

/// Appends rows of `src` (window in the pane field) at out[base + i].
struct AppendWindowRows {
  PartialsView src;
  const unsigned long long* count;
  const unsigned long long* base;
  std::int64_t open_after;  ///< windows past this index are still open: early rows (updates)
  std::int64_t* window;
  std::uint64_t* keys;
  std::uint8_t* update;
  std::uint64_t* states;
  std::size_t stride;
  SLUICE_HD void operator()(std::size_t i) const {
    if (i >= *count) return;
    const std::size_t o = *base + i;
    window[o] = src.pane[i];
    update[o] = src.pane[i] > open_after ? 1 : 0;
    for (int j = 0; j < src.key_words; ++j) keys[j * stride + o] = src.key(j, i);
    for (int s = 0; s < src.state_words; ++s) states[s * stride + o] = src.state(s, i);
  }
};

/// The value of requested (window, key) rows, from the live tables of the window's panes,
/// appended at out[*out_count] on. A request for a window that this fire emits anyway is
/// dropped, and so is an early-firing candidate whose trigger state passed no multiple.
struct ComputeRequests {
  PartialsView src;  // unique requests: window in the pane field
  const unsigned long long* count;
  unsigned long long* out_count;
  PaneDirectory live;
  EntryLayout layout;
  StateSpec spec;
  PaneSpec panes;
  CountTrigger trigger;
  std::int64_t prev_wm, wm;
  bool early;
  std::int64_t* window;
  std::uint64_t* keys;
  std::uint8_t* update;
  std::uint64_t* states;
  std::size_t stride;
  SLUICE_HD void operator()(std::size_t i) const {
    if (i >= *count) return;
    const std::int64_t k = src.pane[i];
    bool open = false;
    if (window_fires(panes, k, prev_wm, wm, early, open)) return;
    std::uint64_t key[kMaxKeyWords];
    for (int j = 0; j < layout.key_words; ++j) key[j] = src.key(j, i);
    std::uint64_t acc[kMaxStates];
    for (int s = 0; s < spec.count; ++s) acc[s] = state_init(spec.ops[s]);
    const int q = state_partition(src.hash[i], live.partitions);
    const std::int64_t first_pane = panes.first_pane_of(k);
    const std::int64_t last_pane = panes.last_pane_of(k);
    for (std::int64_t p = first_pane; p <= last_pane; ++p) {
      const std::uint32_t d = live.find(p);
      if (d == kNotFound) continue;
      const PaneTableRef& ref = live.refs[static_cast<std::size_t>(d) * live.partitions + q];
      const std::int64_t position = k - panes.first_window(p);
      const std::uint32_t cuts = layout.has_cut ? static_cast<std::uint32_t>(position) + 1 : 1;
      for (std::uint32_t c = 0; c < cuts; ++c) {
        const std::uint32_t id = ref.find(layout, src.hash[i], key, c);
        if (id == kNotFound) continue;
        const std::uint64_t* r = ref.row(id, layout.width());
        combine_states(
            spec, [&](int s) -> std::uint64_t& { return acc[s]; },
            [&](int s) { return r[layout.state_word(s)]; });
      }
    }
    if (trigger.active()) {
      // The window's state holds at least the round's growth (its panes are live), else the
      // request is dropped rather than compared across a wrapped subtraction.
      const std::uint64_t delta = src.state(trigger.state, i);
      if (delta != 0 && (acc[trigger.state] < delta || !trigger.crossed(acc[trigger.state], delta)))
        return;
    }
    const auto o = static_cast<std::size_t>(atomic_take(out_count, 1));
    window[o] = k;
    update[o] = 1;
    for (int j = 0; j < layout.key_words; ++j) keys[j * stride + o] = key[j];
    for (int s = 0; s < spec.count; ++s) states[s * stride + o] = acc[s];
  }
};

struct AddToCount {
  unsigned long long* total;
  const unsigned long long* more;
  SLUICE_HD void operator()(std::size_t) const { *total += *more; }
};

struct SetCount {
  unsigned long long* total;
  unsigned long long value;
  SLUICE_HD void operator()(std::size_t) const { *total = value; }
};

// ---------------------------------------------------------------------------------------------
// Host side.

template <class Exec>
WindowState<Exec>::WindowState(Exec& exec, const StateSpec& states, int key_words,
                               const PaneSpec& panes, KeyHasher hasher, int partitions,
                               CountTrigger trigger)
    : exec_(&exec),
      spec_(states),
      panes_(panes),
      hasher_(hasher),
      partitions_(partitions),
      trigger_(trigger),
      pools_(static_cast<std::size_t>(partitions > 0 ? partitions : 1)),
      uploads_(exec),
      entry_of_(exec),
      cursors_(exec),
      requests_(exec),
      request_count_(exec, 1),
      partition_requests_(static_cast<std::size_t>(partitions > 0 ? partitions : 1)),
      window_groups_(exec, key_words, states),
      window_rows_(exec, key_words, states.count),
      window_count_(exec, 1) {
  layout_.key_words = key_words;
  layout_.has_cut = !panes.tumbling();
  layout_.state_words = states.count;
  if (partitions < 1 || partitions > kMaxStatePartitions || (partitions & (partitions - 1)) != 0)
    throw Error(ErrorCode::internal,
                "window state partitions must be a power of two up to 64, got " +
                    std::to_string(partitions));
  if (trigger.active() && (trigger.state >= states.count ||
                           states.ops[trigger.state] != StateOp::sum_i64 || trigger.every == 0))
    throw Error(ErrorCode::internal, "a count trigger needs an integer sum state and a count");
  exec_->fill_bytes(request_count_.data(), 0, sizeof(unsigned long long));
}

template <class Exec>
WindowState<Exec>::~WindowState() = default;

template <class Exec>
typename WindowState<Exec>::PaneEntry* WindowState<Exec>::find_pane(std::int64_t pane) {
  auto it = std::lower_bound(live_.begin(), live_.end(), pane,
                             [](const PaneEntry& e, std::int64_t p) { return e.pane < p; });
  return it != live_.end() && it->pane == pane ? &*it : nullptr;
}

template <class Exec>
const typename WindowState<Exec>::PaneEntry* WindowState<Exec>::find_pane(std::int64_t pane) const {
  return const_cast<WindowState*>(this)->find_pane(pane);
}

template <class Exec>
typename WindowState<Exec>::Table* WindowState<Exec>::acquire_table(std::int64_t pane,
                                                                    int partition) {
  Pool& pool = pools_[static_cast<std::size_t>(partition)];
  Table* t = nullptr;
  if (!pool.free.empty()) {
    t = pool.free.back();
    pool.free.pop_back();
  } else {
    pool.all.push_back(std::make_unique<Table>(*exec_));
    t = pool.all.back().get();
  }
  t->pane = pane;
  t->partition = partition;
  t->size = 0;
  if (t->capacity > 0) exec_->fill_bytes(t->slots.data(), 0, t->capacity * sizeof(std::uint64_t));
  return t;
}

template <class Exec>
void WindowState<Exec>::release_table(Table* t) {
  entries_ -= t->size;
  t->size = 0;
  pools_[static_cast<std::size_t>(t->partition)].free.push_back(t);
}

template <class Exec>
typename WindowState<Exec>::PaneEntry& WindowState<Exec>::pane_entry(std::int64_t pane) {
  auto it = std::lower_bound(live_.begin(), live_.end(), pane,
                             [](const PaneEntry& x, std::int64_t p) { return x.pane < p; });
  if (it != live_.end() && it->pane == pane) return *it;
  PaneEntry fresh;
  fresh.pane = pane;
  return *live_.insert(it, fresh);
}

template <class Exec>
typename WindowState<Exec>::Table& WindowState<Exec>::table_of(PaneEntry& entry, int partition) {
  Table*& slot = entry.tables[partition];
  if (slot == nullptr) slot = acquire_table(entry.pane, partition);
  return *slot;
}

template <class Exec>
typename WindowState<Exec>::Table& WindowState<Exec>::table(int partition, std::int64_t pane) {
  return table_of(pane_entry(pane), partition);
}

template <class Exec>
PaneTableRef WindowState<Exec>::ref(const Table& t) const {
  PaneTableRef r;
  r.index = OpenAddressingRef<>{const_cast<std::uint64_t*>(t.slots.data()),
                                t.capacity == 0 ? 0 : t.capacity - 1};
  if (t.capacity == 0) r.index.slots = nullptr;
  r.chunks = t.chunk_table.data();
  r.size = t.size;
  r.pane = t.pane;
  return r;
}

template <class Exec>
void WindowState<Exec>::rehash(Table& t, std::uint64_t capacity) {
  Buffer<std::uint64_t, Exec> fresh(*exec_, capacity);
  exec_->fill_bytes(fresh.data(), 0, capacity * sizeof(std::uint64_t));
  if (t.size > 0) {
    const OpenAddressingRef<> to{fresh.data(), capacity - 1};
    exec_->for_each_index(t.size, RehashRows{ref(t), to, layout_, hasher_});
  }
  t.slots = std::move(fresh);
  t.capacity = capacity;
}

template <class Exec>
void WindowState<Exec>::grow(Table& t, std::size_t more) {
  const std::uint64_t needed = static_cast<std::uint64_t>(t.size) + more;
  if (needed > kMaxSlotPayload)
    throw Error(ErrorCode::out_of_memory,
                "a pane table cannot hold " + std::to_string(needed) + " entries");
  // Rows first: the rehash below reads them through the chunk table.
  if (t.chunk_rows_total < needed) {
    const std::uint32_t old_chunks = static_cast<std::uint32_t>(t.chunks.size());
    const std::uint32_t chunks = chunks_for(needed);
    const auto width = static_cast<std::size_t>(layout_.width());
    t.chunk_table.resize_keep(chunks);
    for (std::uint32_t c = old_chunks; c < chunks; ++c) {
      t.chunks.emplace_back(*exec_, static_cast<std::size_t>(chunk_rows(c)) * width);
      t.chunk_rows_total += chunk_rows(c);
    }
    if constexpr (Exec::kIsDevice) {
      // Device memory: the addresses go through the upload arena (no synchronization).
      std::vector<std::uint64_t*>& addresses = chunk_addresses_;
      addresses.clear();
      for (std::uint32_t c = old_chunks; c < chunks; ++c) addresses.push_back(t.chunks[c].data());
      std::uint64_t** staged = uploads_.upload(addresses.data(), addresses.size());
      exec_->copy_within(t.chunk_table.data() + old_chunks, staged,
                         addresses.size() * sizeof(std::uint64_t*));
    } else {
      // Host memory: written in place, so threads growing tables of other partitions can.
      for (std::uint32_t c = old_chunks; c < chunks; ++c)
        t.chunk_table.data()[c] = t.chunks[c].data();
    }
  }
  if (static_cast<double>(needed) > kPaneTableMaxLoad * static_cast<double>(t.capacity))
    rehash(t, table_capacity_for(needed, kPaneTableMaxLoad));
}

template <class Exec>
std::size_t WindowState<Exec>::status_words(std::int64_t first_pane, std::int64_t last_pane,
                                            std::size_t max_groups) const {
  const std::int64_t range = last_pane - first_pane + 1;
  std::size_t panes =
      range > 0 && range <= kMaxDirectoryRange ? static_cast<std::size_t>(range) : max_groups;
  if (panes == 0) panes = 1;
  return kStatusNewEntries + panes * static_cast<std::size_t>(partitions_);
}

template <class Exec>
void WindowState<Exec>::distinct_panes(PartialsView groups, const unsigned long long* count) {
  const auto n = static_cast<std::size_t>(exec_->read(count));
  dir_panes_host_.resize(n);
  exec_->copy_to_host(dir_panes_host_.data(), groups.pane, n * sizeof(std::int64_t));
  std::sort(dir_panes_host_.begin(), dir_panes_host_.end());
  dir_panes_host_.erase(std::unique(dir_panes_host_.begin(), dir_panes_host_.end()),
                        dir_panes_host_.end());
}

template <class Exec>
void WindowState<Exec>::upload_directory(const std::vector<std::int64_t>& panes) {
  dir_refs_host_.assign(panes.size() * static_cast<std::size_t>(partitions_), PaneTableRef{});
  for (std::size_t d = 0; d < panes.size(); ++d) {
    const PaneEntry* e = find_pane(panes[d]);
    for (int q = 0; q < partitions_; ++q) {
      PaneTableRef& r = dir_refs_host_[d * partitions_ + q];
      r.pane = panes[d];
      if (e != nullptr && e->tables[q] != nullptr) r = ref(*e->tables[q]);
    }
  }
  directory_.panes = uploads_.upload(panes.data(), panes.size());
  directory_.refs = uploads_.upload(dir_refs_host_.data(), dir_refs_host_.size());
  directory_.count = static_cast<std::uint32_t>(panes.size());
  directory_.partitions = partitions_;
}

template <class Exec>
void WindowState<Exec>::lookup(PartialsView groups, const unsigned long long* count,
                               std::size_t max_groups, std::int64_t first_pane,
                               std::int64_t last_pane, std::int64_t fired_wm,
                               unsigned long long* status) {
  dir_panes_host_.clear();
  const std::int64_t range = last_pane - first_pane + 1;
  if (range > 0 && range <= kMaxDirectoryRange) {
    for (std::int64_t p = first_pane; p <= last_pane; ++p) dir_panes_host_.push_back(p);
  } else if (max_groups > 0) {
    distinct_panes(groups, count);
  }
  const std::size_t words =
      kStatusNewEntries + dir_panes_host_.size() * static_cast<std::size_t>(partitions_);
  exec_->fill_bytes(status, 0, words * sizeof(unsigned long long));
  upload_directory(dir_panes_host_);
  if (max_groups == 0) return;
  entry_of_.resize_discard(max_groups);
  exec_->for_each_index(max_groups, LookupGroups{groups, count, directory_, layout_, panes_,
                                                 trigger_, fired_wm, entry_of_.data(), status});
}

template <class Exec>
void WindowState<Exec>::insert(PartialsView groups, const unsigned long long* count,
                               std::size_t max_groups, const unsigned long long* host_status,
                               std::int64_t fired_wm) {
  if (host_status[kStatusOutside] != 0)
    throw Error(ErrorCode::internal, std::to_string(host_status[kStatusOutside]) +
                                         " groups fell outside the pane range of their merge");
  const std::size_t tables = dir_panes_host_.size() * static_cast<std::size_t>(partitions_);
  std::size_t added = 0;
  for (std::size_t t = 0; t < tables; ++t) {
    const unsigned long long n = host_status[kStatusNewEntries + t];
    if (n == 0) continue;
    Table& table_t = table(static_cast<int>(t % partitions_), dir_panes_host_[t / partitions_]);
    grow(table_t, n);
    added += n;
  }
  const unsigned long long requests = host_status[kStatusRequests];
  if (requests > 0) {
    const std::size_t words = RequestLayout(layout_.key_words, panes_, trigger_).words();
    requests_.resize_keep((requests_bound_ + requests) * words);
    requests_bound_ += requests;
  }
  (void)added;
  if (max_groups > 0) {
    upload_directory(dir_panes_host_);  // the grown tables, sizes before this insert
    cursors_.resize_discard(tables);
    exec_->fill_bytes(cursors_.data(), 0, tables * sizeof(unsigned long long));
    exec_->for_each_index(
        max_groups,
        InsertGroups{groups, count, directory_, layout_, spec_, panes_, trigger_, fired_wm,
                     entry_of_.data(), cursors_.data(), requests_.data(), request_count_.data()});
  }
  for (std::size_t t = 0; t < tables; ++t) {
    const unsigned long long n = host_status[kStatusNewEntries + t];
    if (n == 0) continue;
    table(static_cast<int>(t % partitions_), dir_panes_host_[t / partitions_]).size +=
        static_cast<std::uint32_t>(n);
    entries_ += n;
  }
}

template <class Exec>
FirePlan WindowState<Exec>::plan_fire(std::int64_t prev_wm, std::int64_t wm, bool early) const {
  FirePlan plan;
  plan.rows_bound =
      requests_bound_ +
      host_requests_.size() / RequestLayout(layout_.key_words, panes_, trigger_).words();
  if (wm <= prev_wm && !early && plan.rows_bound == 0) return plan;
  for (const PaneEntry& e : live_) {
    const std::int64_t lo = panes_.global ? 0 : panes_.first_window(e.pane);
    const std::int64_t hi = panes_.global ? 0 : panes_.last_window(e.pane);
    std::size_t n = 0;
    bool open = false;
    for (std::int64_t k = lo; k <= hi; ++k)
      if (window_fires(panes_, k, prev_wm, wm, early, open)) ++n;
    if (n == 0) continue;
    std::size_t rows = 0;
    for (int q = 0; q < partitions_; ++q)
      if (e.tables[q] != nullptr) rows += e.tables[q]->size;
    plan.rows_bound += rows * n;
    plan.windows += n;
  }
  return plan;
}

template <class Exec>
FirePlan WindowState<Exec>::fire(std::int64_t prev_wm, std::int64_t wm, FiredRows<Exec>& out,
                                 bool early) {
  const FirePlan plan = plan_fire(prev_wm, wm, early);
  const std::size_t bound = plan.rows_bound;
  if (bound > out.capacity) {
    out.capacity = 0;
    const std::size_t capacity = bound + bound / 2 + 64;
    out.window.resize_discard(capacity);
    out.keys.resize_discard(capacity * static_cast<std::size_t>(layout_.key_words));
    out.update.resize_discard(capacity);
    out.states.resize_discard(capacity * static_cast<std::size_t>(layout_.state_words));
    out.capacity = capacity;
  }
  std::size_t at = 0;
  if (panes_.tumbling()) {
    if (plan.windows > 0) fire_tumbling(prev_wm, wm, early, out, at);
    exec_->for_each_index(1, SetCount{out.count.data(), at});
  } else {
    exec_->for_each_index(1, SetCount{out.count.data(), 0});
    if (plan.windows > 0) fire_sliding(prev_wm, wm, early, out);
  }
  fire_requests(prev_wm, wm, early, out);
  return plan;
}

template <class Exec>
void WindowState<Exec>::fire_tumbling(std::int64_t prev_wm, std::int64_t wm, bool early,
                                      FiredRows<Exec>& out, std::size_t& at) {
  fire_spans_.clear();
  unsigned long long total = 0;
  for (const PaneEntry& e : live_) {
    const std::int64_t k = panes_.global ? 0 : panes_.last_window(e.pane);
    bool open = false;
    if (!window_fires(panes_, k, prev_wm, wm, early, open)) continue;
    for (int q = 0; q < partitions_; ++q) {
      const Table* t = e.tables[q];
      if (t == nullptr || t->size == 0) continue;
      FireSpan span;
      span.table = ref(*t);
      span.window = k;
      span.first = total;
      span.update = open ? 1 : 0;
      fire_spans_.push_back(span);
      total += t->size;
    }
  }
  if (total == 0) return;
  const FireSpan* spans = uploads_.upload(fire_spans_.data(), fire_spans_.size());
  const EmitTumblingRows rows{spans,
                              static_cast<std::uint32_t>(fire_spans_.size()),
                              layout_,
                              at,
                              out.window.data(),
                              out.keys.data(),
                              out.update.data(),
                              out.states.data(),
                              out.capacity};
  emit_tumbling(*exec_, rows, total);
  at += total;
}

template <class Exec>
void WindowState<Exec>::fire_sliding(std::int64_t prev_wm, std::int64_t wm, bool early,
                                     FiredRows<Exec>& out) {
  fire_spans_.clear();
  unsigned long long total = 0;
  // Windows past this index end after wm: with `early`, the open ones.
  std::int64_t open_after = INT64_MAX;
  for (const PaneEntry& e : live_) {
    const std::int64_t lo = panes_.first_window(e.pane);
    const std::int64_t hi = panes_.last_window(e.pane);
    for (std::int64_t k = lo; k <= hi; ++k) {
      bool open = false;
      if (!window_fires(panes_, k, prev_wm, wm, early, open)) continue;
      if (open) open_after = std::min(open_after, k - 1);
      for (int q = 0; q < partitions_; ++q) {
        const Table* t = e.tables[q];
        if (t == nullptr || t->size == 0) continue;
        FireSpan span;
        span.table = ref(*t);
        span.window = k;
        span.max_cut = static_cast<std::uint32_t>(k - lo);
        span.first = total;
        fire_spans_.push_back(span);
        total += t->size;
      }
    }
  }
  if (total == 0) return;
  window_groups_.reserve(total);
  const FireSpan* spans = uploads_.upload(fire_spans_.data(), fire_spans_.size());
  exec_->for_each_index(total, ContributeRows{spans, static_cast<std::uint32_t>(fire_spans_.size()),
                                              layout_, spec_, hasher_, window_groups_.ref()});
  window_groups_.compact(window_rows_, window_count_.data());
  exec_->for_each_index(
      window_groups_.row_capacity(),
      AppendWindowRows{window_rows_.view(), window_count_.data(), out.count.data(), open_after,
                       out.window.data(), out.keys.data(), out.update.data(), out.states.data(),
                       out.capacity});
  exec_->for_each_index(1, AddToCount{out.count.data(), window_count_.data()});
}

template <class Exec>
void WindowState<Exec>::fire_requests(std::int64_t prev_wm, std::int64_t wm, bool early,
                                      FiredRows<Exec>& out) {
  const std::size_t words = RequestLayout(layout_.key_words, panes_, trigger_).words();
  if (!host_requests_.empty()) {
    const std::size_t n = host_requests_.size() / words;
    requests_.resize_keep((requests_bound_ + n) * words);
    // Host requests come from an executor whose memory is the host's.
    exec_->copy_from_host(requests_.data() + requests_bound_ * words, host_requests_.data(),
                          host_requests_.size() * sizeof(std::uint64_t));
    requests_bound_ += n;
    exec_->for_each_index(1, SetCount{request_count_.data(), requests_bound_});
    host_requests_.clear();
  }
  if (requests_bound_ == 0) return;
  window_groups_.reserve(requests_bound_);
  exec_->for_each_index(
      requests_bound_, RequestsAsGroups{requests_.data(), request_count_.data(),
                                        RequestLayout(layout_.key_words, panes_, trigger_), hasher_,
                                        trigger_, window_groups_.ref()});
  window_groups_.compact(window_rows_, window_count_.data());
  live_panes_host_.clear();
  for (const PaneEntry& e : live_) live_panes_host_.push_back(e.pane);
  upload_directory(live_panes_host_);
  exec_->for_each_index(
      window_groups_.row_capacity(),
      ComputeRequests{window_rows_.view(), window_count_.data(), out.count.data(), directory_,
                      layout_, spec_, panes_, trigger_, prev_wm, wm, early, out.window.data(),
                      out.keys.data(), out.update.data(), out.states.data(), out.capacity});
  exec_->fill_bytes(request_count_.data(), 0, sizeof(unsigned long long));
  requests_bound_ = 0;
}

template <class Exec>
void WindowState<Exec>::evict(std::int64_t wm) {
  std::size_t expired = 0;
  while (expired < live_.size() && panes_.pane_expired(live_[expired].pane, wm)) {
    for (Table* t : live_[expired].tables)
      if (t != nullptr) release_table(t);
    ++expired;
  }
  live_.erase(live_.begin(), live_.begin() + static_cast<std::ptrdiff_t>(expired));
}

template <class Exec>
void WindowState<Exec>::mark_codes(std::uint32_t code_words, unsigned int* bits,
                                   std::size_t words) {
  if (code_words == 0) return;
  for (const PaneEntry& entry : live_)
    for (int q = 0; q < partitions_; ++q) {
      const Table* t = entry.tables[q];
      if (t == nullptr || t->size == 0) continue;
      exec_->for_each_index(t->size, MarkCodes{ref(*t), layout_, code_words, bits, words});
    }
}

template <class Exec>
void WindowState<Exec>::save(std::vector<std::uint64_t>& words) {
  const auto width = static_cast<std::size_t>(layout_.width());
  const std::size_t header = words.size();
  words.push_back(width);
  words.push_back(0);  // tables, counted below
  std::uint64_t tables = 0;
  for (const PaneEntry& entry : live_)
    for (int q = 0; q < partitions_; ++q) {
      const Table* t = entry.tables[q];
      if (t == nullptr || t->size == 0) continue;
      ++tables;
      words.push_back(static_cast<std::uint64_t>(t->pane));
      words.push_back(static_cast<std::uint64_t>(q));
      words.push_back(t->size);
      std::size_t at = words.size();
      words.resize(at + static_cast<std::size_t>(t->size) * width);
      // Row ids are dense from 0, chunk after chunk.
      std::uint32_t left = t->size;
      for (std::uint32_t c = 0; left > 0; ++c) {
        const std::uint32_t n = std::min(left, chunk_rows(c));
        exec_->copy_to_host(words.data() + at, t->chunks[c].data(),
                            static_cast<std::size_t>(n) * width * sizeof(std::uint64_t));
        at += static_cast<std::size_t>(n) * width;
        left -= n;
      }
    }
  words[header + 1] = tables;
  exec_->synchronize();  // the copies land in `words`
}

template <class Exec>
std::size_t WindowState<Exec>::restore(std::span<const std::uint64_t> words) {
  const auto width = static_cast<std::size_t>(layout_.width());
  const auto bad = [](const std::string& what) {
    return Error(ErrorCode::malformed_input, "window state of a checkpoint: " + what);
  };
  if (entries_ != 0 || !live_.empty()) throw bad("restored into a state that is not empty");
  if (words.size() < 2) throw bad("truncated");
  if (words[0] != width)
    throw bad("entries of " + std::to_string(words[0]) + " words, the query's have " +
              std::to_string(width));
  // Appends `n` rows to `t` after its rows (the index is rebuilt once all are in).
  const auto append = [&](Table& t, const std::uint64_t* rows, std::size_t n) {
    grow(t, n);
    std::uint32_t id = t.size;
    while (n > 0) {
      std::uint32_t c = 0, offset = 0;
      locate_row(id, c, offset);
      const std::size_t k = std::min<std::size_t>(n, chunk_rows(c) - offset);
      exec_->copy_from_host(t.chunks[c].data() + static_cast<std::size_t>(offset) * width, rows,
                            k * width * sizeof(std::uint64_t));
      rows += k * width;
      n -= k;
      id += static_cast<std::uint32_t>(k);
      entries_ += k;
    }
    t.size = id;
  };
  // The partitions of the saving state may differ (OpenMP threads): rows go to the partition
  // of their key hash here.
  std::vector<std::vector<std::uint64_t>> by_partition(static_cast<std::size_t>(partitions_));
  const std::uint64_t tables = words[1];
  std::size_t at = 2;
  for (std::uint64_t i = 0; i < tables; ++i) {
    if (words.size() - at < 3) throw bad("truncated");
    const auto pane = static_cast<std::int64_t>(words[at]);
    const std::uint64_t rows = words[at + 2];
    at += 3;
    if (rows == 0 || rows > kMaxSlotPayload || (words.size() - at) / width < rows)
      throw bad("a table of " + std::to_string(rows) + " rows");
    const std::uint64_t* first = words.data() + at;
    at += static_cast<std::size_t>(rows) * width;
    if (partitions_ == 1) {
      append(table(0, pane), first, static_cast<std::size_t>(rows));
      continue;
    }
    for (auto& part : by_partition) part.clear();
    for (std::uint64_t r = 0; r < rows; ++r) {
      const std::uint64_t* row = first + r * width;
      const int q = state_partition(row_key_hash(hasher_, row, layout_.key_words), partitions_);
      auto& part = by_partition[static_cast<std::size_t>(q)];
      part.insert(part.end(), row, row + width);
    }
    for (int q = 0; q < partitions_; ++q) {
      const auto& part = by_partition[static_cast<std::size_t>(q)];
      if (!part.empty()) append(table(q, pane), part.data(), part.size() / width);
      exec_->synchronize();  // the copies read `part`, reused for the next table
    }
  }
  for (PaneEntry& entry : live_)
    for (Table* t : entry.tables)
      if (t != nullptr) rehash(*t, t->capacity);  // indexes the rows just copied
  exec_->synchronize();                           // the copies read `words`
  uploads_.next_generation();
  return at;
}

template <class Exec>
std::size_t WindowState<Exec>::bytes() const noexcept {
  std::size_t total = 0;
  for (const Pool& pool : pools_)
    for (const auto& t : pool.all) {
      total += t->capacity * sizeof(std::uint64_t);
      total +=
          t->chunk_rows_total * static_cast<std::size_t>(layout_.width()) * sizeof(std::uint64_t);
    }
  return total;
}

template <class Exec>
std::size_t WindowState<Exec>::slots() const noexcept {
  std::size_t total = 0;
  for (const Pool& pool : pools_)
    for (const auto& t : pool.all) total += t->capacity;
  return total;
}

#define SLUICE_INSTANTIATE_WINDOW_STATE(Exec) template class WindowState<Exec>;

}  // namespace sluice::detail
