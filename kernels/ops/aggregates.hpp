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
enum class StateOp : std::uint8_t { sum_i64, sum_f64, min_i64, min_f64, max_i64, max_f64 };

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
  }
  return 0;
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
  }
  return a;
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

inline constexpr int kMaxStates = 32;
inline constexpr int kMaxAggregateStates = 2;

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
  bool has_input[kMaxAggregateStates] = {};  ///< false: the state counts (input 1)
  bool float_input = false;                  ///< the input program yields f64 (else i64)
  bool float_result = false;
};

/// @brief Catalogue entry of `kind`: count = a sum of 1; sum/min/max = one state of the input's
/// kind; avg = an f64 sum and a count.
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
  }
  return s;
}

/// @brief The result of an aggregate from its state words (`states` points at its first state
/// word, `stride` apart): an i64 or f64 bit pattern, as AggregateShape::float_result says.
inline std::uint64_t finalize_aggregate(AggKind kind, const std::uint64_t* states,
                                        std::size_t stride) {
  if (kind == AggKind::avg) {
    const auto count = static_cast<std::int64_t>(states[stride]);
    return double_bits(bits_double(states[0]) / static_cast<double>(count));
  }
  return states[0];
}

}  // namespace sluice::detail
