// Brute-force reference of a windowed query: watermarks, windows, late events, emissions.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/aggregate.hpp"
#include "sluice/duration.hpp"
#include "sluice/value.hpp"
#include "sluice/window.hpp"
#include "stream_gen.hpp"

namespace sluice::e2e {

inline constexpr std::int64_t kNoWm = INT64_MIN;  ///< no watermark yet

/// @brief floor(a / b) for b > 0.
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

/// @brief A window specification in milliseconds (the unit of Event::ts).
/// Cumulating windows are numbered by end: window k of period j = floor(k / steps) starts at
/// offset + j * size and ends at offset + (k + 1) * step (`slide` holds the step).
struct Geometry {
  bool global = true;
  bool cumulate = false;
  std::int64_t size = 0, slide = 0, offset = 0;

  static Geometry of(const WindowSpec& w) {
    Geometry g;
    g.global = w.kind == WindowSpec::Kind::global;
    if (g.global) return g;
    const auto ms = [](Duration d) { return static_cast<std::int64_t>(d.count() / 1'000'000); };
    g.cumulate = w.kind == WindowSpec::Kind::cumulate;
    g.size = ms(w.size);
    g.slide = w.kind == WindowSpec::Kind::tumbling ? g.size : ms(w.slide);
    g.offset = ms(w.offset);
    return g;
  }
  std::int64_t steps() const { return size / slide; }
  /// The global window is reported as [INT64_MIN, INT64_MAX).
  std::int64_t start(std::int64_t k) const {
    if (cumulate) return offset + floor_div(k, steps()) * size;
    return global ? INT64_MIN : offset + k * slide;
  }
  std::int64_t end(std::int64_t k) const {
    if (cumulate) return offset + (k + 1) * slide;
    return global ? INT64_MAX : offset + k * slide + size;
  }
  /// Indices of the windows containing t: [first(t), last(t)] (empty when first > last).
  std::int64_t first(std::int64_t t) const {
    if (cumulate) return floor_div(t - offset, slide);  // the window of t's step
    return global ? 0 : floor_div(t - offset - size, slide) + 1;
  }
  std::int64_t last(std::int64_t t) const {
    if (cumulate) return (floor_div(t - offset, size) + 1) * steps() - 1;  // its period's last
    return global ? 0 : floor_div(t - offset, slide);
  }
};

using FilterFn = std::function<bool(const Event&)>;
using KeyFn = std::function<std::vector<Value>(const Event&)>;
/// Returns an int64 Value for integral inputs, a double for floating ones.
using InputFn = std::function<Value(const Event&)>;

struct RefAggregate {
  AggKind kind = AggKind::count;
  InputFn input;  ///< unused for count
};

/// @brief What the reference needs to know about a windowed query (times in ms).
struct RefQuery {
  WindowSpec window = WindowSpec::global();
  bool has_time = true;       ///< event_time("ts", ...) is set
  std::int64_t delay = 0;     ///< max out-of-orderness, ms
  std::int64_t lateness = 0;  ///< allowed lateness, ms
  FilterFn filter;            ///< empty: keep every event
  KeyFn keys;                 ///< empty: no key_by
  std::vector<RefAggregate> aggregates;
  /// Early firings at every round (a TriggerSpec::every whose interval every round outlasts):
  /// after a round's final firings, every window still open (ending after the round's
  /// watermark) with events emits its value so far as an update.
  bool early_every_round = false;
  /// An event-driven trigger (TriggerSpec::count(early_count), or TriggerSpec::on with
  /// early_count 1): after a round's final firings, every window still open whose trigger
  /// count (its events, or those for which `trigger_on` holds) passed a multiple of
  /// early_count during the round emits its value so far as an update. 0: none.
  std::uint64_t early_count = 0;
  FilterFn trigger_on;  ///< empty: every event counts
};

/// @brief One expected window row.
struct RefRow {
  std::int64_t start = 0, end = 0;
  std::vector<Value> keys;
  std::vector<Value> values;
  bool update = false;
};

using WindowKey = std::tuple<std::int64_t, std::int64_t, std::vector<Value>>;

struct RefResult {
  /// Expected ResultSink calls, in order, when rounds hold `round_batches` batches.
  std::vector<std::vector<RefRow>> calls;
  /// The aggregate over every contributing event of each (window start, end, keys).
  std::map<WindowKey, std::vector<Value>> finals;
  std::vector<std::size_t> late;        ///< indices of late events, in push order
  std::vector<std::int64_t> wm_before;  ///< per batch (kNoWm for the first)
  std::uint64_t filtered = 0;
  std::uint64_t batches = 0;
  std::uint64_t rows_emitted = 0;  ///< rows over all calls
  std::uint64_t updates = 0;       ///< of which update == true
};

namespace detail_ref {

struct Slot {
  std::int64_t i = 0;
  double d = 0;
  bool any = false;
  bool integral = false;
  std::int64_t time = 0;   ///< first/last: the event time of the value held
  std::uint64_t word = 0;  ///< ... and the value's word (ties keep the larger)
};

struct Acc {
  std::int64_t count = 0;
  std::uint64_t trigger = 0;  ///< events the query's count or on trigger counts
  std::vector<Slot> slots;
};

struct ValuesHash {
  std::size_t operator()(const std::vector<Value>& v) const {
    std::size_t h = 0x9E3779B97F4A7C15ull;
    for (const Value& x : v) h = (h ^ std::hash<Value>{}(x)) * 0x100000001B3ull;
    return h;
  }
};

inline void add(Acc& acc, const std::vector<RefAggregate>& aggs, const Event& e) {
  if (acc.slots.empty()) acc.slots.resize(aggs.size());
  ++acc.count;
  for (std::size_t a = 0; a < aggs.size(); ++a) {
    if (aggs[a].kind == AggKind::count) continue;
    const Value v = aggs[a].input(e);
    const bool integral = std::holds_alternative<std::int64_t>(v);
    const std::int64_t i = integral ? std::get<std::int64_t>(v) : 0;
    const double d = integral ? static_cast<double>(i) : std::get<double>(v);
    Slot& s = acc.slots[a];
    s.integral = integral;
    switch (aggs[a].kind) {
      case AggKind::sum:
        s.i = static_cast<std::int64_t>(static_cast<std::uint64_t>(s.i) +
                                        static_cast<std::uint64_t>(i));
        s.d += d;
        break;
      case AggKind::avg:
        s.d += d;
        break;
      case AggKind::min:
        s.i = s.any ? std::min(s.i, i) : i;
        s.d = s.any ? std::min(s.d, d) : d;
        break;
      case AggKind::max:
        s.i = s.any ? std::max(s.i, i) : i;
        s.d = s.any ? std::max(s.d, d) : d;
        break;
      case AggKind::first:
      case AggKind::last: {
        const std::uint64_t word =
            integral ? static_cast<std::uint64_t>(i) : std::bit_cast<std::uint64_t>(d);
        const bool later = aggs[a].kind == AggKind::last ? e.ts > s.time : e.ts < s.time;
        if (!s.any || later || (e.ts == s.time && word > s.word)) {
          s.time = e.ts;
          s.word = word;
          s.i = i;
          s.d = d;
        }
        break;
      }
      case AggKind::count:
        break;
    }
    s.any = true;
  }
}

inline std::vector<Value> finish(const Acc& acc, const std::vector<RefAggregate>& aggs) {
  std::vector<Value> out;
  for (std::size_t a = 0; a < aggs.size(); ++a) {
    const Slot& s = acc.slots[a];
    switch (aggs[a].kind) {
      case AggKind::count:
        out.emplace_back(acc.count);
        break;
      case AggKind::avg:
        out.emplace_back(s.d / static_cast<double>(acc.count));
        break;
      default:
        if (s.integral)
          out.emplace_back(s.i);
        else
          out.emplace_back(s.d);
    }
  }
  return out;
}

inline constexpr std::uint32_t kFiltered = 0xffffffffu;

}  // namespace detail_ref

/// @brief Runs `q` over `events` by brute force. Events are cut into batches of `batch_rows`
/// in order; batch b sees wm_before(b) = max time of the earlier batches - delay. An event
/// contributes to each window W containing it with W.end + lateness > wm_before (or no
/// watermark yet); an unfiltered event contributing to none is late. For the expected
/// emissions, batches go out in rounds of `round_batches` (the worker count); after a round
/// the windows ending in (previous watermark, round watermark] fire (update = false), and the
/// already fired windows the round changed are re-emitted (update = true); finish() adds a
/// last round that fires everything.
inline RefResult reference_of_batches(const std::vector<Event>& events, const RefQuery& q,
                                      const std::vector<std::size_t>& batch_sizes,
                                      int round_batches = 1) {
  using detail_ref::Acc;
  using detail_ref::kFiltered;
  RefResult out;
  const Geometry g = Geometry::of(q.window);
  const std::size_t n = events.size();
  const std::size_t num_batches = batch_sizes.size();
  std::vector<std::size_t> batch_first(num_batches + 1, 0);
  for (std::size_t b = 0; b < num_batches; ++b)
    batch_first[b + 1] = batch_first[b] + batch_sizes[b];
  out.batches = num_batches;

  // Watermark before each batch, and after each batch.
  std::vector<std::int64_t> wm_after(num_batches);
  std::int64_t max_time = INT64_MIN;
  for (std::size_t b = 0; b < num_batches; ++b) {
    out.wm_before.push_back(!q.has_time || max_time == INT64_MIN ? kNoWm : max_time - q.delay);
    for (std::size_t i = batch_first[b]; i < batch_first[b + 1]; ++i)
      max_time = std::max(max_time, events[i].ts);
    wm_after[b] = !q.has_time || max_time == INT64_MIN ? kNoWm : max_time - q.delay;
  }

  // Key of every kept event as an id that orders like the key values (kFiltered otherwise).
  std::vector<std::vector<Value>> key_values;
  std::vector<std::uint32_t> key_of(n, kFiltered);
  {
    std::unordered_map<std::vector<Value>, std::uint32_t, detail_ref::ValuesHash> ids;
    for (std::size_t i = 0; i < n; ++i) {
      if (q.filter && !q.filter(events[i])) continue;
      std::vector<Value> key = q.keys ? q.keys(events[i]) : std::vector<Value>{};
      auto [it, fresh] = ids.try_emplace(std::move(key), key_values.size());
      if (fresh) key_values.push_back(it->first);
      key_of[i] = it->second;
    }
    std::vector<std::uint32_t> order(key_values.size());
    for (std::uint32_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return key_values[a] < key_values[b]; });
    std::vector<std::uint32_t> rank(order.size());
    std::vector<std::vector<Value>> sorted(order.size());
    for (std::uint32_t r = 0; r < order.size(); ++r) {
      rank[order[r]] = r;
      sorted[r] = std::move(key_values[order[r]]);
    }
    key_values = std::move(sorted);
    for (std::uint32_t& k : key_of)
      if (k != kFiltered) k = rank[k];
  }

  std::map<std::int64_t, std::unordered_map<std::uint32_t, Acc>> state;  // window -> key -> acc
  struct Pending {
    std::int64_t k;
    std::uint32_t key;
    bool update;
  };
  std::int64_t fired_wm = kNoWm;
  const std::size_t rounds =
      (num_batches + static_cast<std::size_t>(round_batches) - 1) / round_batches;
  for (std::size_t r = 0; r <= rounds; ++r) {  // r == rounds: the final round
    const bool final = r == rounds;
    const std::size_t b_begin = final ? num_batches : r * round_batches;
    const std::size_t b_end = final ? num_batches : std::min(num_batches, b_begin + round_batches);
    std::vector<std::pair<std::int64_t, std::uint32_t>> touched;
    std::map<std::pair<std::int64_t, std::uint32_t>, std::uint64_t> trigger_growth;
    for (std::size_t b = b_begin; b < b_end; ++b) {
      const std::int64_t wm = out.wm_before[b];
      for (std::size_t i = batch_first[b]; i < batch_first[b + 1]; ++i) {
        const Event& e = events[i];
        const std::uint32_t id = key_of[i];
        if (id == kFiltered) {
          ++out.filtered;
          continue;
        }
        const std::int64_t t = q.has_time ? e.ts : 0;
        bool contributed = false;
        for (std::int64_t k = g.first(t); k <= g.last(t); ++k) {
          if (!g.global && wm != kNoWm && !(g.end(k) + q.lateness > wm)) continue;
          Acc& acc = state[k][id];
          detail_ref::add(acc, q.aggregates, e);
          if (q.early_count > 0 && (!q.trigger_on || q.trigger_on(e))) {
            ++acc.trigger;
            ++trigger_growth[{k, id}];
          }
          if (fired_wm != kNoWm && g.end(k) <= fired_wm) touched.emplace_back(k, id);
          contributed = true;
        }
        if (!contributed) out.late.push_back(i);
      }
    }
    const std::int64_t wm = final ? INT64_MAX : (b_end > 0 ? wm_after[b_end - 1] : kNoWm);
    std::vector<Pending> pending;
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (const auto& [k, id] : touched) pending.push_back({k, id, true});
    if (wm != kNoWm) {
      for (auto it = state.begin(); it != state.end(); ++it) {
        const std::int64_t end = g.end(it->first);
        if (end > wm) break;  // ends grow with k
        if (fired_wm != kNoWm && end <= fired_wm) continue;
        for (const auto& [id, acc] : it->second) pending.push_back({it->first, id, false});
      }
    }
    if (q.early_every_round && !final)
      for (const auto& [k, keys] : state)
        if (wm == kNoWm || (g.global ? true : g.end(k) > wm))
          for (const auto& [id, acc] : keys) pending.push_back({k, id, true});
    for (const auto& [window_key, growth] : trigger_growth) {
      const auto& [k, id] = window_key;
      const bool open = final ? false : wm == kNoWm || g.global || g.end(k) > wm;
      const std::uint64_t total = state[k][id].trigger;
      if (open && total / q.early_count != (total - growth) / q.early_count)
        pending.push_back({k, id, true});
    }
    std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
      return a.k != b.k ? a.k < b.k : a.key < b.key;
    });
    std::vector<RefRow> rows;
    rows.reserve(pending.size());
    for (const Pending& p : pending) {
      RefRow row;
      row.start = g.start(p.k);
      row.end = g.end(p.k);
      row.keys = key_values[p.key];
      row.values = detail_ref::finish(state[p.k][p.key], q.aggregates);
      row.update = p.update;
      out.updates += p.update ? 1 : 0;
      rows.push_back(std::move(row));
    }
    out.rows_emitted += rows.size();
    if (!rows.empty()) out.calls.push_back(std::move(rows));
    fired_wm = std::max(fired_wm, wm);
  }
  for (const auto& [k, keys] : state) {
    std::vector<std::uint32_t> ids;
    for (const auto& [id, acc] : keys) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (std::uint32_t id : ids)
      out.finals.emplace_hint(out.finals.end(), WindowKey{g.start(k), g.end(k), key_values[id]},
                              detail_ref::finish(keys.at(id), q.aggregates));
  }
  return out;
}

/// @brief The reference with batches of `batch_rows` rows (the last one shorter).
inline RefResult reference(const std::vector<Event>& events, const RefQuery& q,
                           std::size_t batch_rows, int round_batches = 1) {
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < events.size(); i += batch_rows)
    sizes.push_back(std::min(batch_rows, events.size() - i));
  return reference_of_batches(events, q, sizes, round_batches);
}

}  // namespace sluice::e2e
