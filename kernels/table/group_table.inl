// GroupTable implemented once over an executor; instantiated by group_table.cpp and .cu.
#pragma once

#include "kernels/table/group_table.hpp"

namespace sluice::detail {

/// Rows per call of the portable passes: their counters take one atomic per chunk.
inline constexpr std::size_t kGroupChunkRows = 64;

struct AddEventChunk {
  GroupTableRef table;
  InputColumns in;
  ProgramSetView programs;
  AggregationSpec spec;
  BatchWindowing windowing;
  std::size_t rows;
  AggregationCounters* counters;
  std::uint32_t* late_rows;
  SLUICE_HD void operator()(std::size_t chunk) const {
    const std::size_t begin = chunk * kGroupChunkRows;
    const std::size_t end = begin + kGroupChunkRows < rows ? begin + kGroupChunkRows : rows;
    unsigned long long kept = 0;
    EventFields e;
    for (std::size_t i = begin; i < end; ++i) {
      if (!event_passes(spec, programs, in, i)) continue;
      evaluate_event(spec, programs, in, i, windowing, e);
      if (e.cut == kUnrepresentableCut) continue;  // dropped, not kept
      ++kept;
      if (e.cut == kLateCut) {
        cuda::atomic_ref<unsigned long long, cuda::thread_scope_device> late(counters->late);
        late_rows[late.fetch_add(1, cuda::memory_order_relaxed)] = static_cast<std::uint32_t>(i);
        continue;
      }
      const std::uint64_t p = table.find_or_claim(e.key_hash, e.keys, e.pane, e.cut);
      atomic_combine_states(
          spec.states, [&](int s) { return table.state(s, p); },
          [&](int s) { return event_state_value(spec.states, e, s); });
    }
    if (kept > 0) {
      cuda::atomic_ref<unsigned long long, cuda::thread_scope_device> total(counters->kept);
      total.fetch_add(kept, cuda::memory_order_relaxed);
    }
  }
};

struct AddPartialRow {
  GroupTableRef table;
  PartialsView in;
  StateSpec spec;
  const unsigned long long* count;
  SLUICE_HD void operator()(std::size_t i) const {
    if (count != nullptr && i >= *count) return;
    if (in.cut[i] == kLateCut) return;
    std::uint64_t key[kMaxKeyWords];
    for (int j = 0; j < in.key_words; ++j) key[j] = in.key(j, i);
    const std::uint64_t p = table.find_or_claim(in.hash[i], key, in.pane[i], in.cut[i]);
    atomic_combine_states(
        spec, [&](int s) { return table.state(s, p); }, [&](int s) { return in.state(s, i); });
  }
};

/// Moves the group of claimed slot i to partial row i and empties the slot.
struct MoveClaimedGroup {
  GroupTableRef table;
  StateSpec spec;
  PartialsView out;
  SLUICE_HD void operator()(std::size_t i) const {
    if (i >= *table.claimed_count) return;
    const std::uint64_t p = table.claimed[i];
    out.hash[i] = table.key_hash[p];
    for (int j = 0; j < table.key_words; ++j)
      out.keys[j * out.stride + i] = table.keys[j * table.capacity() + p];
    out.pane[i] = table.pane[p];
    out.cut[i] = table.cut[p];
    for (int s = 0; s < spec.count; ++s) {
      std::uint64_t* word = table.state(s, p);
      out.states[s * out.stride + i] = *word;
      *word = state_init(spec.ops[s]);
    }
    table.index.slots[p] = kEmptySlot;
  }
};

struct ResetGroupStates {
  GroupTableRef table;
  StateSpec spec;
  SLUICE_HD void operator()(std::size_t p) const {
    for (int s = 0; s < spec.count; ++s) *table.state(s, p) = state_init(spec.ops[s]);
  }
};

template <class Exec>
GroupTable<Exec>::GroupTable(Exec& exec, int key_words, const StateSpec& states)
    : exec_(&exec),
      key_words_(key_words),
      spec_(states),
      slots_(exec),
      key_hash_(exec),
      keys_(exec),
      pane_(exec),
      cut_(exec),
      states_(exec),
      claimed_(exec),
      claimed_count_(exec, 1) {
  exec.fill_bytes(claimed_count_.data(), 0, sizeof(unsigned long long));
}

template <class Exec>
GroupTableRef GroupTable<Exec>::ref() {
  GroupTableRef r;
  r.index = OpenAddressingRef<>{slots_.data(), capacity_ == 0 ? 0 : capacity_ - 1};
  r.key_hash = key_hash_.data();
  r.keys = keys_.data();
  r.pane = pane_.data();
  r.cut = cut_.data();
  r.states = states_.data();
  r.key_words = key_words_;
  r.state_words = spec_.count;
  r.claimed = claimed_.data();
  r.claimed_count = claimed_count_.data();
  return r;
}

template <class Exec>
void GroupTable<Exec>::reserve(std::size_t rows) {
  const std::size_t capacity = table_capacity_for(rows, 0.5);
  if (capacity <= capacity_) return;
  capacity_ = 0;  // until every column has its room (allocation may throw)
  slots_.resize_discard(capacity);
  key_hash_.resize_discard(capacity);
  keys_.resize_discard(capacity * static_cast<std::size_t>(key_words_));
  pane_.resize_discard(capacity);
  cut_.resize_discard(capacity);
  states_.resize_discard(capacity * static_cast<std::size_t>(spec_.count));
  claimed_.resize_discard(capacity / 2);
  exec_->fill_bytes(slots_.data(), 0, capacity * sizeof(std::uint64_t));
  capacity_ = capacity;
  exec_->for_each_index(capacity, ResetGroupStates{ref(), spec_});
}

template <class Exec>
void GroupTable<Exec>::add_events(const InputColumns& in, std::size_t rows, ProgramSetView programs,
                                  const AggregationSpec& spec, std::int64_t wm_before,
                                  AggregationCounters* counters, std::uint32_t* late_rows) {
  if (rows == 0) return;
  const std::size_t chunks = (rows + kGroupChunkRows - 1) / kGroupChunkRows;
  exec_->for_each_index(
      chunks, AddEventChunk{ref(), in, programs, spec, batch_windowing(spec.panes, wm_before), rows,
                            counters, late_rows});
}

template <class Exec>
void GroupTable<Exec>::add_partials(PartialsView partials, const unsigned long long* count) {
  if (partials.size == 0) return;
  exec_->for_each_index(partials.size, AddPartialRow{ref(), partials, spec_, count});
}

template <class Exec>
void GroupTable<Exec>::compact(Partials<Exec>& out, unsigned long long* count) {
  out.resize_discard(row_capacity());
  exec_->for_each_index(row_capacity(), MoveClaimedGroup{ref(), spec_, out.view()});
  exec_->copy_within(count, claimed_count_.data(), sizeof(unsigned long long));
  exec_->fill_bytes(claimed_count_.data(), 0, sizeof(unsigned long long));
}

#define SLUICE_INSTANTIATE_GROUP_TABLE(Exec) template class GroupTable<Exec>;

}  // namespace sluice::detail
