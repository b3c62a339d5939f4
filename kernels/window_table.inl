// Operator template: WindowTable (merge, fire, evict, growth).
#pragma once

#include <thrust/copy.h>
#include <thrust/count.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/discard_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/reduce.h>
#include <thrust/scan.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <cuda/atomic>

#include "kernels/window_table.hpp"

namespace sluice::detail {

inline constexpr std::uint64_t kEmptySlot = 0;
inline constexpr std::uint64_t kTombstone = 1;
inline constexpr std::uint32_t kNoSlot = 0xffffffffu;

SLUICE_HD inline bool slot_live(std::uint64_t tag) { return tag > kTombstone; }

struct WindowTableRef {
  std::uint64_t* tags;
  std::uint32_t* key_ids;
  std::int64_t* panes;
  std::uint32_t* cuts;
  std::uint64_t* states;
  std::size_t stride;  // of the state columns
  std::size_t mask;    // capacity - 1
  int num_states;
  KeyHasher hasher;

  SLUICE_HD std::uint64_t hash(std::uint32_t key, std::int64_t pane, std::uint32_t cut) const {
    return hasher.mix(key, static_cast<std::uint64_t>(pane), cut);
  }
  SLUICE_HD std::uint32_t find(std::uint32_t key, std::int64_t pane, std::uint32_t cut) const {
    const std::uint64_t h = hash(key, pane, cut);
    const std::uint64_t tag = h | 2u;
    for (std::size_t p = h & mask;; p = (p + 1) & mask) {
      const std::uint64_t t = tags[p];
      if (t == kEmptySlot) return kNoSlot;
      if (t == tag && key_ids[p] == key && panes[p] == pane && cuts[p] == cut)
        return static_cast<std::uint32_t>(p);
    }
  }
  /// Claims an empty or tombstone slot for a new (key, pane, cut).
  /// @pre The entry is absent and unique among concurrent claims; a free slot exists.
  SLUICE_HD std::uint32_t claim(std::uint32_t key, std::int64_t pane, std::uint32_t cut) const {
    const std::uint64_t h = hash(key, pane, cut);
    const std::uint64_t tag = h | 2u;
    for (std::size_t p = h & mask;; p = (p + 1) & mask) {
      cuda::atomic_ref<std::uint64_t, cuda::thread_scope_device> slot(tags[p]);
      std::uint64_t seen = slot.load(cuda::memory_order_relaxed);
      while (!slot_live(seen)) {
        if (slot.compare_exchange_strong(seen, tag, cuda::memory_order_relaxed)) {
          key_ids[p] = key;
          panes[p] = pane;
          cuts[p] = cut;
          return static_cast<std::uint32_t>(p);
        }
      }
    }
  }
};

struct FindSlots {
  WindowTableRef table;
  PartialsView rows;
  const std::uint32_t* key_ids;
  std::uint32_t* slots;
  SLUICE_HD void operator()(std::size_t i) const {
    slots[i] = table.find(key_ids[i], rows.pane[i], rows.cut[i]);
  }
};

struct IsNoSlot {
  SLUICE_HD bool operator()(std::uint32_t s) const { return s == kNoSlot; }
};

struct MergeRows {
  WindowTableRef table;
  StateSpec spec;
  PartialsView rows;
  const std::uint32_t* key_ids;
  const std::uint32_t* slots;
  SLUICE_HD void operator()(std::size_t i) const {
    std::uint32_t s = slots[i];
    if (s == kNoSlot) {
      s = table.claim(key_ids[i], rows.pane[i], rows.cut[i]);
      for (int j = 0; j < spec.count; ++j) table.states[j * table.stride + s] = rows.state(j, i);
      return;
    }
    for (int j = 0; j < spec.count; ++j) {
      std::uint64_t& acc = table.states[j * table.stride + s];
      acc = state_merge(spec.ops[j], acc, rows.state(j, i));
    }
  }
};

/// Windows k of a (pane, cut) entry that already fired at watermark fired_wm.
struct FiredWindowRange {
  PaneSpec panes;
  std::int64_t fired_wm;
  SLUICE_HD void operator()(std::int64_t pane, std::uint32_t cut, std::int64_t& lo,
                            std::int64_t& hi) const {
    lo = panes.first_window(pane) + cut;
    hi = panes.last_window(pane);
    while (hi >= lo && panes.window_end(hi) > fired_wm) --hi;
  }
};

struct CountRequests {
  PartialsView rows;
  FiredWindowRange range;
  std::uint64_t* counts;
  SLUICE_HD void operator()(std::size_t i) const {
    std::int64_t lo, hi;
    range(rows.pane[i], rows.cut[i], lo, hi);
    counts[i] = hi >= lo ? static_cast<std::uint64_t>(hi - lo + 1) : 0;
  }
};

struct WriteRequests {
  PartialsView rows;
  FiredWindowRange range;
  const std::uint32_t* key_ids;
  const std::uint64_t* offsets;
  WindowKey* out;
  SLUICE_HD void operator()(std::size_t i) const {
    std::int64_t lo, hi;
    range(rows.pane[i], rows.cut[i], lo, hi);
    std::uint64_t at = offsets[i];
    for (std::int64_t k = lo; k <= hi; ++k) out[at++] = WindowKey{k, key_ids[i]};
  }
};

struct WindowKeyLess {
  SLUICE_HD bool operator()(const WindowKey& a, const WindowKey& b) const {
    return a.window != b.window ? a.window < b.window : a.key < b.key;
  }
};
struct WindowKeyEqual {
  SLUICE_HD bool operator()(const WindowKey& a, const WindowKey& b) const {
    return a.window == b.window && a.key == b.key;
  }
};

struct MarkRequestHeads {
  const WindowKey* requests;
  std::uint32_t* head;
  SLUICE_HD void operator()(std::size_t i) const {
    head[i] = (i == 0 || !WindowKeyEqual{}(requests[i - 1], requests[i])) ? 1u : 0u;
  }
};

/// Visits the windows a live slot contributes to at this fire: those ending in (prev, wm], and
/// those already fired that were queued for re-emission (binary search in the sorted queue).
struct SlotContributions {
  WindowTableRef table;
  PaneSpec panes;
  std::int64_t prev_wm;
  std::int64_t wm;
  const WindowKey* requests;
  std::size_t num_requests;

  SLUICE_HD bool requested(std::int64_t k, std::uint32_t key) const {
    std::size_t lo = 0, hi = num_requests;
    const WindowKey probe{k, key};
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (WindowKeyLess{}(requests[mid], probe))
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < num_requests && requests[lo].window == k && requests[lo].key == key;
  }
  /// Calls visit(k) for each window of slot s that fires; returns how many.
  template <class Visit>
  SLUICE_HD std::uint64_t operator()(std::size_t s, Visit visit) const {
    if (!slot_live(table.tags[s])) return 0;
    const std::int64_t pane = table.panes[s];
    const std::int64_t lo = panes.first_window(pane) + table.cuts[s];
    const std::int64_t hi = panes.last_window(pane);
    std::uint64_t n = 0;
    for (std::int64_t k = lo; k <= hi; ++k) {
      const std::int64_t end = panes.window_end(k);
      const bool fires = prev_wm < end && end <= wm;
      const bool refires =
          !fires && end <= prev_wm && num_requests > 0 && requested(k, table.key_ids[s]);
      if (fires || refires) {
        visit(k);
        ++n;
      }
    }
    return n;
  }
};

struct IgnoreWindow {
  SLUICE_HD void operator()(std::int64_t) const {}
};

struct CountContributions {
  SlotContributions contributions;
  std::uint64_t* counts;
  SLUICE_HD void operator()(std::size_t s) const { counts[s] = contributions(s, IgnoreWindow{}); }
};

struct WriteContribution {
  WindowKey* out;
  std::uint32_t* out_slot;
  std::uint32_t key;
  std::uint32_t slot;
  mutable std::uint64_t at;
  SLUICE_HD void operator()(std::int64_t k) const {
    out[at] = WindowKey{k, key};
    out_slot[at] = slot;
    ++at;
  }
};

struct WriteContributions {
  SlotContributions contributions;
  const std::uint64_t* offsets;
  WindowKey* out;
  std::uint32_t* out_slot;
  SLUICE_HD void operator()(std::size_t s) const {
    if (!slot_live(contributions.table.tags[s])) return;
    contributions(s, WriteContribution{out, out_slot, contributions.table.key_ids[s],
                                       static_cast<std::uint32_t>(s), offsets[s]});
  }
};

struct ContributionLess {
  const WindowKey* c;
  const std::uint32_t* slot;
  SLUICE_HD bool operator()(std::uint32_t a, std::uint32_t b) const {
    if (c[a].window != c[b].window) return c[a].window < c[b].window;
    if (c[a].key != c[b].key) return c[a].key < c[b].key;
    return slot[a] < slot[b];
  }
};

struct MarkContributionHeads {
  const WindowKey* c;
  const std::uint32_t* order;
  std::uint32_t* head;
  SLUICE_HD void operator()(std::size_t i) const {
    head[i] = (i == 0 || !WindowKeyEqual{}(c[order[i - 1]], c[order[i]])) ? 1u : 0u;
  }
};

struct NonZeroFlag {
  SLUICE_HD bool operator()(std::uint32_t x) const { return x != 0; }
};
struct SameGroup {
  SLUICE_HD bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
};

struct WriteFiredRow {
  const WindowKey* c;
  const std::uint32_t* order;
  const std::uint32_t* starts;
  PaneSpec panes;
  std::int64_t prev_wm;
  std::int64_t* window;
  std::uint32_t* key;
  std::uint8_t* update;
  SLUICE_HD void operator()(std::size_t g) const {
    const WindowKey wk = c[order[starts[g]]];
    window[g] = wk.window;
    key[g] = wk.key;
    update[g] = panes.window_end(wk.window) <= prev_wm ? 1 : 0;
  }
};

/// State s of the slot of contribution i (for the reduction through the sorted order).
struct ContributionState {
  const std::uint64_t* column;
  const std::uint32_t* slot;
  SLUICE_HD std::uint64_t operator()(std::uint32_t i) const { return column[slot[i]]; }
};

struct EvictExpired {
  WindowTableRef table;
  PaneSpec panes;
  std::int64_t wm;
  SLUICE_HD void operator()(std::size_t s) const {
    if (slot_live(table.tags[s]) && panes.pane_expired(table.panes[s], wm))
      table.tags[s] = kTombstone;
  }
};

struct IsLiveTag {
  SLUICE_HD bool operator()(std::uint64_t t) const { return slot_live(t); }
};

struct MoveSlot {
  WindowTableRef from;
  WindowTableRef to;
  int num_states;
  SLUICE_HD void operator()(std::size_t s) const {
    if (!slot_live(from.tags[s])) return;
    const std::uint32_t d = to.claim(from.key_ids[s], from.panes[s], from.cuts[s]);
    for (int j = 0; j < num_states; ++j)
      to.states[j * to.stride + d] = from.states[j * from.stride + s];
  }
};

template <class Exec>
WindowTable<Exec>::WindowTable(Exec& exec, const StateSpec& states, const PaneSpec& panes,
                               KeyHasher hasher, double max_load)
    : exec_(&exec),
      spec_(states),
      panes_(panes),
      hasher_(hasher),
      max_load_(max_load),
      tags_(exec),
      key_ids_(exec),
      panes_of_(exec),
      cuts_(exec),
      states_(exec),
      requests_(exec),
      slots_(exec),
      counts_(exec),
      contrib_(exec),
      contrib_slot_(exec),
      order_(exec),
      group_(exec),
      starts_(exec) {
  rehash(1024);
}

template <class Exec>
WindowTableRef WindowTable<Exec>::ref() {
  return WindowTableRef{tags_.data(),     key_ids_.data(), panes_of_.data(),
                        cuts_.data(),     states_.data(),  stride_,
                        tags_.size() - 1, spec_.count,     hasher_};
}

template <class Exec>
void WindowTable<Exec>::rehash(std::size_t capacity) {
  WindowTableRef old = ref();
  const std::size_t old_capacity = tags_.size();
  Buffer<std::uint64_t, Exec> tags(*exec_, capacity);
  Buffer<std::uint32_t, Exec> key_ids(*exec_, capacity);
  Buffer<std::int64_t, Exec> panes(*exec_, capacity);
  Buffer<std::uint32_t, Exec> cuts(*exec_, capacity);
  Buffer<std::uint64_t, Exec> states(*exec_, capacity * static_cast<std::size_t>(spec_.count));
  exec_->fill_bytes(tags.data(), 0, capacity * sizeof(std::uint64_t));
  const WindowTableRef fresh{tags.data(), key_ids.data(), panes.data(), cuts.data(), states.data(),
                             capacity,    capacity - 1,   spec_.count,  hasher_};
  if (old_capacity > 0) exec_->for_each_index(old_capacity, MoveSlot{old, fresh, spec_.count});
  tags_ = std::move(tags);
  key_ids_ = std::move(key_ids);
  panes_of_ = std::move(panes);
  cuts_ = std::move(cuts);
  states_ = std::move(states);
  stride_ = capacity;
  tombstones_ = 0;
}

template <class Exec>
void WindowTable<Exec>::merge(PartialsView rows, const std::uint32_t* key_ids,
                              std::int64_t fired_wm) {
  const std::size_t n = rows.size;
  if (n == 0) return;
  slots_.resize_discard(n);
  exec_->for_each_index(n, FindSlots{ref(), rows, key_ids, slots_.data()});
  const auto missing = static_cast<std::size_t>(
      thrust::count_if(exec_->policy(), slots_.data(), slots_.data() + n, IsNoSlot{}));
  if (missing > 0) {
    const double limit = max_load_ * static_cast<double>(tags_.size());
    if (static_cast<double>(live_ + tombstones_ + missing) > limit) {
      std::size_t capacity = 1024;
      while (static_cast<double>(live_ + missing) > max_load_ * 0.5 * static_cast<double>(capacity))
        capacity *= 2;
      rehash(capacity);
      // Slot positions found before the rehash are stale.
      exec_->for_each_index(n, FindSlots{ref(), rows, key_ids, slots_.data()});
    }
  }
  exec_->for_each_index(n, MergeRows{ref(), spec_, rows, key_ids, slots_.data()});
  live_ += missing;

  if (fired_wm == kNoWatermark || panes_.global) return;
  const FiredWindowRange range{panes_, fired_wm};
  counts_.resize_discard(n + 1);
  exec_->for_each_index(n, CountRequests{rows, range, counts_.data()});
  exec_->fill_bytes(counts_.data() + n, 0, sizeof(std::uint64_t));
  thrust::exclusive_scan(exec_->policy(), counts_.data(), counts_.data() + n + 1, counts_.data());
  const auto added = static_cast<std::size_t>(exec_->read(counts_.data() + n));
  if (added == 0) return;
  requests_.resize_keep(num_requests_ + added);
  exec_->for_each_index(
      n, WriteRequests{rows, range, key_ids, counts_.data(), requests_.data() + num_requests_});
  num_requests_ += added;
}

template <class Exec>
bool WindowTable<Exec>::may_fire(std::int64_t prev_wm, std::int64_t wm) const {
  if (num_requests_ > 0) return true;
  if (live_ == 0 || wm <= prev_wm) return false;
  if (panes_.global) return wm == kFinalWatermark;
  if (prev_wm == kNoWatermark) return true;
  // The first window ending after prev_wm: end(k) > prev_wm <=> k > (prev_wm - offset - size) /
  // slide.
  const std::int64_t k = floor_div(prev_wm - panes_.offset - panes_.size, panes_.slide) + 1;
  return panes_.window_end(k) <= wm;
}

template <class Exec>
std::size_t WindowTable<Exec>::fire(std::int64_t prev_wm, std::int64_t wm,
                                    FiredWindows<Exec>& out) {
  out.size = 0;
  out.stride = 0;
  auto policy = exec_->policy();
  if (num_requests_ > 0) {
    // Sort, then keep the first of each run (thrust::unique reads out of bounds in Thrust 1.17's
    // OpenMP system, so the heads are marked and compacted here).
    const std::size_t n = num_requests_;
    WindowKey* r = requests_.data();
    thrust::sort(policy, r, r + n, WindowKeyLess{});
    group_.resize_discard(n);
    contrib_.resize_discard(n);
    exec_->for_each_index(n, MarkRequestHeads{r, group_.data()});
    num_requests_ = static_cast<std::size_t>(
        thrust::copy_if(policy, r, r + n, group_.data(), contrib_.data(), NonZeroFlag{}) -
        contrib_.data());
    std::swap(requests_, contrib_);
  }
  const std::size_t capacity = tags_.size();
  const SlotContributions contributions{ref(), panes_,           prev_wm,
                                        wm,    requests_.data(), num_requests_};
  counts_.resize_discard(capacity + 1);
  exec_->for_each_index(capacity, CountContributions{contributions, counts_.data()});
  exec_->fill_bytes(counts_.data() + capacity, 0, sizeof(std::uint64_t));
  thrust::exclusive_scan(policy, counts_.data(), counts_.data() + capacity + 1, counts_.data());
  const auto total = static_cast<std::size_t>(exec_->read(counts_.data() + capacity));
  num_requests_ = 0;
  if (total == 0) return 0;

  contrib_.resize_discard(total);
  contrib_slot_.resize_discard(total);
  exec_->for_each_index(capacity, WriteContributions{contributions, counts_.data(), contrib_.data(),
                                                     contrib_slot_.data()});
  order_.resize_discard(total);
  group_.resize_discard(total);
  starts_.resize_discard(total);
  std::uint32_t* order = order_.data();
  thrust::sequence(policy, order, order + total);
  thrust::sort(policy, order, order + total,
               ContributionLess{contrib_.data(), contrib_slot_.data()});
  exec_->for_each_index(total, MarkContributionHeads{contrib_.data(), order, group_.data()});
  const thrust::counting_iterator<std::uint32_t> first(0);
  const auto groups = static_cast<std::size_t>(
      thrust::copy_if(policy, first, first + total, group_.data(), starts_.data(), NonZeroFlag{}) -
      starts_.data());
  thrust::inclusive_scan(policy, group_.data(), group_.data() + total, group_.data());

  out.size = groups;
  out.stride = groups;
  out.window.resize_discard(groups);
  out.key.resize_discard(groups);
  out.update.resize_discard(groups);
  out.states.resize_discard(groups * static_cast<std::size_t>(spec_.count));
  exec_->for_each_index(groups,
                        WriteFiredRow{contrib_.data(), order, starts_.data(), panes_, prev_wm,
                                      out.window.data(), out.key.data(), out.update.data()});
  for (int s = 0; s < spec_.count; ++s) {
    auto values = thrust::make_transform_iterator(
        order, ContributionState{states_.data() + s * stride_, contrib_slot_.data()});
    thrust::reduce_by_key(policy, group_.data(), group_.data() + total, values,
                          thrust::make_discard_iterator(), out.states.data() + s * groups,
                          SameGroup{}, StateMerge{spec_.ops[s]});
  }
  return groups;
}

template <class Exec>
bool WindowTable<Exec>::may_evict(std::int64_t prev_wm, std::int64_t wm) const {
  if (live_ == 0 || wm <= prev_wm) return false;
  if (panes_.global || prev_wm == kNoWatermark || wm == kFinalWatermark) return true;
  // A pane expires once its last window's end + lateness <= wm: some window end must lie in
  // (prev_wm - lateness, wm - lateness].
  const std::int64_t lo = prev_wm - panes_.lateness;
  const std::int64_t k = floor_div(lo - panes_.offset - panes_.size, panes_.slide) + 1;
  return panes_.window_end(k) <= wm - panes_.lateness;
}

template <class Exec>
void WindowTable<Exec>::evict(std::int64_t wm) {
  if (live_ == 0) return;
  exec_->for_each_index(tags_.size(), EvictExpired{ref(), panes_, wm});
  const auto live = static_cast<std::size_t>(
      thrust::count_if(exec_->policy(), tags_.data(), tags_.data() + tags_.size(), IsLiveTag{}));
  tombstones_ += live_ - live;
  live_ = live;
}

}  // namespace sluice::detail
