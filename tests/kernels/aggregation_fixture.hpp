// Shared fixture of the aggregation tests: a typed event table, queries compiled over it, and
// the brute-force reference of per-batch pre-aggregation ((key, pane, cut) groups).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "host/query_compiler.hpp"
#include "kernel_test_util.hpp"
#include "kernels/pipeline/batch_view.hpp"
#include "sluice/sluice.hpp"

namespace sluice::test {

/// ts:timestamp[ms], k:i64, s:string, v:f64, w:i32.
inline Schema agg_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"k", TypeId::i64},
                 {"s", TypeId::string},
                 {"v", TypeId::f64},
                 {"w", TypeId::i32}});
}

/// Columns of the agg_schema() events.
struct AggEvents {
  std::vector<std::int64_t> ts;
  std::vector<std::int64_t> k;
  std::vector<std::uint32_t> s;  ///< codes: "s0", "s1", ... interned in order
  std::vector<double> v;
  std::vector<std::int32_t> w;
  std::size_t size() const { return ts.size(); }
};

/// One case of the aggregation tests: `rows` events over `keys` keys drawn from `dist`,
/// grouped by `key_columns` columns, with or without the filter; `small_rows` is the size the
/// GPU tests use in their small mode (SLUICE_GPU_TEST_SIZES=small).
struct FoldCase {
  std::size_t rows;
  std::size_t keys;
  KeyDist dist;
  int key_columns;
  bool filter;
  std::size_t small_rows = 0;
};

inline std::ostream& operator<<(std::ostream& os, const FoldCase& c) {
  return os << c.rows << " rows, " << c.keys << " keys, " << to_string(c.dist) << ", "
            << c.key_columns << " key columns, filter " << c.filter;
}

/// Random events: times advancing one per row from `t0` with up to `disorder` backwards,
/// `keys` distinct k (and s = k % 17 as a code) drawn from `dist`, values with NaNs now and then.
inline AggEvents random_events(std::size_t n, std::size_t keys, KeyDist dist, std::int64_t t0,
                               std::int64_t disorder, std::mt19937_64& rng) {
  AggEvents e;
  KeyDrawer draw(dist, keys);
  for (std::size_t i = 0; i < n; ++i) {
    e.ts.push_back(t0 + static_cast<std::int64_t>(i) -
                   (disorder > 0
                        ? static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(disorder))
                        : 0));
    const auto key = static_cast<std::int64_t>(draw(rng));
    e.k.push_back(key * 7919 - 500);
    e.s.push_back(static_cast<std::uint32_t>(key % 17));
    e.v.push_back(rng() % 997 == 0
                      ? std::nan("")
                      : static_cast<double>(static_cast<int>(rng() % 2001) - 1000) / 4);
    e.w.push_back(static_cast<std::int32_t>(rng() % 2001) - 1000);
  }
  return e;
}

/// Which aggregates a test query computes (they decide which fold path the host takes).
enum class AggShape {
  all,              ///< count, sum(v), min(w), max(v), avg(v), sum(w): two inputs
  one_float_input,  ///< count, sum(v), min(v), max(v), avg(v)
  one_int_input,    ///< count, sum(w), min(w), max(w)
};

/// A windowed query over agg_schema(), compiled.
struct AggQuery {
  detail::CompiledQuery compiled;
  std::shared_ptr<StringDictionary> dictionary;
  bool filter = false;
  int key_columns = 1;  ///< 0: none, 1: k, 2: (k, s), 3: s
  AggShape shape = AggShape::all;
  const detail::AggregationSpec& spec() const { return compiled.plan.aggregation; }
  const detail::PaneSpec& panes() const { return spec().panes; }
};

/// keys: 0 (none), 1 (k), 2 (k, s) or 3 (s); aggregates as `shape` says.
inline AggQuery make_agg_query(WindowSpec window, int keys, bool filter,
                               std::chrono::milliseconds lateness = std::chrono::milliseconds(0),
                               KeyHasher hasher = KeyHasher{}, AggShape shape = AggShape::all) {
  AggQuery q;
  q.filter = filter;
  q.key_columns = keys;
  q.shape = shape;
  q.dictionary = std::make_shared<StringDictionary>();
  for (int i = 0; i < 17; ++i) q.dictionary->intern("s" + std::to_string(i));
  Query query;
  if (filter) query.filter(col("v") > lit(0));
  std::vector<std::string> names;
  if (keys == 1 || keys == 2) names.push_back("k");
  if (keys >= 2) names.push_back("s");
  if (!names.empty()) query.key_by(names);
  std::vector<AggregateSpec> aggregates;
  switch (shape) {
    case AggShape::all:
      aggregates = {count(),       sum(col("v")), min(col("w")),
                    max(col("v")), avg(col("v")), sum(col("w"))};
      break;
    case AggShape::one_float_input:
      aggregates = {count(), sum(col("v")), min(col("v")), max(col("v")), avg(col("v"))};
      break;
    case AggShape::one_int_input:
      aggregates = {count(), sum(col("w")), min(col("w")), max(col("w"))};
      break;
  }
  query.event_time("ts").allowed_lateness(lateness).window(window).aggregate(aggregates);
  query.sink([](const Batch&) {});
  q.compiled = detail::compile_query(agg_schema(), query, *q.dictionary, 1, PartitionSpec{});
  q.compiled.plan.aggregation.hasher = hasher;
  return q;
}

/// The read columns of rows [first, first + n) of `e`, as one slice (plan order).
inline detail::ColumnSlice slice_of(const AggEvents& e, const AggQuery& q, std::size_t first,
                                    std::size_t n) {
  detail::ColumnSlice s;
  s.rows = n;
  const void* all[] = {e.ts.data() + first, e.k.data() + first, e.s.data() + first,
                       e.v.data() + first, e.w.data() + first};
  for (std::size_t r = 0; r < q.compiled.read_columns.size(); ++r)
    s.columns[r] = all[q.compiled.read_columns[r]];
  return s;
}

inline detail::InputColumns inputs_of(const detail::ColumnSlice& s, const AggQuery& q) {
  detail::InputColumns in;
  in.count = static_cast<int>(q.compiled.plan.input_types.size());
  for (int c = 0; c < in.count; ++c) {
    in.data[c] = s.columns[c];
    in.type[c] = q.compiled.plan.input_types[static_cast<std::size_t>(c)];
  }
  return in;
}

using GroupKey = std::tuple<Key, std::int64_t, std::uint32_t>;  // key words, pane, cut

/// The states of one group, in the plan's state order (the catalogue's layout).
using RefStates = std::vector<std::uint64_t>;

/// What the reference computes of one batch: its groups, late rows and kept rows.
struct RefGroups {
  std::map<GroupKey, RefStates> groups;
  std::vector<std::uint32_t> late;
  std::size_t kept = 0;
};

/// The key words of event i (k as an i64 word, s as its code).
inline Key ref_key(const AggEvents& e, const AggQuery& q, std::size_t i) {
  Key key{0, 0};
  if (q.key_columns == 3) return Key{e.s[i], 0};
  if (q.key_columns >= 1) key[0] = static_cast<std::uint64_t>(e.k[i]);
  if (q.key_columns >= 2) key[1] = e.s[i];
  return key;
}

/// The per-event state values of event i, aggregate by aggregate as the catalogue lays them out.
inline RefStates ref_event_states(const AggEvents& e, const AggQuery& q, std::size_t i) {
  const std::uint64_t v = dbits(e.v[i]);
  const auto w = static_cast<std::uint64_t>(static_cast<std::int64_t>(e.w[i]));
  switch (q.shape) {
    case AggShape::one_float_input:
      return {1, v, v, v, v, 1};
    case AggShape::one_int_input:
      return {1, w, detail::wide_high_of(w), w, w};
    default:
      return {1, v, w, v, v, 1, w, detail::wide_high_of(w)};
  }
}

/// Folds rows [first, first + n) with watermark `wm_before` into (key, pane, cut) groups.
inline void ref_aggregate(const AggEvents& e, const AggQuery& q, std::size_t first, std::size_t n,
                          std::int64_t wm_before, RefGroups& out) {
  const detail::StateSpec& states = q.spec().states;
  const PaneSpec& panes = q.panes();
  for (std::size_t i = first; i < first + n; ++i) {
    if (q.filter && !(e.v[i] > 0)) continue;
    ++out.kept;
    const std::int64_t pane = ref_pane_of(panes, e.ts[i]);
    const std::uint32_t cut = ref_event_cut(panes, pane, wm_before);
    if (cut == kLateCut) {
      out.late.push_back(static_cast<std::uint32_t>(i - first));
      continue;
    }
    RefStates& acc = out.groups[GroupKey{ref_key(e, q, i), pane, cut}];
    if (acc.empty())
      for (int s = 0; s < states.count; ++s) acc.push_back(ref_init(states.ops[s]));
    const RefStates v = ref_event_states(e, q, i);
    ref_merge_states(states, acc.data(), [&](int s) { return v[static_cast<std::size_t>(s)]; });
  }
}

/// Folds group rows into a map, merging repeats.
inline void fold_group(const AggQuery& q, std::map<GroupKey, RefStates>& into, const Key& key,
                       std::int64_t pane, std::uint32_t cut, const std::uint64_t* states,
                       std::size_t stride) {
  const detail::StateSpec& spec = q.spec().states;
  RefStates& acc = into[GroupKey{key, pane, cut}];
  if (acc.empty())
    for (int s = 0; s < spec.count; ++s) acc.push_back(ref_init(spec.ops[s]));
  ref_merge_states(spec, acc.data(),
                   [&](int s) { return states[static_cast<std::size_t>(s) * stride]; });
}

/// The groups of a partials view (its first `n` rows), repeats merged.
inline std::map<GroupKey, RefStates> groups_of(const AggQuery& q, const PartialsView& v,
                                               std::size_t n) {
  std::map<GroupKey, RefStates> out;
  for (std::size_t i = 0; i < n; ++i) {
    Key key{0, 0};
    for (int j = 0; j < v.key_words; ++j) key[j] = v.key(j, i);
    EXPECT_EQ(v.hash[i], ref_key_hash(key.data(), v.key_words, q.spec().hasher.mask))
        << "row " << i;
    fold_group(q, out, key, v.pane[i], v.cut[i], v.states + i, v.stride);
  }
  return out;
}

/// Equal groups with equal states (float sums within 1e-9 relative).
inline void expect_same_groups(const AggQuery& q, const std::map<GroupKey, RefStates>& got,
                               const std::map<GroupKey, RefStates>& want) {
  EXPECT_EQ(got.size(), want.size()) << "number of groups";
  int shown = 0;
  for (const auto& [key, states] : want) {
    auto it = got.find(key);
    if (it == got.end()) {
      if (shown++ < 5)
        ADD_FAILURE() << "missing group key " << std::get<0>(key)[0] << " pane " << std::get<1>(key)
                      << " cut " << std::get<2>(key);
      continue;
    }
    for (int s = 0; s < q.spec().states.count; ++s) {
      const auto r = state_matches(q.spec().states.ops[s], it->second[s], states[s]);
      if (!r && shown++ < 5) ADD_FAILURE() << "state " << s << ": " << r.message();
    }
  }
  for (const auto& [key, states] : got)
    if (!want.count(key) && shown++ < 5)
      ADD_FAILURE() << "unexpected group key " << std::get<0>(key)[0] << " pane "
                    << std::get<1>(key);
}

/// Window geometries the tests run over (in ms): tumbling, tumbling with offset, sliding with
/// slide | size, sliding with gcd panes, hopping with gaps, global.
inline std::vector<std::pair<std::string, WindowSpec>> agg_windows() {
  using std::chrono::milliseconds;
  return {{"tumbling 100", WindowSpec::tumbling(milliseconds(100))},
          {"tumbling 64 offset 7", WindowSpec::tumbling(milliseconds(64), milliseconds(7))},
          {"sliding 100/25", WindowSpec::sliding(milliseconds(100), milliseconds(25))},
          {"sliding 90/40", WindowSpec::sliding(milliseconds(90), milliseconds(40))},
          {"hopping 20/50", WindowSpec::sliding(milliseconds(20), milliseconds(50))},
          {"global", WindowSpec::global()}};
}

}  // namespace sluice::test
