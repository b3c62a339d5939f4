// The aggregate catalogue: for each aggregate kind its state columns, and for each state its
// init, update, combine (plain and atomic) and finalize. The query compiler, the kernels of
// both executors and the result writer all use these definitions and no others.
#pragma once

#include <cstdint>
#include <limits>

#include <cuda/atomic>

#include "kernels/ops/hd.hpp"
#include "kernels/ops/key_word.hpp"
#include "sluice/aggregate.hpp"

namespace sluice::detail {

/// @brief What one state column accumulates, as a 64-bit word (i64, or f64 bits). Updating a
/// state with one input value is combining it with the value's singleton state, so each kind
/// needs only init and combine.
/// first_time/last_time begin a pair state of three words (first/last by event time): the
/// time, then the value (pair_value) and a word that serializes atomic combines (pair_lock).
/// The three combine together only (combine_states, atomic_combine_states).
/// wide_sum_low begins a two-word state: an exact 128-bit integer sum (integer sum(x)), low word
/// then high word (wide_sum_high); an input v contributes (v, its sign extension). The two
/// combine together only, with the carry from the low word into the high one.
enum class StateOp : std::uint8_t {
  sum_i64,
  sum_f64,
  min_i64,
  min_f64,
  max_i64,
  max_f64,
  first_time,
  last_time,
  pair_value,
  pair_lock,
  wide_sum_low,
  wide_sum_high,
};

/// @brief True for the first word of a pair state (its value and lock words follow).
SLUICE_HD inline bool state_is_pair(StateOp op) {
  return op == StateOp::first_time || op == StateOp::last_time;
}

/// @brief Words of a pair state (time, value, lock).
inline constexpr int kPairWords = 3;

/// @brief True for the low word of a 128-bit integer sum (its high word follows).
SLUICE_HD inline bool state_is_wide(StateOp op) { return op == StateOp::wide_sum_low; }

/// @brief Words of a 128-bit integer sum (low, high).
inline constexpr int kWideWords = 2;

/// @brief The high word an i64 input `v` contributes to a 128-bit sum: its sign extension.
SLUICE_HD inline std::uint64_t wide_high_of(std::uint64_t v) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(v) >> 63);
}

/// @brief (lo, hi) += (b_lo, b_hi), modulo 2^128.
SLUICE_HD inline void wide_add(std::uint64_t& lo, std::uint64_t& hi, std::uint64_t b_lo,
                               std::uint64_t b_hi) {
  const std::uint64_t sum = lo + b_lo;
  hi += b_hi + (sum < lo ? 1u : 0u);
  lo = sum;
}

/// @brief True when the state holds f64 bits (its inputs are converted to f64 first).
SLUICE_HD inline bool state_is_float(StateOp op) {
  return op == StateOp::sum_f64 || op == StateOp::min_f64 || op == StateOp::max_f64;
}

/// @brief Identity of the combine: 0 for sums, +max for min, lowest for max.
SLUICE_HD inline std::uint64_t state_init(StateOp op) {
  switch (op) {
    case StateOp::sum_i64:
      return 0;
    case StateOp::sum_f64:
      return double_bits(0.0);
    case StateOp::min_i64:
      return static_cast<std::uint64_t>(INT64_MAX);
    case StateOp::min_f64:
      return double_bits(std::numeric_limits<double>::infinity());
    case StateOp::max_i64:
      return static_cast<std::uint64_t>(INT64_MIN);
    case StateOp::max_f64:
      return double_bits(-std::numeric_limits<double>::infinity());
    case StateOp::first_time:
      return static_cast<std::uint64_t>(INT64_MAX);
    case StateOp::last_time:
      return static_cast<std::uint64_t>(INT64_MIN);
    case StateOp::pair_value:
    case StateOp::pair_lock:
    case StateOp::wide_sum_low:
    case StateOp::wide_sum_high:
      return 0;
  }
  return 0;
}

/// @brief Whether the pair (t, v) replaces (held_t, held_v): a later time for last, an earlier
/// one for first; equal times keep the larger value word (so the result does not depend on the
/// order of combining, and a value tied with the identity's time replaces its 0).
SLUICE_HD inline bool pair_wins(StateOp time_op, std::uint64_t t, std::uint64_t v,
                                std::uint64_t held_t, std::uint64_t held_v) {
  const auto a = static_cast<std::int64_t>(t);
  const auto b = static_cast<std::int64_t>(held_t);
  if (a == b) return v > held_v;
  return time_op == StateOp::last_time ? a > b : a < b;
}

/// @brief The one NaN float min/max produce (a fixed bit pattern, so results do not depend on
/// which NaN came first).
inline constexpr std::uint64_t kCanonicalNaNBits = 0x7ff8000000000000ULL;

/// @brief Combines two states (or a state and one input value in the state's representation).
/// Integer sums wrap. Float min/max of anything with a NaN is NaN (kCanonicalNaNBits), as in
/// Java's Math.min, so the result does not depend on the order of combining.
SLUICE_HD inline std::uint64_t state_combine(StateOp op, std::uint64_t a, std::uint64_t b) {
  const auto ai = static_cast<std::int64_t>(a);
  const auto bi = static_cast<std::int64_t>(b);
  switch (op) {
    case StateOp::sum_i64:
      return a + b;
    case StateOp::sum_f64:
      return double_bits(bits_double(a) + bits_double(b));
    case StateOp::min_i64:
      return bi < ai ? b : a;
    case StateOp::max_i64:
      return bi > ai ? b : a;
    case StateOp::min_f64:
    case StateOp::max_f64: {
      const double da = bits_double(a);
      const double db = bits_double(b);
      if (da != da || db != db) return kCanonicalNaNBits;
      if (op == StateOp::min_f64) return db < da ? b : a;
      return db > da ? b : a;
    }
    case StateOp::first_time:
    case StateOp::last_time:
    case StateOp::pair_value:
    case StateOp::pair_lock:
    case StateOp::wide_sum_low:
    case StateOp::wide_sum_high:
      break;  // pairs and wide sums combine through combine_states
  }
  return a;
}

/// @brief Combines the states of `b` into those of `a`: a(s) is a reference to state word s,
/// b(s) its value to combine (of another state, or one event's input as event_state_value
/// gives it); pair states combine their time and value together, wide sums their two words
/// with the carry. Not atomic: one caller per `a`.
template <class Spec, class A, class B>
SLUICE_HD inline void combine_states(const Spec& spec, A&& a, B&& b) {
  for (int s = 0; s < spec.count; ++s) {
    const StateOp op = spec.ops[s];
    if (state_is_wide(op)) {
      wide_add(a(s), a(s + 1), b(s), b(s + 1));
      ++s;
      continue;
    }
    if (state_is_pair(op)) {
      const std::uint64_t t = b(s);
      const std::uint64_t v = b(s + 1);
      if (pair_wins(op, t, v, a(s), a(s + 1))) {
        a(s) = t;
        a(s + 1) = v;
      }
      s += kPairWords - 1;
      continue;
    }
    a(s) = state_combine(op, a(s), b(s));
  }
}

/// @brief Combines `v` into the state word at `p` atomically (any number of concurrent
/// callers, host or device). Integer sums are one fetch_add; the others loop on
/// compare-exchange and stop as soon as `v` cannot change the word. Float sums therefore depend
/// on the order of arrival (see the architecture notes on reproducibility). `Scope` is that of
/// the threads sharing the word.
template <cuda::thread_scope Scope = cuda::thread_scope_device>
SLUICE_HD inline void atomic_state_combine(StateOp op, std::uint64_t* p, std::uint64_t v) {
  cuda::atomic_ref<std::uint64_t, Scope> word(*p);
  if (op == StateOp::sum_i64) {
    word.fetch_add(v, cuda::memory_order_relaxed);
    return;
  }
  std::uint64_t seen = word.load(cuda::memory_order_relaxed);
  for (;;) {
    const std::uint64_t merged = state_combine(op, seen, v);
    if (merged == seen) return;
    if (word.compare_exchange_weak(seen, merged, cuda::memory_order_relaxed)) return;
  }
}

/// @brief Eases a spin-wait: the core's pause hint on the host, a short sleep on the device.
SLUICE_HD inline void spin_pause() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
  __nanosleep(32);
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// @brief Combines the pair (t, v) into the pair state at `time`, `value`, `lock` atomically
/// (any number of concurrent callers). A pair only grows in its order, so a time that loses to
/// the one seen loses to every later one and returns at once; otherwise the lock word (0 when
/// free) makes the read and the write of both words one step.
template <cuda::thread_scope Scope = cuda::thread_scope_device>
SLUICE_HD inline void atomic_pair_combine(StateOp time_op, std::uint64_t* time,
                                          std::uint64_t* value, std::uint64_t* lock,
                                          std::uint64_t t, std::uint64_t v) {
  cuda::atomic_ref<std::uint64_t, Scope> held_time(*time);
  const auto seen = static_cast<std::int64_t>(held_time.load(cuda::memory_order_relaxed));
  const auto mine = static_cast<std::int64_t>(t);
  if (time_op == StateOp::last_time ? mine < seen : mine > seen) return;
  cuda::atomic_ref<std::uint64_t, Scope> held_lock(*lock);
  for (;;) {
    std::uint64_t free = 0;
    if (held_lock.compare_exchange_weak(free, 1, cuda::memory_order_acquire,
                                        cuda::memory_order_relaxed))
      break;
    spin_pause();
  }
  cuda::atomic_ref<std::uint64_t, Scope> held_value(*value);
  if (pair_wins(time_op, t, v, held_time.load(cuda::memory_order_relaxed),
                held_value.load(cuda::memory_order_relaxed))) {
    held_value.store(v, cuda::memory_order_relaxed);
    held_time.store(t, cuda::memory_order_relaxed);
  }
  held_lock.store(0, cuda::memory_order_release);
}

/// @brief Adds (b_lo, b_hi) to the 128-bit sum at `lo`, `hi` atomically (any number of concurrent
/// callers): the low word's fetch_add tells the carry this addition owes the high word, so the
/// sum is exact once every caller is done (the two words are not read together before).
template <cuda::thread_scope Scope = cuda::thread_scope_device>
SLUICE_HD inline void atomic_wide_add(std::uint64_t* lo, std::uint64_t* hi, std::uint64_t b_lo,
                                      std::uint64_t b_hi) {
  cuda::atomic_ref<std::uint64_t, Scope> low(*lo);
  const std::uint64_t before = low.fetch_add(b_lo, cuda::memory_order_relaxed);
  const std::uint64_t carry = before + b_lo < before ? 1u : 0u;
  if (b_hi + carry == 0) return;
  cuda::atomic_ref<std::uint64_t, Scope> high(*hi);
  high.fetch_add(b_hi + carry, cuda::memory_order_relaxed);
}

/// @brief combine_states for concurrent callers: state s at word(s), its value to combine b(s).
template <cuda::thread_scope Scope = cuda::thread_scope_device, class Spec, class W, class B>
SLUICE_HD inline void atomic_combine_states(const Spec& spec, W&& word, B&& b) {
  for (int s = 0; s < spec.count; ++s) {
    const StateOp op = spec.ops[s];
    if (state_is_wide(op)) {
      atomic_wide_add<Scope>(word(s), word(s + 1), b(s), b(s + 1));
      ++s;
      continue;
    }
    if (state_is_pair(op)) {
      atomic_pair_combine<Scope>(op, word(s), word(s + 1), word(s + 2), b(s), b(s + 1));
      s += kPairWords - 1;
      continue;
    }
    atomic_state_combine<Scope>(op, word(s), b(s));
  }
}

inline constexpr int kMaxStates = 32;
inline constexpr int kMaxAggregateStates = 3;

/// @brief The state columns of a query: state s combines with ops[s]; its per-event input is
/// input program inputs[s], or the constant 1 when inputs[s] < 0. Trivially copyable.
struct StateSpec {
  StateOp ops[kMaxStates] = {};
  std::int16_t inputs[kMaxStates] = {};
  int count = 0;
};

/// @brief The value an input of `op` contributes when it has no input program (count).
inline constexpr std::uint64_t kUnitInput = 1;

/// @brief The state columns of one aggregate kind over inputs that are float or not.
struct AggregateShape {
  int states = 0;
  StateOp ops[kMaxAggregateStates] = {};
  bool has_input[kMaxAggregateStates] = {};   ///< false: the state counts (input 1)
  bool time_input[kMaxAggregateStates] = {};  ///< the state's input is the event time
  bool float_input = false;                   ///< the input program yields f64 (else i64)
  bool float_result = false;
};

/// @brief Catalogue entry of `kind`: count = a sum of 1; sum of integers = a 128-bit sum (two
/// words); sum of floats, min, max = one state of the input's kind; avg = an f64 sum and a
/// count; first/last = a pair state (time, value, lock).
inline AggregateShape aggregate_shape(AggKind kind, bool float_input) {
  AggregateShape s;
  switch (kind) {
    case AggKind::count:
      s.states = 1;
      s.ops[0] = StateOp::sum_i64;
      break;
    case AggKind::sum:
    case AggKind::min:
    case AggKind::max: {
      const StateOp integral = kind == AggKind::sum   ? StateOp::sum_i64
                               : kind == AggKind::min ? StateOp::min_i64
                                                      : StateOp::max_i64;
      const StateOp floating = kind == AggKind::sum   ? StateOp::sum_f64
                               : kind == AggKind::min ? StateOp::min_f64
                                                      : StateOp::max_f64;
      s.states = 1;
      s.ops[0] = float_input ? floating : integral;
      s.has_input[0] = true;
      s.float_input = float_input;
      s.float_result = float_input;
      if (kind == AggKind::sum && !float_input) {
        s.states = kWideWords;
        s.ops[0] = StateOp::wide_sum_low;
        s.ops[1] = StateOp::wide_sum_high;
        s.has_input[1] = true;  // the same value: event_state_value gives its sign extension
      }
      break;
    }
    case AggKind::avg:
      s.states = 2;
      s.ops[0] = StateOp::sum_f64;
      s.has_input[0] = true;
      s.ops[1] = StateOp::sum_i64;
      s.float_input = true;
      s.float_result = true;
      break;
    case AggKind::first:
    case AggKind::last:
      s.states = kPairWords;
      s.ops[0] = kind == AggKind::first ? StateOp::first_time : StateOp::last_time;
      s.ops[1] = StateOp::pair_value;
      s.ops[2] = StateOp::pair_lock;
      s.has_input[1] = true;  // the value; the time's input is the event time (time_input)
      s.time_input[0] = true;
      s.float_input = float_input;
      s.float_result = float_input;
      break;
  }
  return s;
}

/// @brief True when an aggregate's result does not fit its type: an integer sum outside the
/// i64 range (`states` as for finalize_aggregate).
inline bool aggregate_overflows(AggKind kind, bool float_result, const std::uint64_t* states,
                                std::size_t stride) {
  return kind == AggKind::sum && !float_result && states[stride] != wide_high_of(states[0]);
}

/// @brief The result of an aggregate from its state words (`states` points at its first state
/// word, `stride` apart): an i64 or f64 bit pattern, as AggregateShape::float_result says (an
/// integer sum's low word: check aggregate_overflows first).
inline std::uint64_t finalize_aggregate(AggKind kind, const std::uint64_t* states,
                                        std::size_t stride) {
  if (kind == AggKind::avg) {
    const auto count = static_cast<std::int64_t>(states[stride]);
    return double_bits(bits_double(states[0]) / static_cast<double>(count));
  }
  if (kind == AggKind::first || kind == AggKind::last) return states[stride];  // the value
  return states[0];
}

}  // namespace sluice::detail
