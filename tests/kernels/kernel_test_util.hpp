// Shared helpers of the kernel tests: seeded RNGs, host-side rows and obviously correct references.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/exec/host_exec.hpp"
#include "kernels/ops/aggregates.hpp"
#include "kernels/ops/hash.hpp"
#include "kernels/ops/window_assign.hpp"
#include "kernels/partials.hpp"

namespace sluice::test {

using detail::HostExec;
using detail::KeyHasher;
using detail::kFinalWatermark;
using detail::kLateCut;
using detail::kNoWatermark;
using detail::PaneSpec;
using detail::Partials;
using detail::PartialsView;
using detail::StateOp;

/// Sizes every operator is run over (the large one only where the brief allows it).
inline constexpr std::size_t kLarge = 1000003;

/// @brief A fresh seed, or SLUICE_TEST_SEED from the environment to replay a failure.
inline std::uint64_t fresh_seed() {
  if (const char* s = std::getenv("SLUICE_TEST_SEED")) return std::strtoull(s, nullptr, 0);
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

/// Declares `std::mt19937_64 name` from a fresh seed, printed with every failure in scope.
#define SLUICE_SEEDED_RNG(name)                                                                  \
  const std::uint64_t name##_seed = ::sluice::test::fresh_seed();                                \
  SCOPED_TRACE(::testing::Message() << "seed " << name##_seed                                    \
                                    << " (replay with SLUICE_TEST_SEED=" << name##_seed << ")"); \
  std::mt19937_64 name(name##_seed)

// ---------------------------------------------------------------------------------------------
// References written from the documented definitions, independent of the code under test.

/// @brief murmur3 fmix64, written from its published definition.
inline std::uint64_t ref_fmix64(std::uint64_t k) {
  k = k ^ (k >> 33);
  k = k * 0xff51afd7ed558ccdULL;
  k = k ^ (k >> 33);
  k = k * 0xc4ceb9fe1a85ec53ULL;
  k = k ^ (k >> 33);
  return k;
}

/// @brief The documented key hash: h = seed; h = fmix64(h ^ fmix64(w + c + (h << 6) + (h >> 2))).
inline std::uint64_t ref_key_hash(const std::uint64_t* words, int n, std::uint64_t mask = ~0ULL) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < n; ++i)
    h = ref_fmix64(h ^ ref_fmix64(words[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
  return h & mask;
}

/// @brief floor(a / b) for b > 0 from its definition: the q with q*b <= a < (q+1)*b.
inline std::int64_t ref_floor_div(std::int64_t a, std::int64_t b) {
  const __int128 A = a;
  __int128 q = A / b;
  if (q * b > A) q -= 1;
  return static_cast<std::int64_t>(q);
}

/// @brief A PaneSpec with pane = gcd(size, slide), as the query compiler builds it.
inline PaneSpec make_panes(std::int64_t size, std::int64_t slide, std::int64_t offset = 0,
                           std::int64_t lateness = 0) {
  return PaneSpec::make(size, slide, offset, lateness);
}

inline PaneSpec make_global_panes(std::int64_t lateness = 0) {
  return PaneSpec::make_global(lateness);
}

inline std::int64_t ref_pane_of(const PaneSpec& s, std::int64_t t) {
  return s.global ? 0 : ref_floor_div(t - s.offset, s.pane);
}

/// @brief A PaneSpec of cumulating windows (steps of `step` up to `size`).
inline PaneSpec make_cumulate_panes(std::int64_t size, std::int64_t step, std::int64_t offset = 0,
                                    std::int64_t lateness = 0) {
  return PaneSpec::make_cumulate(size, step, offset, lateness);
}

/// @brief Where window k starts and ends, from the definitions: sliding windows start at
/// offset + k*slide and last size; cumulating window k (steps per period of size) starts with
/// its period, offset + floor(k / steps) * size, and ends k + 1 steps after the offset.
inline __int128 ref_window_start(const PaneSpec& s, std::int64_t k) {
  if (s.steps > 0)
    return static_cast<__int128>(s.offset) +
           static_cast<__int128>(ref_floor_div(k, s.steps)) * s.size;
  return static_cast<__int128>(s.offset) + static_cast<__int128>(k) * s.slide;
}
inline __int128 ref_window_end(const PaneSpec& s, std::int64_t k) {
  if (s.global) return kFinalWatermark;
  if (s.steps > 0) return static_cast<__int128>(s.offset) + static_cast<__int128>(k + 1) * s.slide;
  return ref_window_start(s, k) + s.size;
}

/// @brief Window indices k that wholly contain pane p, ascending, found by testing every window
/// that could: those starting in (pane start - size, pane start] (sliding), or the windows of
/// the steps around the pane's (cumulating).
inline std::vector<std::int64_t> ref_windows_of_pane(const PaneSpec& s, std::int64_t p) {
  if (s.global) return {0};
  const __int128 ps = static_cast<__int128>(s.offset) + static_cast<__int128>(p) * s.pane;
  std::vector<std::int64_t> out;
  std::int64_t k0 = ref_floor_div(static_cast<std::int64_t>(ps - s.size - s.offset), s.slide);
  std::int64_t k1 = ref_floor_div(static_cast<std::int64_t>(ps - s.offset), s.slide);
  if (s.steps > 0) {
    k0 = p - s.steps;
    k1 = p + s.steps;
  }
  for (std::int64_t k = k0 - 2; k <= k1 + 2; ++k) {
    if (ref_window_start(s, k) <= ps && ps + s.pane <= ref_window_end(s, k)) out.push_back(k);
  }
  return out;
}

/// @brief Window k may still change at watermark wm: end + lateness > wm (no watermark: yes).
inline bool ref_window_alive(const PaneSpec& s, std::int64_t k, std::int64_t wm) {
  if (s.global || wm == kNoWatermark) return true;
  return ref_window_end(s, k) + s.lateness > static_cast<__int128>(wm);
}

/// @brief Cut of pane p at watermark wm: position (among the pane's windows, ascending) of the
/// first window still alive, kLateCut when none is.
inline std::uint32_t ref_cut(const PaneSpec& s, std::int64_t p, std::int64_t wm) {
  if (s.global || wm == kNoWatermark) return 0;
  const std::vector<std::int64_t> ks = ref_windows_of_pane(s, p);
  for (std::size_t i = 0; i < ks.size(); ++i)
    if (ref_window_alive(s, ks[i], wm)) return static_cast<std::uint32_t>(i);
  return kLateCut;
}

/// @brief The cut of an event in pane p at wm: ref_cut, and late in a gap between windows
/// (slide > size: the pane belongs to no window), watermark or not.
inline std::uint32_t ref_event_cut(const PaneSpec& s, std::int64_t p, std::int64_t wm) {
  if (!s.global && ref_windows_of_pane(s, p).empty()) return kLateCut;
  return ref_cut(s, p, wm);
}

/// @brief Every window of pane p is past the lateness at wm (global: only at the final mark).
inline bool ref_pane_expired(const PaneSpec& s, std::int64_t p, std::int64_t wm) {
  if (s.global) return wm == kFinalWatermark;
  if (wm == kNoWatermark) return false;
  for (std::int64_t k : ref_windows_of_pane(s, p))
    if (ref_window_alive(s, k, wm)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Accumulator reference.

inline std::uint64_t dbits(double v) { return detail::double_bits(v); }
inline double bitsd(std::uint64_t w) { return detail::bits_double(w); }

inline std::uint64_t ref_init(StateOp op) {
  switch (op) {
    case StateOp::sum_i64:
      return 0;
    case StateOp::sum_f64:
      return dbits(0.0);
    case StateOp::min_i64:
      return static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    case StateOp::max_i64:
      return static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::min());
    case StateOp::min_f64:
      return dbits(std::numeric_limits<double>::infinity());
    case StateOp::max_f64:
      return dbits(-std::numeric_limits<double>::infinity());
    case StateOp::first_time:
      return static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    case StateOp::last_time:
      return static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::min());
    case StateOp::pair_value:
    case StateOp::pair_lock:
    case StateOp::wide_sum_low:
    case StateOp::wide_sum_high:
      return 0;
  }
  return 0;
}

inline std::uint64_t ref_merge(StateOp op, std::uint64_t a, std::uint64_t b) {
  const auto ai = static_cast<std::int64_t>(a);
  const auto bi = static_cast<std::int64_t>(b);
  switch (op) {
    case StateOp::sum_i64:
      return a + b;  // modular, like two's complement wrapping
    case StateOp::sum_f64:
      return dbits(bitsd(a) + bitsd(b));
    case StateOp::min_i64:
      return static_cast<std::uint64_t>(std::min(ai, bi));
    case StateOp::max_i64:
      return static_cast<std::uint64_t>(std::max(ai, bi));
    case StateOp::min_f64:
    case StateOp::max_f64:
      // Anything with a NaN gives the canonical NaN.
      if (std::isnan(bitsd(a)) || std::isnan(bitsd(b))) return 0x7ff8000000000000ULL;
      return dbits(op == StateOp::min_f64 ? std::min(bitsd(a), bitsd(b))
                                          : std::max(bitsd(a), bitsd(b)));
    case StateOp::first_time:
    case StateOp::last_time:
    case StateOp::pair_value:
    case StateOp::pair_lock:
    case StateOp::wide_sum_low:
    case StateOp::wide_sum_high:
      break;  // pairs merge as pairs (ref_pair_merge), wide sums as 128-bit integers
  }
  return a;
}

/// @brief The (time, value) pair of first/last after merging (bt, bv) into (at, av): the
/// earlier (first) or later (last) time; at equal times the larger value word.
inline std::pair<std::uint64_t, std::uint64_t> ref_pair_merge(StateOp op, std::uint64_t at,
                                                              std::uint64_t av, std::uint64_t bt,
                                                              std::uint64_t bv) {
  const auto a = std::make_pair(static_cast<std::int64_t>(at), av);
  const auto b = std::make_pair(static_cast<std::int64_t>(bt), bv);
  if (op == StateOp::last_time) return b > a ? std::make_pair(bt, bv) : std::make_pair(at, av);
  // first: the smaller time, the larger value among equal times
  if (b.first != a.first)
    return b.first < a.first ? std::make_pair(bt, bv) : std::make_pair(at, av);
  return bv > av ? std::make_pair(bt, bv) : std::make_pair(at, av);
}

/// @brief Merges the states b(s) into acc[s] for a whole row of `spec`'s states: one-word states
/// by ref_merge, pairs by ref_pair_merge, a wide sum's two words as one 128-bit integer.
template <class B>
void ref_merge_states(const detail::StateSpec& spec, std::uint64_t* acc, B b) {
  for (int s = 0; s < spec.count; ++s) {
    const StateOp op = spec.ops[s];
    if (op == StateOp::wide_sum_low) {
      __extension__ using uint128 = unsigned __int128;
      const uint128 sum = ((static_cast<uint128>(acc[s + 1]) << 64) | acc[s]) +
                          ((static_cast<uint128>(b(s + 1)) << 64) | b(s));
      acc[s] = static_cast<std::uint64_t>(sum);
      acc[s + 1] = static_cast<std::uint64_t>(sum >> 64);
      ++s;
    } else if (op == StateOp::first_time || op == StateOp::last_time) {
      const auto merged = ref_pair_merge(op, acc[s], acc[s + 1], b(s), b(s + 1));
      acc[s] = merged.first;
      acc[s + 1] = merged.second;
      s += 2;
    } else {
      acc[s] = ref_merge(op, acc[s], b(s));
    }
  }
}

/// @brief Exact for integer and min/max states, relative 1e-9 for double sums.
inline ::testing::AssertionResult state_matches(StateOp op, std::uint64_t got, std::uint64_t want) {
  if (op == StateOp::sum_f64) {
    const double g = bitsd(got), w = bitsd(want);
    if (std::isnan(g) && std::isnan(w)) return ::testing::AssertionSuccess();
    if (g == w || std::fabs(g - w) <= 1e-9 * std::max(std::fabs(g), std::fabs(w)))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "sum_f64 got " << g << " want " << w;
  }
  if (got == want) return ::testing::AssertionSuccess();
  if (op == StateOp::min_f64 || op == StateOp::max_f64)
    return ::testing::AssertionFailure() << "got " << bitsd(got) << " want " << bitsd(want);
  return ::testing::AssertionFailure()
         << "got " << static_cast<std::int64_t>(got) << " want " << static_cast<std::int64_t>(want);
}

/// @brief A random value suited to a state of kind op (an i64 or double word).
inline std::uint64_t random_state_value(StateOp op, std::mt19937_64& rng) {
  switch (op) {
    case StateOp::sum_i64:
    case StateOp::min_i64:
    case StateOp::max_i64:
      return static_cast<std::uint64_t>(
          std::uniform_int_distribution<std::int64_t>(-1000000, 1000000)(rng));
    default:
      return dbits(std::uniform_real_distribution<double>(-1000.0, 1000.0)(rng));
  }
}

// ---------------------------------------------------------------------------------------------
// Keys.

inline constexpr int kMaxTestKeyWords = 2;
using Key = std::array<std::uint64_t, kMaxTestKeyWords>;

/// @brief Key words of key number idx: distinct for distinct idx. With two words the first word
/// takes only 7 values, so keys often agree on it and differ only in the second.
inline Key key_words_of(std::size_t idx, int key_words, std::uint64_t salt) {
  const std::uint64_t spread = static_cast<std::uint64_t>(idx) * 0x9e3779b97f4a7c15ULL + salt;
  if (key_words == 1) return {spread, 0};
  return {static_cast<std::uint64_t>(idx % 7), spread};
}

enum class KeyDist { uniform, hot90, zipf };

inline const char* to_string(KeyDist d) {
  switch (d) {
    case KeyDist::uniform:
      return "uniform";
    case KeyDist::hot90:
      return "hot90";
    case KeyDist::zipf:
      return "zipf";
  }
  return "?";
}

/// @brief Draws key numbers in [0, keys): uniform, 90% on key 0, or Zipf(1.1).
class KeyDrawer {
 public:
  KeyDrawer(KeyDist dist, std::size_t keys) : dist_(dist), uniform_(0, keys - 1) {
    if (dist == KeyDist::zipf) {
      std::vector<double> w(keys);
      for (std::size_t i = 0; i < keys; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), 1.1);
      zipf_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
    }
  }
  std::size_t operator()(std::mt19937_64& rng) {
    switch (dist_) {
      case KeyDist::uniform:
        return uniform_(rng);
      case KeyDist::hot90:
        return coin_(rng) < 0.9 ? 0 : uniform_(rng);
      case KeyDist::zipf:
        return zipf_(rng);
    }
    return 0;
  }

 private:
  KeyDist dist_;
  std::uniform_int_distribution<std::size_t> uniform_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::discrete_distribution<std::size_t> zipf_;
};

// ---------------------------------------------------------------------------------------------
// Partial rows on the host side.

/// @brief Partial rows as plain vectors (key words and states row-major).
struct HostRows {
  int key_words = 1;
  int state_words = 0;
  std::vector<std::uint64_t> hash;
  std::vector<std::uint64_t> keys;
  std::vector<std::int64_t> pane;
  std::vector<std::uint32_t> cut;
  std::vector<std::uint64_t> states;

  std::size_t size() const { return pane.size(); }
  Key key(std::size_t i) const {
    Key k{0, 0};
    for (int j = 0; j < key_words; ++j) k[j] = keys[i * key_words + j];
    return k;
  }
  std::uint64_t state(std::size_t i, int s) const { return states[i * state_words + s]; }
  void reserve(std::size_t n) {
    hash.reserve(n);
    keys.reserve(n * key_words);
    pane.reserve(n);
    cut.reserve(n);
    states.reserve(n * state_words);
  }
  /// @brief Appends a row; its hash is the documented key hash under `mask`.
  void push(const Key& k, std::int64_t p, std::uint32_t c, const std::vector<std::uint64_t>& st,
            std::uint64_t mask = ~0ULL) {
    hash.push_back(ref_key_hash(k.data(), key_words, mask));
    for (int j = 0; j < key_words; ++j) keys.push_back(k[j]);
    pane.push_back(p);
    cut.push_back(c);
    for (int s = 0; s < state_words; ++s) states.push_back(st[s]);
  }
};

/// @brief Copies rows into executor partials (resized to rows.size()).
inline void to_partials(const HostRows& rows, Partials<HostExec>& out) {
  out.resize_discard(rows.size());
  const PartialsView v = out.view();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    v.hash[i] = rows.hash[i];
    for (int j = 0; j < rows.key_words; ++j)
      v.keys[j * v.stride + i] = rows.keys[i * rows.key_words + j];
    v.pane[i] = rows.pane[i];
    v.cut[i] = rows.cut[i];
    for (int s = 0; s < rows.state_words; ++s)
      v.states[s * v.stride + i] = rows.states[i * rows.state_words + s];
  }
}

/// @brief Copies rows into partials in any executor's memory (resized to rows.size()), column
/// by column through the executor's copies.
template <class Exec>
void copy_rows_to(Exec& exec, const HostRows& rows, Partials<Exec>& out) {
  out.resize_discard(rows.size());
  const PartialsView v = out.view();
  const std::size_t n = rows.size();
  if (n == 0) return;
  std::vector<std::uint64_t> column(n);
  exec.copy_from_host(v.hash, rows.hash.data(), n * sizeof(std::uint64_t));
  exec.copy_from_host(v.pane, rows.pane.data(), n * sizeof(std::int64_t));
  exec.copy_from_host(v.cut, rows.cut.data(), n * sizeof(std::uint32_t));
  for (int j = 0; j < rows.key_words; ++j) {
    for (std::size_t i = 0; i < n; ++i) column[i] = rows.keys[i * rows.key_words + j];
    exec.copy_from_host(v.keys + j * v.stride, column.data(), n * sizeof(std::uint64_t));
    exec.synchronize();  // `column` is refilled; a copy from pageable memory may be pending
  }
  for (int s = 0; s < rows.state_words; ++s) {
    for (std::size_t i = 0; i < n; ++i) column[i] = rows.states[i * rows.state_words + s];
    exec.copy_from_host(v.states + s * v.stride, column.data(), n * sizeof(std::uint64_t));
    exec.synchronize();
  }
}

/// @brief Reads a view back into host rows.
inline HostRows from_view(const PartialsView& v) {
  HostRows r;
  r.key_words = v.key_words;
  r.state_words = v.state_words;
  r.reserve(v.size);
  for (std::size_t i = 0; i < v.size; ++i) {
    r.hash.push_back(v.hash[i]);
    for (int j = 0; j < v.key_words; ++j) r.keys.push_back(v.keys[j * v.stride + i]);
    r.pane.push_back(v.pane[i]);
    r.cut.push_back(v.cut[i]);
    for (int s = 0; s < v.state_words; ++s) r.states.push_back(v.states[s * v.stride + i]);
  }
  return r;
}

/// @brief A StateSpec over the given ops, inputs from projected outputs `first_input + s` (or
/// the constant 1 where `inputs` says -1).
inline detail::StateSpec make_states(const std::vector<StateOp>& ops,
                                     const std::vector<int>& inputs = {}) {
  detail::StateSpec spec;
  spec.count = static_cast<int>(ops.size());
  for (std::size_t s = 0; s < ops.size(); ++s) {
    spec.ops[s] = ops[s];
    spec.inputs[s] = static_cast<std::int16_t>(inputs.empty() ? -1 : inputs[s]);
  }
  return spec;
}

/// All accumulator kinds, in one order used by the multi-state tests.
inline const std::vector<StateOp> kAllOps = {StateOp::sum_i64, StateOp::sum_f64, StateOp::min_i64,
                                             StateOp::max_i64, StateOp::min_f64, StateOp::max_f64};

}  // namespace sluice::test
