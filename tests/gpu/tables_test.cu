// The state tables on CudaExec against HostExec and references: KeyTable (ids, growth,
// collisions, gather) and WindowTable (merge, fire, re-emission, eviction, growth).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gpu/gpu_test_util.hpp"
#include "kernels/key_table.hpp"
#include "kernels/key_table_reference.hpp"
#include "kernels/window_table.hpp"
#include "kernels/window_table_reference.hpp"

namespace sluice::test {
namespace {

using detail::FiredWindows;
using detail::KeyTable;
using detail::WindowTable;

// =============================================================================================
// KeyTable

/// One executor's key table with the buffers a batch needs.
template <class Exec>
struct KeyTableRun {
  Exec exec;
  KeyTable<Exec> table;
  KeyTableRun(int key_words, KeyHasher hasher, double max_load)
      : table(exec, key_words, hasher, max_load) {}

  /// Inserts `rows`; returns the ids (n + 1 entries, the last past the end) and the gathered
  /// key words (stride n + 3, each column's padding included).
  std::pair<std::vector<std::uint32_t>, std::vector<std::uint64_t>> insert(const HostRows& rows) {
    Partials<Exec> in(exec, rows.key_words, 0);
    upload_rows(exec, rows, in);
    const std::size_t n = rows.size();
    auto ids = poisoned_buffer<std::uint32_t>(exec, n + 1);
    table.find_or_insert(in.view(), ids.data());
    const std::size_t stride = n + 3;
    auto words = poisoned_buffer<std::uint64_t>(exec, stride * rows.key_words);
    table.gather(ids.data(), n, words.data(), stride);
    return {download(exec, ids.data(), n + 1),
            download(exec, words.data(), stride * rows.key_words)};
  }
  /// Key words of ids 0..size-1 (column j at j * size).
  std::vector<std::uint64_t> all_keys() {
    const std::size_t n = table.size();
    std::vector<std::uint32_t> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(i);
    const auto dids = upload(exec, ids);
    auto words = poisoned_buffer<std::uint64_t>(exec, n * table.key_words());
    table.gather(dids.data(), n, words.data(), n);
    return download(exec, words.data(), n * table.key_words());
  }
};

struct KeyParams {
  std::size_t keys;
  KeyDist dist;
  int key_words;
  std::vector<std::size_t> batches;  // rows per batch
  std::uint64_t mask = ~0ULL;
  double max_load = 0.5;
};

std::ostream& operator<<(std::ostream& os, const KeyParams& p) {
  os << p.keys << " keys, " << to_string(p.dist) << ", " << p.key_words << " words, batches";
  for (std::size_t b : p.batches) os << " " << b;
  return os << ", mask " << p.mask << ", max load " << p.max_load;
}

class KeyTableGpu : public GpuTestWithParam<KeyParams> {};

TEST_P(KeyTableGpu, DenseIdsInFirstInsertionOrderLikeHost) {
  const KeyParams p = GetParam();
  SLUICE_GPU_RNG(rng);
  KeyTableRun<DevExec> dev(p.key_words, KeyHasher{p.mask}, p.max_load);
  KeyTableRun<detail::HostExec> host(p.key_words, KeyHasher{p.mask}, p.max_load);
  const std::size_t initial_capacity = dev.table.capacity();
  RefIds ref;
  KeyDrawer draw(p.dist, p.keys);
  const std::uint64_t salt = rng();
  for (std::size_t b = 0; b < p.batches.size(); ++b) {
    SCOPED_TRACE(::testing::Message() << "batch " << b);
    std::vector<Key> keys(p.batches[b]);
    for (Key& k : keys) k = key_words_of(draw(rng), p.key_words, salt);
    const HostRows rows = key_batch(std::move(keys), p.key_words, p.mask, rng);
    const auto [got_ids, got_words] = dev.insert(rows);
    const auto [base_ids, base_words] = host.insert(rows);
    const std::size_t n = rows.size();
    const std::size_t stride = n + 3;
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(got_ids[i], ref.id(rows.key(i))) << "row " << i;
    ASSERT_EQ(got_ids[n], poison_value<std::uint32_t>()) << "id written past the rows";
    ASSERT_EQ(got_ids, base_ids);
    for (std::size_t i = 0; i < n; ++i)
      for (int j = 0; j < p.key_words; ++j)
        ASSERT_EQ(got_words[j * stride + i], rows.keys[i * p.key_words + j]) << "gather row " << i;
    for (int j = 0; j < p.key_words; ++j)
      for (std::size_t i = n; i < stride; ++i)
        ASSERT_EQ(got_words[j * stride + i], poison_value<std::uint64_t>())
            << "gather wrote past the rows";
    ASSERT_EQ(got_words, base_words);
    ASSERT_EQ(dev.table.size(), ref.keys.size());
    ASSERT_EQ(host.table.size(), ref.keys.size());
    ASSERT_LE(static_cast<double>(dev.table.size()),
              p.max_load * static_cast<double>(dev.table.capacity()));
  }
  // Every id gathers its key, in first-insertion order.
  const std::vector<std::uint64_t> all = dev.all_keys();
  const std::size_t n = ref.keys.size();
  ASSERT_EQ(all.size(), n * p.key_words);
  for (std::size_t i = 0; i < n; ++i)
    for (int j = 0; j < p.key_words; ++j) ASSERT_EQ(all[j * n + i], ref.keys[i][j]) << "id " << i;
  if (n > p.max_load * static_cast<double>(initial_capacity)) {
    EXPECT_GT(dev.table.capacity(), initial_capacity) << "premise: the table grew";
  }
}

INSTANTIATE_TEST_SUITE_P(
    KeysSkewWords, KeyTableGpu,
    ::testing::Values(KeyParams{1, KeyDist::uniform, 1, {0, 1, 31}},
                      KeyParams{1, KeyDist::uniform, 2, {1000, 1000, 1}},
                      KeyParams{100, KeyDist::uniform, 1, {31, 1000, 1000}},
                      KeyParams{100, KeyDist::zipf, 2, {1000, 1000, 1000}},
                      KeyParams{100000, KeyDist::uniform, 1, {1000, 100000, 100000, kLarge}},
                      KeyParams{100000, KeyDist::zipf, 2, {100000, kLarge}},
                      KeyParams{
                          10000000, KeyDist::uniform, 1, {1, 31, 1000, kLarge, 10000000, kLarge}},
                      KeyParams{10000000, KeyDist::uniform, 2, {10000000}, ~0ULL, 0.9},
                      // Collisions: every hash the same (one probe chain under concurrent CAS), 8
                      // values, and 16384 values spread over the slot range with several keys each.
                      KeyParams{3000, KeyDist::uniform, 2, {2000, 3000, 3000}, 0x0},
                      KeyParams{3000, KeyDist::zipf, 1, {3000, 3000}, 0x7},
                      KeyParams{200000, KeyDist::uniform, 2, {100000, 200000}, 0x3fff0},
                      KeyParams{20000, KeyDist::uniform, 1, {5000, 5000, 5000}, 0xff, 0.9}));

// =============================================================================================
// WindowTable

using MergeRow = MergeRowOf<RefState>;
using FiredRow = FiredRowOf<RefState>;
using RefWindows = RefWindowsOf<RefState>;

/// Fired rows read back from an executor (fired.size rows; states at [s * size + i]).
struct FiredCopy {
  std::vector<std::int64_t> window;
  std::vector<std::uint32_t> key;
  std::vector<std::uint8_t> update;
  std::vector<std::uint64_t> states;
};

/// One executor's window table.
template <class Exec>
struct WindowTableRun {
  Exec exec;
  WindowTable<Exec> table;
  FiredWindows<Exec> out;
  std::size_t num_states;
  WindowTableRun(const std::vector<StateOp>& ops, const PaneSpec& panes, KeyHasher hasher,
                 double max_load)
      : table(exec, make_states(ops), panes, hasher, max_load), out(exec), num_states(ops.size()) {}

  void merge(const std::vector<MergeRow>& rows, std::int64_t fired_wm) {
    HostRows h;
    h.key_words = 1;
    h.state_words = static_cast<int>(num_states);
    h.reserve(rows.size());
    std::vector<std::uint32_t> ids;
    ids.reserve(rows.size());
    for (const MergeRow& r : rows) {
      h.push(Key{r.key, 0}, r.pane, r.cut, r.states.value);
      ids.push_back(r.key);
    }
    Partials<Exec> p(exec, 1, h.state_words);
    upload_rows(exec, h, p);
    const auto dids = upload(exec, ids);
    table.merge(p.view(), dids.data(), fired_wm);
  }

  /// Fires with the output buffers poisoned to their capacity first, so rows or states the fire
  /// should have written but did not read as poison.
  FiredCopy fire(std::int64_t prev, std::int64_t wm, std::size_t* n) {
    out.window.resize_discard(out.window.capacity());
    out.key.resize_discard(out.key.capacity());
    out.update.resize_discard(out.update.capacity());
    out.states.resize_discard(out.states.capacity());
    poison(exec, out.window.data(), out.window.size());
    poison(exec, out.key.data(), out.key.size());
    poison(exec, out.update.data(), out.update.size());
    poison(exec, out.states.data(), out.states.size());
    *n = table.fire(prev, wm, out);
    FiredCopy c;
    c.window = download(exec, out.window.data(), out.size);
    c.key = download(exec, out.key.data(), out.size);
    c.update = download(exec, out.update.data(), out.size);
    if (out.size > 0) {
      EXPECT_EQ(out.stride, out.size);  // (an empty fire leaves the previous stride)
    }
    c.states = download(exec, out.states.data(), out.size * num_states);
    return c;
  }
};

/// Compares one executor's fire with the model: same (window, key) rows in (window, key) order,
/// same update flags, merged states (float sums within the tolerance).
void compare_fire(const FiredCopy& got, std::size_t n, const std::map<WindowKey, FiredRow>& want,
                  const std::vector<StateOp>& ops, const char* who) {
  SCOPED_TRACE(who);
  ASSERT_EQ(n, want.size());
  ASSERT_EQ(got.window.size(), n);
  auto it = want.begin();
  for (std::size_t i = 0; i < n; ++i, ++it) {
    const auto& [wk, row] = *it;
    ASSERT_EQ(got.window[i], wk.first) << "fired row " << i;
    ASSERT_EQ(got.key[i], wk.second) << "fired row " << i << " window " << wk.first;
    ASSERT_EQ(got.update[i], row.update ? 1 : 0)
        << "fired row " << i << " window " << wk.first << " key " << wk.second;
    for (std::size_t s = 0; s < ops.size(); ++s)
      ASSERT_TRUE(
          state_close(ops[s], got.states[s * n + i], row.states.value[s], row.states.magnitude[s]))
          << "fired row " << i << " window " << wk.first << " key " << wk.second << " state " << s;
  }
}

struct Stream {
  const char* name;
  PaneSpec panes;
  std::size_t keys;
  KeyDist dist;
  int batches;
  std::size_t events_per_batch;
  bool must_grow = false;
  std::uint64_t mask = ~0ULL;
  double max_load = 0.5;
  std::vector<StateOp> ops = kAllOps;
};

std::ostream& operator<<(std::ostream& os, const Stream& s) { return os << s.name; }

/// What a stream exercised, so the test can check it covered what it claims.
struct StreamStats {
  std::size_t late = 0, with_cut = 0, updates = 0, fired = 0, evicted = 0;
  bool grew = false;
};

class WindowTableGpu : public GpuTestWithParam<Stream> {};

/// Batches of out-of-order events (some late, some late but allowed), pre-aggregated by (key,
/// pane, cut), merged into a device table, a host table and the model; every fire and every
/// eviction compared; finished by the final watermark.
TEST_P(WindowTableGpu, StreamMatchesHostAndBruteForceModel) {
  const Stream p = GetParam();
  SLUICE_GPU_RNG(rng);
  const std::vector<StateOp>& ops = p.ops;
  WindowTableRun<DevExec> dev(ops, p.panes, KeyHasher{p.mask}, p.max_load);
  WindowTableRun<detail::HostExec> host(ops, p.panes, KeyHasher{p.mask}, p.max_load);
  const std::size_t initial_capacity = dev.table.capacity();
  RefWindows ref{p.panes, ops, {}, {}};
  StreamStats stats;
  KeyDrawer draw(p.dist, p.keys);
  const std::int64_t unit = p.panes.global ? 10 : p.panes.slide;
  const std::int64_t span = p.panes.global ? 10 : p.panes.size;
  const std::int64_t disorder = span + p.panes.lateness + 2 * unit;
  std::int64_t clock = std::uniform_int_distribution<std::int64_t>(-10000, 10000)(rng);
  std::int64_t wm = kNoWatermark;

  auto fire_all = [&](std::int64_t prev, std::int64_t next) {
    SCOPED_TRACE(::testing::Message() << "fire(" << prev << ", " << next << ")");
    const std::map<WindowKey, FiredRow> want = ref.fire(prev, next);
    if (!want.empty()) {
      EXPECT_TRUE(dev.table.may_fire(prev, next));
    }
    std::size_t n_dev = 0, n_host = 0;
    const FiredCopy got = dev.fire(prev, next, &n_dev);
    const FiredCopy base = host.fire(prev, next, &n_host);
    compare_fire(got, n_dev, want, ops, "device executor");
    compare_fire(base, n_host, want, ops, "host executor");
    for (const auto& [wk, row] : want) stats.updates += row.update;
    stats.fired += want.size();
  };
  auto evict_all = [&](std::int64_t prev, std::int64_t next) {
    const std::size_t removed = ref.evict(next);
    stats.evicted += next == kFinalWatermark ? 0 : removed;
    if (removed > 0) {
      EXPECT_TRUE(dev.table.may_evict(prev, next)) << "may_evict(" << prev << ", " << next << ")";
    }
    dev.table.evict(next);
    host.table.evict(next);
    ASSERT_EQ(dev.table.size(), ref.entries.size()) << "device, after evict(" << next << ")";
    ASSERT_EQ(host.table.size(), ref.entries.size()) << "host, after evict(" << next << ")";
  };

  // An empty merge changes nothing.
  dev.merge({}, wm);
  host.merge({}, wm);
  ASSERT_EQ(dev.table.size(), 0u);
  for (int b = 0; b < p.batches; ++b) {
    SCOPED_TRACE(::testing::Message() << "batch " << b << " wm " << wm);
    std::map<Slot, RefState> batch;
    std::uniform_int_distribution<std::int64_t> offset(-disorder, 2 * unit);
    for (std::size_t e = 0; e < p.events_per_batch; ++e) {
      const std::int64_t t = clock + offset(rng);
      const auto key = static_cast<std::uint32_t>(draw(rng));
      const std::int64_t pane = ref_pane_of(p.panes, t);
      const std::uint32_t cut = ref_event_cut(p.panes, pane, wm);
      if (cut == kLateCut) {
        ++stats.late;
        continue;
      }
      stats.with_cut += cut > 0;
      RefState& st = batch.try_emplace(Slot{key, pane, cut}, ops).first->second;
      for (std::size_t s = 0; s < ops.size(); ++s) {
        const std::uint64_t v =
            ops[s] == StateOp::sum_f64 ? random_f64_word(rng) : random_state_value(ops[s], rng);
        st.add(ops, s, v, ops[s] == StateOp::sum_f64 ? std::fabs(bitsd(v)) : 0.0);
      }
    }
    std::vector<MergeRow> rows;
    rows.reserve(batch.size());
    for (const auto& [slot, st] : batch)
      rows.push_back({std::get<0>(slot), std::get<1>(slot), std::get<2>(slot), st});
    std::shuffle(rows.begin(), rows.end(), rng);
    dev.merge(rows, wm);
    host.merge(rows, wm);
    ref.merge(rows, wm);
    ASSERT_EQ(dev.table.size(), ref.entries.size()) << "device, after merge";
    ASSERT_EQ(host.table.size(), ref.entries.size()) << "host, after merge";
    stats.grew = stats.grew || dev.table.capacity() != initial_capacity;

    clock += std::uniform_int_distribution<std::int64_t>(0, 2 * unit)(rng);
    const std::int64_t next =
        std::max(wm, clock - std::uniform_int_distribution<std::int64_t>(0, unit)(rng));
    fire_all(wm, next);
    if (HasFatalFailure()) return;
    evict_all(wm, next);
    if (HasFatalFailure()) return;
    wm = next;
  }
  fire_all(wm, kFinalWatermark);
  if (HasFatalFailure()) return;
  evict_all(wm, kFinalWatermark);
  if (HasFatalFailure()) return;
  EXPECT_EQ(dev.table.size(), 0u);
  // The stream exercised what it claims.
  EXPECT_GT(stats.fired, 0u);
  if (p.must_grow) {
    EXPECT_TRUE(stats.grew) << "premise: the table grew";
  }
  // Small streams may by chance miss a case; the premises hold for the larger ones.
  if (static_cast<std::size_t>(p.batches) * p.events_per_batch < 5000) return;
  if (!p.panes.global) {
    EXPECT_GT(stats.late, 0u);
    EXPECT_GT(stats.evicted, 0u);
    if (p.panes.slide < p.panes.size) {
      EXPECT_GT(stats.with_cut, 0u);
    }
    if (p.panes.lateness > 0) {
      EXPECT_GT(stats.updates, 0u) << "premise: late-but-allowed events re-emitted windows";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Streams, WindowTableGpu,
    ::testing::Values(
        Stream{"one_key_sliding", make_panes(10, 4, 0, 6), 1, KeyDist::uniform, 20, 31},
        Stream{"tumbling_100_keys", make_panes(10, 10, 3, 7), 100, KeyDist::uniform, 20, 1000},
        Stream{"sliding_zipf_100_keys", make_panes(10, 5, 0, 4), 100, KeyDist::zipf, 20, 1000},
        Stream{"sliding_gcd_offset", make_panes(10, 4, -7, 6), 1000, KeyDist::uniform, 15, 5000,
               true},
        Stream{"global", make_global_panes(), 1000, KeyDist::zipf, 8, 5000},
        Stream{"grow_100k_keys", make_panes(10, 10, 0, 5), 100000, KeyDist::uniform, 6, 100000,
               true},
        Stream{"grow_zipf_100k_keys", make_panes(20, 5, 0, 10), 100000, KeyDist::zipf, 8, 200000,
               true},
        Stream{"large_10m_keys",
               make_panes(10, 5, 0, 5),
               10000000,
               KeyDist::uniform,
               4,
               kLarge,
               true,
               ~0ULL,
               0.5,
               {StateOp::sum_i64, StateOp::sum_f64, StateOp::max_i64}},
        Stream{"collisions_mask7", make_panes(10, 4, 0, 6), 300, KeyDist::uniform, 10, 1000, true,
               0x7},
        Stream{"collisions_mask0", make_panes(10, 10, 0, 12), 200, KeyDist::uniform, 10, 1000,
               false, 0x0},
        Stream{"collisions_spread", make_panes(10, 4, 0, 6), 20000, KeyDist::uniform, 8, 20000,
               true, 0x3fff0}));

}  // namespace
}  // namespace sluice::test
