// Host fast path of the fused pre-aggregation: vector evaluation of blocks, per-thread tables.
#include "kernels/host/fused_aggregate.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "kernels/exec/host_exec.hpp"
#include "kernels/host/time_range.hpp"
#include "kernels/host/vector_program.hpp"
#include "kernels/host/word_list.hpp"
#include "kernels/table/open_addressing.hpp"

namespace sluice::detail {
namespace {

/// The hash of a group in a thread's table: a cheap mix (the documented key hash is computed
/// once per group, when the table flushes).
inline std::uint64_t local_hash(const std::uint64_t* key, int key_words, std::int64_t pane,
                                std::uint32_t cut) {
  std::uint64_t h = static_cast<std::uint64_t>(pane) * 0x9e3779b97f4a7c15ULL ^ cut;
  for (int j = 0; j < key_words; ++j) {
    h ^= key[j];
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 29);
}

/// A comparison of a column with a constant, refining a selection in one typed loop.
struct ColumnTest {
  int column = -1;
  Op op = Op::eq_k;
  VType type = VType::i64;
  std::uint64_t imm = 0;
};

/// Filter conjuncts that are `column op constant` become ColumnTests; others run through the
/// vector interpreter.
bool as_column_test(const Instr* code, ProgramRef p, const InputColumns& types, ColumnTest& t) {
  if (p.size != 2 || code[p.begin].op != Op::load || !is_compare_konst(code[p.begin + 1].op))
    return false;
  const Instr& load = code[p.begin];
  const Instr& cmp = code[p.begin + 1];
  if (cmp.type != value_type_of(types.type[load.column])) return false;
  t.column = load.column;
  t.op = cmp.op;
  t.type = cmp.type;
  t.imm = cmp.imm;
  return true;
}

template <class T, class Pred>
std::size_t refine(const T* column, std::uint32_t* sel, std::size_t n, bool dense,
                   std::size_t first, Pred pred) {
  std::size_t kept = 0;
  if (dense) {
    for (std::size_t i = 0; i < n; ++i) {
      sel[kept] = static_cast<std::uint32_t>(first + i);
      kept += pred(column[first + i]) ? 1 : 0;
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t r = sel[i];
      sel[kept] = r;
      kept += pred(column[r]) ? 1 : 0;
    }
  }
  return kept;
}

/// Calls f(pred) with the predicate `v op k` of a column test, one instantiation per operator.
template <class T, class F>
decltype(auto) with_test_predicate(const ColumnTest& test, F f) {
  const T k = from_word<T>(test.imm);
  switch (test.op) {
    case Op::eq_k:
      return f([k](T v) { return v == k; });
    case Op::ne_k:
      return f([k](T v) { return v != k; });
    case Op::lt_k:
      return f([k](T v) { return v < k; });
    case Op::le_k:
      return f([k](T v) { return v <= k; });
    case Op::gt_k:
      return f([k](T v) { return v > k; });
    default:
      return f([k](T v) { return v >= k; });
  }
}

/// Refines a selection (or, dense, the rows [first, first + n)) by a column test.
struct RefineByTest {
  const void* data;
  const ColumnTest& test;
  std::uint32_t* sel;
  std::size_t n;
  bool dense;
  std::size_t first;
  template <class T>
  std::size_t operator()() const {
    const T* column = static_cast<const T*>(data);
    return with_test_predicate<T>(
        test, [&](auto pred) { return refine(column, sel, n, dense, first, pred); });
  }
};

/// mask[i] &= test(column[first + i]) over a dense block (first: mask[i] = test): a
/// branch-free loop the compiler vectorizes.
struct MaskByTest {
  const void* data;
  const ColumnTest& test;
  std::uint8_t* mask;
  std::size_t n;
  std::size_t first;
  bool first_test;
  template <class T>
  void operator()() const {
    with_test_predicate<T>(test,
                           [this](auto pred) { apply(static_cast<const T*>(data) + first, pred); });
  }
  /// Pointers and counts in locals: stores through the byte mask may alias anything, so
  /// fields read through `this` would be reloaded every row and the loops would not vectorize.
  template <class T, class Pred>
  void apply(const T* column, Pred pred) const {
    std::uint8_t* const out = mask;
    const std::size_t count = n;
    if (first_test) {
      for (std::size_t i = 0; i < count; ++i) out[i] = pred(column[i]) ? 1 : 0;
    } else {
      for (std::size_t i = 0; i < count; ++i) out[i] &= pred(column[i]) ? 1 : 0;
    }
  }
};

/// Writes program value words of the selected rows (plain columns gathered directly).
struct ValueSource {
  ProgramRef program;
  int column = -1;  // >= 0: a plain column load (plus a widening cast to `type`)
  VType type = VType::i64;
};

template <class T, class Out>
void gather_words(const void* data, const std::uint32_t* sel, std::size_t n, Out convert,
                  std::uint64_t* out) {
  const T* c = static_cast<const T*>(data);
  for (std::size_t i = 0; i < n; ++i) out[i] = convert(c[sel[i]]);
}

/// Value words (to_word of the program's result type) of the selected rows.
void evaluate_words(const ValueSource& src, const Instr* code, const InputColumns& in,
                    const std::uint32_t* sel, std::size_t n, VectorStack& stack,
                    std::uint64_t* out) {
  if (src.column >= 0) {
    const void* data = in.data[src.column];
    const ColumnType ct = in.type[src.column];
    const VType from = value_type_of(ct);
    if (src.type == VType::f64) {
      switch (from) {
        case VType::f32:
          return gather_words<float>(
              data, sel, n, [](float v) { return to_word(static_cast<double>(v)); }, out);
        case VType::i32:
          return gather_words<std::int32_t>(
              data, sel, n, [](std::int32_t v) { return to_word(static_cast<double>(v)); }, out);
        case VType::u32:
          return gather_words<std::uint32_t>(
              data, sel, n, [](std::uint32_t v) { return to_word(static_cast<double>(v)); }, out);
        case VType::f64:
          return gather_words<std::uint64_t>(
              data, sel, n, [](std::uint64_t v) { return v; }, out);
        case VType::boolean:
          break;
        default:
          return gather_words<std::int64_t>(
              data, sel, n, [](std::int64_t v) { return to_word(static_cast<double>(v)); }, out);
      }
    } else {
      switch (from) {
        case VType::i32:
          return gather_words<std::int32_t>(
              data, sel, n, [](std::int32_t v) { return to_word(v); }, out);
        case VType::u32:
          return gather_words<std::uint32_t>(
              data, sel, n, [](std::uint32_t v) { return to_word(v); }, out);
        case VType::f32:
          if (src.type != VType::f32) break;
          return gather_words<float>(
              data, sel, n, [](float v) { return to_word(v); }, out);
        case VType::boolean:
          return gather_words<std::uint8_t>(
              data, sel, n, [](std::uint8_t v) { return std::uint64_t{v != 0 ? 1u : 0u}; }, out);
        default:
          return gather_words<std::uint64_t>(
              data, sel, n, [](std::uint64_t v) { return v; }, out);
      }
    }
  }
  const ValueVector& v = run_program_vector(code, src.program, in, 0, sel, n, stack);
  vector_to_words(v, src.program.result, n, out);
}

/// acc[group[i] * width] = combine(acc, in[i]) for i < n, one loop per state kind; `in` null:
/// the input is 1 (counts).
template <StateOp kOp>
void update_rows(std::uint64_t* acc, int width, const std::uint32_t* group, std::size_t n,
                 const std::uint64_t* in) {
  const auto w = static_cast<std::size_t>(width);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t& a = acc[group[i] * w];
    const std::uint64_t v = in == nullptr ? kUnitInput : in[i];
    if constexpr (kOp == StateOp::sum_i64) {
      a += v;
    } else if constexpr (kOp == StateOp::sum_f64) {
      a = to_word(from_word<double>(a) + from_word<double>(v));
    } else {
      a = state_combine(kOp, a, v);
    }
  }
}

void update_state(StateOp op, std::uint64_t* acc, int width, const std::uint32_t* group,
                  std::size_t n, const std::uint64_t* in) {
  switch (op) {
    case StateOp::sum_i64:
      return update_rows<StateOp::sum_i64>(acc, width, group, n, in);
    case StateOp::sum_f64:
      return update_rows<StateOp::sum_f64>(acc, width, group, n, in);
    case StateOp::min_i64:
      return update_rows<StateOp::min_i64>(acc, width, group, n, in);
    case StateOp::min_f64:
      return update_rows<StateOp::min_f64>(acc, width, group, n, in);
    case StateOp::max_i64:
      return update_rows<StateOp::max_i64>(acc, width, group, n, in);
    case StateOp::max_f64:
      return update_rows<StateOp::max_f64>(acc, width, group, n, in);
    case StateOp::first_time:
    case StateOp::last_time:
    case StateOp::pair_value:
    case StateOp::pair_lock:
    case StateOp::wide_sum_low:
    case StateOp::wide_sum_high:
      return;  // pairs: update_pair; wide sums: update_wide
  }
}

/// The 128-bit sum at acc[group[i] * width] (low, then high word) plus values[i] (i64) for i < n.
void update_wide(std::uint64_t* acc, int width, const std::uint32_t* group, std::size_t n,
                 const std::uint64_t* values) {
  const auto w = static_cast<std::size_t>(width);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t* a = acc + group[i] * w;
    wide_add(a[0], a[1], values[i], wide_high_of(values[i]));
  }
}

/// The pair state at acc[group[i] * width] (time, then value) combined with (times[i], values[i])
/// for i < n: first/last by event time.
void update_pair(StateOp op, std::uint64_t* acc, int width, const std::uint32_t* group,
                 std::size_t n, const std::uint64_t* times, const std::uint64_t* values) {
  const auto w = static_cast<std::size_t>(width);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t* a = acc + group[i] * w;
    if (pair_wins(op, times[i], values[i], a[0], a[1])) {
      a[0] = times[i];
      a[1] = values[i];
    }
  }
}

ValueSource source_of(const Instr* code, ProgramRef p) {
  ValueSource s;
  s.program = p;
  int column = -1;
  VType type = p.result;
  if (plain_column(code, p, column, type)) {
    s.column = column;
    s.type = type;
  }
  return s;
}

}  // namespace

/// How each program of the spec is evaluated: typed column tests and plain column loads skip
/// the interpreter.
struct HostProgramAnalysis {
  ColumnTest tests[kMaxInputPrograms];
  bool is_test[kMaxInputPrograms] = {};
  ValueSource time;
  ValueSource keys[kMaxKeyWords];
  ValueSource inputs[kMaxInputPrograms];
  /// The common shape, folded row by row straight from the columns (no gathered vectors): an
  /// i64 time column, one integer key column, at most one input, a plain column.
  enum class RowKey : std::uint8_t { none, u32, i32, i64 };
  enum class RowInput : std::uint8_t { none, f32_as_f64, f64, i32_as_i64, i64 };
  int leading_tests = 0;  ///< conjuncts [0, leading_tests) are all column tests
  RowKey row_key = RowKey::none;
  RowInput row_input = RowInput::none;
  bool row_path = false;
};

/// Rows per unit of work shared out among the threads.
constexpr std::size_t kChunkRows = 16384;

/// One thread's table and scratch. The table holds at most `capacity` groups (it starts small
/// and doubles up to `max_groups` while its live groups fill it); rows are [pane, cut, key
/// words, states].
struct HostThreadAggregation {
  HostThreadAggregation(std::size_t max_table_groups, int width, int partitions)
      : width(width), max_groups(max_table_groups), lists(static_cast<std::size_t>(partitions)) {
    capacity = std::min<std::size_t>(kFirstTableGroups, max_groups);
    slots.assign(table_capacity_for(max_groups, 0.5), kEmptySlot);
    rows.resize((max_groups + 1) * static_cast<std::size_t>(width));  // + a scratch row
  }
  static constexpr std::size_t kFirstTableGroups = 1024;
  int width;
  std::size_t max_groups;
  std::size_t capacity;
  std::vector<std::uint64_t> slots;
  std::vector<std::uint64_t> rows;
  std::size_t groups = 0;
  std::int64_t newest_pane = INT64_MIN;  // the largest pane folded since the table was empty
  std::vector<WordList> lists;           // per partition
  std::int64_t first_pane = INT64_MAX;
  std::int64_t last_pane = INT64_MIN;
  std::vector<std::uint32_t> late;
  std::size_t kept = 0;
  VectorStack stack;
  std::uint32_t sel[kVectorRows];
  std::uint8_t mask[kVectorRows];
  std::int64_t time[kVectorRows];
  std::uint32_t group[kVectorRows];
  std::vector<std::uint64_t> keys;    // [key_words][kVectorRows]
  std::vector<std::uint64_t> inputs;  // [inputs][kVectorRows]
  // One key word below kCachedKeys (a dictionary code, a small integer): the groups its two
  // latest panes went to. Events close in time mostly fall in one of their key's latest two
  // panes (two: around a pane's end, out-of-order events alternate between it and the next),
  // so most skip the hash table. Entries of an older `generation` (before the table last moved
  // its groups) are void.
  struct CachedGroup {
    std::int64_t pane = 0;
    std::uint32_t group = 0;
    std::uint32_t generation = 0;
  };
  struct CachedKey {
    CachedGroup recent[2];
    /// @brief The cached group of `pane`, if any (the hit becomes the most recent).
    bool find(std::int64_t pane, std::uint32_t gen, std::uint32_t& group) {
      if (recent[0].pane == pane && recent[0].generation == gen) {
        group = recent[0].group;
        return true;
      }
      if (recent[1].pane == pane && recent[1].generation == gen) {
        group = recent[1].group;
        std::swap(recent[0], recent[1]);
        return true;
      }
      return false;
    }
    void put(std::int64_t pane, std::uint32_t group, std::uint32_t gen) {
      recent[1] = recent[0];
      recent[0] = {pane, group, gen};
    }
  };
  static constexpr std::uint64_t kCachedKeys = 4096;
  std::vector<CachedKey> cache;
  std::uint32_t generation = 1;
  bool use_cache = true;
  std::size_t cache_hits = 0;
  std::size_t cache_tries = 0;
  std::size_t batches_without_cache = 0;
  SliceTimes slice_times;  // of the rows this thread folded in the current batch

  OpenAddressingRef<> index() {
    return OpenAddressingRef<>{slots.data(), table_capacity_for(capacity, 0.5) - 1};
  }
};

HostAggregator::HostAggregator(const AggregationSpec& spec, ProgramSetView programs,
                               const std::vector<ColumnType>& input_types, int partitions,
                               std::size_t table_groups, int time_column)
    : spec_(spec),
      programs_(programs),
      partitions_(partitions),
      table_groups_(std::max(table_groups, kVectorRows)),
      row_words_(3 + spec.key_words + spec.states.count),
      time_column_(time_column),
      analysis_(std::make_unique<HostProgramAnalysis>()) {
  InputColumns types;
  types.count = static_cast<int>(std::min<std::size_t>(input_types.size(), kMaxInputColumns));
  for (int c = 0; c < types.count; ++c) {
    input_types_[c] = input_types[static_cast<std::size_t>(c)];
    types.type[c] = input_types_[c];
  }
  const Instr* code = programs.code;
  const ProgramRef* refs = programs.programs;
  HostProgramAnalysis& a = *analysis_;
  for (int c = 0; c < spec.conjuncts; ++c)
    a.is_test[c] = as_column_test(code, refs[spec.conjuncts_begin + c], types, a.tests[c]);
  while (a.leading_tests < spec.conjuncts && a.is_test[a.leading_tests]) ++a.leading_tests;
  if (spec.time_program >= 0) a.time = source_of(code, refs[spec.time_program]);
  for (int j = 0; j < spec.key_words; ++j) a.keys[j] = source_of(code, refs[spec.keys_begin + j]);
  for (int j = 0; j < spec.inputs; ++j) a.inputs[j] = source_of(code, refs[spec.inputs_begin + j]);
  // The row path: plain columns of the common types.
  using RowKey = HostProgramAnalysis::RowKey;
  using RowInput = HostProgramAnalysis::RowInput;
  const auto column_type = [&](int column) { return input_types_[column]; };
  const bool time_ok = spec.time_program >= 0 && a.time.column >= 0 && a.time.type == VType::i64 &&
                       (column_type(a.time.column) == ColumnType::i64 ||
                        column_type(a.time.column) == ColumnType::timestamp);
  if (time_ok && spec.key_words == 1 && a.keys[0].column >= 0) {
    switch (column_type(a.keys[0].column)) {
      case ColumnType::u32:
      case ColumnType::string:
        if (a.keys[0].type == VType::u32) a.row_key = RowKey::u32;
        break;
      case ColumnType::i32:
        if (a.keys[0].type == VType::i32 || a.keys[0].type == VType::i64) a.row_key = RowKey::i32;
        break;
      case ColumnType::i64:
        if (a.keys[0].type == VType::i64) a.row_key = RowKey::i64;
        break;
      default:
        break;
    }
  }
  if (spec.inputs == 1 && a.inputs[0].column >= 0) {
    const ColumnType ct = column_type(a.inputs[0].column);
    const VType result = a.inputs[0].type;
    if (result == VType::f64 && ct == ColumnType::f32)
      a.row_input = RowInput::f32_as_f64;
    else if (result == VType::f64 && ct == ColumnType::f64)
      a.row_input = RowInput::f64;
    else if (result == VType::i64 && ct == ColumnType::i32)
      a.row_input = RowInput::i32_as_i64;
    else if (result == VType::i64 && ct == ColumnType::i64)
      a.row_input = RowInput::i64;
  }
  a.row_path = a.row_key != RowKey::none && (spec.inputs == 0 || a.row_input != RowInput::none);
}

HostAggregator::~HostAggregator() = default;

bool HostAggregator::row_path() const noexcept { return analysis_->row_path; }

namespace {

/// Moves a thread's groups of panes before `keep_from` to its per-partition lists and keeps
/// the others (a stream in time order keeps adding to its newest panes only). When the kept
/// groups still fill half the table, the table doubles (up to its largest size).
void flush(HostThreadAggregation& t, const AggregationSpec& spec, int partitions,
           std::int64_t keep_from) {
  const int k = spec.key_words;
  const int s_count = spec.states.count;
  const int local_width = 2 + k + s_count;
  std::size_t kept = 0;
  for (std::size_t g = 0; g < t.groups; ++g) {
    std::uint64_t* r = t.rows.data() + g * static_cast<std::size_t>(local_width);
    const auto pane = static_cast<std::int64_t>(r[0]);
    if (pane >= keep_from) {
      // Rows are a few words: copied word by word (a library call per row costs more).
      if (kept != g) {
        std::uint64_t* to = t.rows.data() + kept * static_cast<std::size_t>(local_width);
        for (int x = 0; x < local_width; ++x) to[x] = r[x];
      }
      ++kept;
      continue;
    }
    const std::uint64_t key_hash = spec.hasher(r + 2, 1, k, 0);
    std::uint64_t* to =
        t.lists[static_cast<std::size_t>(state_partition(key_hash, partitions))].append(
            1 + static_cast<std::size_t>(local_width));
    to[0] = key_hash;
    for (int x = 0; x < local_width; ++x) to[1 + x] = r[x];
    t.first_pane = std::min(t.first_pane, pane);
    t.last_pane = std::max(t.last_pane, pane);
  }
  std::fill(t.slots.begin(), t.slots.begin() + static_cast<std::ptrdiff_t>(t.index().capacity()),
            kEmptySlot);
  t.groups = kept;
  ++t.generation;  // the kept groups move: cached group numbers are void
  if (kept * 2 > t.capacity && t.capacity < t.max_groups) t.capacity *= 2;
  if (kept == 0) {
    t.newest_pane = INT64_MIN;
    return;
  }
  const OpenAddressingRef<> index = t.index();
  for (std::size_t g = 0; g < kept; ++g) {
    const std::uint64_t* r = t.rows.data() + g * static_cast<std::size_t>(local_width);
    index.insert_local(
        local_hash(r + 2, k, static_cast<std::int64_t>(r[0]), static_cast<std::uint32_t>(r[1])),
        static_cast<std::uint32_t>(g));
  }
}

/// Flushes the thread's table until `m` more groups fit: the panes before the newest first, all
/// of them when even those keep it full.
void make_room(HostThreadAggregation& t, const AggregationSpec& spec, int partitions,
               std::size_t m) {
  while (t.groups + m > t.capacity) {
    const std::size_t before = t.groups;
    flush(t, spec, partitions, t.newest_pane);
    if (t.groups + m > t.capacity && t.groups == before) flush(t, spec, partitions, INT64_MAX);
  }
}

/// The group of (key, pane, cut) in the thread's table, claimed and initialized when new;
/// through the thread's group cache where it applies.
/// @pre The table has room for one more group.
inline std::uint32_t group_of(HostThreadAggregation& t, const OpenAddressingRef<>& index,
                              const AggregationSpec& spec, int local_width,
                              const std::uint64_t* key, std::int64_t pane, std::uint32_t cut,
                              bool cacheable) {
  const int k_words = spec.key_words;
  std::uint64_t* rows_base = t.rows.data();
  if (pane > t.newest_pane) t.newest_pane = pane;
  HostThreadAggregation::CachedKey* cached = nullptr;
  if (cacheable && cut == 0 && key[0] < HostThreadAggregation::kCachedKeys) {
    cached = &t.cache[key[0]];
    ++t.cache_tries;
    std::uint32_t g;
    if (cached->find(pane, t.generation, g)) {
      ++t.cache_hits;
      return g;
    }
  }
  const std::uint64_t h = local_hash(key, k_words, pane, cut);
  const ClaimResult found =
      index.find_or_insert_local(h, static_cast<std::uint32_t>(t.groups), [&](std::uint32_t g) {
        const std::uint64_t* r = rows_base + static_cast<std::size_t>(g) * local_width;
        if (static_cast<std::int64_t>(r[0]) != pane || r[1] != cut) return false;
        for (int j = 0; j < k_words; ++j)
          if (r[2 + j] != key[j]) return false;
        return true;
      });
  if (cached != nullptr) cached->put(pane, found.payload, t.generation);
  if (found.claimed) {
    std::uint64_t* r = rows_base + static_cast<std::size_t>(found.payload) * local_width;
    ++t.groups;
    r[0] = static_cast<std::uint64_t>(pane);
    r[1] = cut;
    for (int j = 0; j < k_words; ++j) r[2 + j] = key[j];
    for (int s = 0; s < spec.states.count; ++s) r[2 + k_words + s] = state_init(spec.states.ops[s]);
  }
  return found.payload;
}

/// Folds the selected rows of one block straight from their columns (the row path of
/// HostProgramAnalysis): time, pane, cut, key, group and input row by row, then one tight loop
/// per state over the block (no dispatch on the state kind per row). The table's fields live in
/// locals for the block: state words are uint64_t like the table's counters, so the compiler
/// could not otherwise keep them in registers across the writes. Its group lookup is group_of
/// for one key word, written out: group_of made a shared inline helper (tried twice, with the
/// lookup's fields in a struct) folded 6 % fewer events per second on one thread.
/// @pre The table has room for m more groups.
/// kCached: whether the thread's group cache is in use for this batch.
template <class Key, class In, bool kFloatInput, bool kCached>
void fold_rows(HostThreadAggregation& t, const AggregationSpec& spec,
               const BatchWindowing& windowing, const std::int64_t* time, const Key* keys,
               const In* input, const std::uint32_t* sel, std::size_t m, std::size_t slice_first) {
  constexpr int kWidth = 3;  // pane, cut, key before the states
  const int s_count = spec.states.count;
  const int local_width = kWidth + s_count;
  const OpenAddressingRef<> index = t.index();
  std::uint64_t* const rows_base = t.rows.data();
  HostThreadAggregation::CachedKey* const cache = t.cache.data();
  const std::uint32_t generation = t.generation;
  const PaneSpec panes = spec.panes;
  StateOp ops[kMaxStates];
  bool unit[kMaxStates];
  for (int s = 0; s < s_count; ++s) {
    ops[s] = spec.states.ops[s];
    unit[s] = spec.states.inputs[s] < 0;
  }
  std::size_t groups = t.groups;
  std::int64_t newest = t.newest_pane;
  std::size_t tries = 0, hits = 0;
  std::uint32_t* const group = t.group;
  std::uint64_t* const values = t.inputs.data();
  std::size_t unrepresentable = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint32_t row = sel[i];
    if (!panes.time_representable(time[row])) {  // dropped, not kept (the engine counts it)
      ++unrepresentable;
      group[i] = static_cast<std::uint32_t>(t.max_groups);
      continue;
    }
    const std::int64_t pane = panes.pane_of(time[row]);
    const std::uint32_t cut = event_cut(panes, windowing, pane);
    if (cut == kLateCut) {
      t.late.push_back(static_cast<std::uint32_t>(slice_first + row));
      group[i] = static_cast<std::uint32_t>(t.max_groups);  // the scratch row
      continue;
    }
    const std::uint64_t key = to_word(keys[row]);
    std::uint32_t g;
    HostThreadAggregation::CachedKey* cached = nullptr;
    if (kCached && cut == 0 && key < HostThreadAggregation::kCachedKeys) {
      cached = cache + key;
      ++tries;
    }
    if (cached != nullptr && cached->find(pane, generation, g)) {
      ++hits;
    } else {
      const ClaimResult found = index.find_or_insert_local(
          local_hash(&key, 1, pane, cut), static_cast<std::uint32_t>(groups),
          [&](std::uint32_t id) {
            const std::uint64_t* r = rows_base + static_cast<std::size_t>(id) * local_width;
            return static_cast<std::int64_t>(r[0]) == pane && r[1] == cut && r[2] == key;
          });
      g = found.payload;
      if (cached != nullptr) cached->put(pane, g, generation);
      if (found.claimed) {
        std::uint64_t* r = rows_base + static_cast<std::size_t>(g) * local_width;
        ++groups;
        // Only a new group can have a pane beyond the newest: every group's pane was folded.
        newest = pane > newest ? pane : newest;
        r[0] = static_cast<std::uint64_t>(pane);
        r[1] = cut;
        r[2] = key;
        for (int s = 0; s < s_count; ++s) r[kWidth + s] = state_init(ops[s]);
      }
    }
    group[i] = g;
    if constexpr (!std::is_same_v<In, std::nullptr_t>) {
      if constexpr (kFloatInput)
        values[i] = to_word(static_cast<double>(input[row]));
      else
        values[i] = to_word(static_cast<std::int64_t>(input[row]));
    }
  }
  // One tight loop per state over the block's groups (a pair's only input, when it takes this
  // path, is the event time itself: first(ts), last(ts)).
  for (int s = 0; s < s_count; ++s) {
    if constexpr (!std::is_same_v<In, std::nullptr_t>) {
      if (state_is_pair(ops[s])) {
        update_pair(ops[s], rows_base + kWidth + s, local_width, group, m, values, values);
        s += kPairWords - 1;
        continue;
      }
      if (state_is_wide(ops[s])) {
        update_wide(rows_base + kWidth + s, local_width, group, m, values);
        s += kWideWords - 1;
        continue;
      }
    }
    update_state(ops[s], rows_base + kWidth + s, local_width, group, m,
                 unit[s] || std::is_same_v<In, std::nullptr_t> ? nullptr : values);
  }
  t.kept -= unrepresentable;
  t.groups = groups;
  t.newest_pane = newest;
  t.cache_tries += tries;
  t.cache_hits += hits;
}

/// fold_rows for the column types the analysis found.
void fold_block_rows(HostThreadAggregation& t, const AggregationSpec& spec,
                     const HostProgramAnalysis& a, const InputColumns& in,
                     const BatchWindowing& windowing, std::size_t m, std::size_t slice_first,
                     bool cacheable) {
  using RowKey = HostProgramAnalysis::RowKey;
  using RowInput = HostProgramAnalysis::RowInput;
  const auto* time = static_cast<const std::int64_t*>(in.data[a.time.column]);
  const void* key = in.data[a.keys[0].column];
  const void* input = a.row_input == RowInput::none ? nullptr : in.data[a.inputs[0].column];
  const auto with_key = [&](const auto* keys) {
    using Key = std::remove_cv_t<std::remove_pointer_t<decltype(keys)>>;
    const auto fold = [&]<class In, bool kFloatInput>(const In* values) {
      if (cacheable)
        fold_rows<Key, In, kFloatInput, true>(t, spec, windowing, time, keys, values, t.sel, m,
                                              slice_first);
      else
        fold_rows<Key, In, kFloatInput, false>(t, spec, windowing, time, keys, values, t.sel, m,
                                               slice_first);
    };
    switch (a.row_input) {
      case RowInput::none:
        return fold.template operator()<std::nullptr_t, false>(nullptr);
      case RowInput::f32_as_f64:
        return fold.template operator()<float, true>(static_cast<const float*>(input));
      case RowInput::f64:
        return fold.template operator()<double, true>(static_cast<const double*>(input));
      case RowInput::i32_as_i64:
        return fold.template operator()<std::int32_t, false>(
            static_cast<const std::int32_t*>(input));
      case RowInput::i64:
        return fold.template operator()<std::int64_t, false>(
            static_cast<const std::int64_t*>(input));
    }
  };
  switch (a.row_key) {
    case RowKey::u32:
      return with_key(static_cast<const std::uint32_t*>(key));
    case RowKey::i32:
      return with_key(static_cast<const std::int32_t*>(key));
    case RowKey::i64:
      return with_key(static_cast<const std::int64_t*>(key));
    case RowKey::none:
      return;
  }
}

}  // namespace

std::size_t HostAggregator::add_batch(const BatchView& batch, std::int64_t wm_before,
                                      std::vector<std::uint32_t>& late_rows) {
  const int team = std::max(1, omp_get_max_threads());
  const int k_words = spec_.key_words;
  const int s_count = spec_.states.count;
  const int local_width = 2 + k_words + s_count;
  while (threads_.size() < static_cast<std::size_t>(team))
    threads_.push_back(
        std::make_unique<HostThreadAggregation>(table_groups_, local_width, partitions_));
  const BatchWindowing windowing = batch_windowing(spec_.panes, wm_before);
  const std::size_t n = batch.rows;
  slice_times_.clear();
  if (n == 0) return 0;
  if (time_column_ >= 0) require_measurable(batch);
  const ColumnType time_type = time_column_ >= 0 ? input_types_[time_column_] : ColumnType::i64;

  const Instr* code = programs_.code;
  const ProgramRef* programs = programs_.programs;
  const HostProgramAnalysis& a = *analysis_;

  // Run by each thread of the team when there is more than one chunk to share, or by the
  // calling thread alone (HostExec::team_helps says why not a region of one thread).
  const int used = n > kChunkRows && HostExec::team_helps(static_cast<std::int64_t>(n)) ? team : 1;
  std::atomic<std::int64_t> next_chunk{0};  // chunks are taken in turn, not by an omp for
  const auto fold_share = [&] {
    const int tid = omp_get_thread_num();
    HostThreadAggregation& t = *threads_[static_cast<std::size_t>(tid)];
    t.late.clear();
    t.late.reserve(n);
    t.kept = 0;
    t.keys.resize(static_cast<std::size_t>(k_words) * kVectorRows);
    t.inputs.resize(static_cast<std::size_t>(spec_.inputs) * kVectorRows);
    // The group cache pays where most events find their key's group there: decided per batch
    // from the last batch this thread folded with it (tried again now and then).
    if (k_words == 1 && t.cache.empty()) t.cache.resize(HostThreadAggregation::kCachedKeys);
    if (t.cache_tries > 0)
      t.use_cache = 2 * t.cache_hits >= t.cache_tries;
    else if (++t.batches_without_cache % 16 == 0)
      t.use_cache = true;
    t.cache_hits = 0;
    t.cache_tries = 0;
    t.slice_times.clear();
    const bool cacheable = k_words == 1 && t.use_cache;
    // Chunks of rows go to whichever thread is free (a thread that loses its core for a while
    // does not hold the others back).
    const auto chunks = static_cast<std::int64_t>((n + kChunkRows - 1) / kChunkRows);
    for (std::int64_t chunk = next_chunk.fetch_add(1, std::memory_order_relaxed); chunk < chunks;
         chunk = next_chunk.fetch_add(1, std::memory_order_relaxed)) {
      const std::size_t begin = static_cast<std::size_t>(chunk) * kChunkRows;
      const std::size_t end = std::min(n, begin + kChunkRows);
      std::size_t slice_first = 0;  // logical row of the current slice's row 0
      for (int sl = 0; sl < batch.num_slices; ++sl) {
        const ColumnSlice& slice = batch.slices[sl];
        const std::size_t s_begin = std::max(begin, slice_first);
        const std::size_t s_end = std::min(end, slice_first + slice.rows);
        if (s_begin < s_end) {
          InputColumns in;
          in.lookups = host_lookups(batch);
          in.count = kMaxInputColumns;
          for (int c = 0; c < kMaxInputColumns; ++c) {
            in.data[c] = slice.columns[c];
            in.type[c] = input_types_[c];
          }
          const std::size_t s_rows_end = s_end - slice_first;
          // The watermark's input, the time range of all rows of a block, is measured once the
          // block is folded: the fold has brought their time values into the cache (it reads
          // those of the rows that pass, and few lines of them hold none).
          const auto measure_times = [&](std::size_t first) {
            if (time_column_ >= 0)
              widen_time_range(in.data[time_column_], time_type, first,
                               std::min(kVectorRows, s_rows_end - first), t.slice_times.min[sl],
                               t.slice_times.max[sl]);
          };
          for (std::size_t first = s_begin - slice_first; first < s_rows_end;
               measure_times(first), first += kVectorRows) {
            const std::size_t rows = std::min(kVectorRows, s_rows_end - first);
            // Filter: column tests first, each a dense mask pass, compacted once; other
            // conjuncts then refine the selection.
            std::size_t m = rows;
            bool dense = true;
            if (a.leading_tests > 0) {
              for (int c = 0; c < a.leading_tests; ++c) {
                const ColumnTest& test = a.tests[c];
                visit_type(test.type,
                           MaskByTest{in.data[test.column], test, t.mask, rows, first, c == 0});
              }
              std::size_t kept = 0;
              for (std::size_t i = 0; i < rows; ++i) {
                t.sel[kept] = static_cast<std::uint32_t>(first + i);
                kept += t.mask[i];
              }
              m = kept;
              dense = false;
            }
            for (int c = a.leading_tests; c < spec_.conjuncts && m > 0; ++c) {
              if (a.is_test[c]) {
                const ColumnTest& test = a.tests[c];
                m = visit_type(test.type,
                               RefineByTest{in.data[test.column], test, t.sel, m, dense, first});
              } else {
                if (dense)
                  for (std::size_t i = 0; i < rows; ++i)
                    t.sel[i] = static_cast<std::uint32_t>(first + i);
                const ValueVector& v = run_program_vector(code, programs[spec_.conjuncts_begin + c],
                                                          in, 0, t.sel, m, t.stack);
                const std::uint8_t* keep = v.as<std::uint8_t>();
                std::size_t kept = 0;
                for (std::size_t i = 0; i < m; ++i) {
                  t.sel[kept] = t.sel[i];
                  kept += keep[i] != 0 ? 1 : 0;
                }
                m = kept;
              }
              dense = false;
            }
            if (dense)
              for (std::size_t i = 0; i < rows; ++i)
                t.sel[i] = static_cast<std::uint32_t>(first + i);
            if (m == 0) continue;
            t.kept += m;
            // A block adds at most m groups: the table makes room before it, never inside.
            make_room(t, spec_, partitions_, m);
            if (a.row_path) {
              fold_block_rows(t, spec_, a, in, windowing, m, slice_first, cacheable);
              continue;
            }
            // Event time, keys and inputs of the selected rows.
            if (spec_.time_program >= 0) {
              evaluate_words(a.time, code, in, t.sel, m, t.stack,
                             reinterpret_cast<std::uint64_t*>(t.time));
            } else {
              std::fill(t.time, t.time + m, 0);
            }
            for (int j = 0; j < k_words; ++j) {
              std::uint64_t* out = t.keys.data() + static_cast<std::size_t>(j) * kVectorRows;
              evaluate_words(a.keys[j], code, in, t.sel, m, t.stack, out);
              const VType kt = programs[spec_.keys_begin + j].result;
              if (kt == VType::f32 || kt == VType::f64)
                for (std::size_t i = 0; i < m; ++i) out[i] = key_word_of(out[i], kt);
            }
            for (int j = 0; j < spec_.inputs; ++j)
              evaluate_words(a.inputs[j], code, in, t.sel, m, t.stack,
                             t.inputs.data() + static_cast<std::size_t>(j) * kVectorRows);
            // Fold the selected events into the thread's table: first each event's group, then
            // one typed loop per state.
            const OpenAddressingRef<> index = t.index();
            std::uint32_t* group = t.group;
            std::uint64_t* rows_base = t.rows.data();
            std::uint64_t key[kMaxKeyWords];
            for (std::size_t i = 0; i < m; ++i) {
              if (!spec_.panes.time_representable(t.time[i])) {  // dropped, not kept
                --t.kept;
                group[i] = static_cast<std::uint32_t>(t.max_groups);
                continue;
              }
              const std::int64_t pane = spec_.panes.pane_of(t.time[i]);
              const std::uint32_t cut = event_cut(spec_.panes, windowing, pane);
              if (cut == kLateCut) {
                t.late.push_back(static_cast<std::uint32_t>(slice_first + t.sel[i]));
                group[i] = static_cast<std::uint32_t>(t.max_groups);  // the scratch row
                continue;
              }
              for (int j = 0; j < k_words; ++j)
                key[j] = t.keys[static_cast<std::size_t>(j) * kVectorRows + i];
              group[i] = group_of(t, index, spec_, local_width, key, pane, cut, cacheable);
            }
            const auto input_words = [&](int s) -> const std::uint64_t* {
              const int input = spec_.states.inputs[s];
              return input < 0 ? nullptr
                               : t.inputs.data() + static_cast<std::size_t>(input) * kVectorRows;
            };
            for (int s = 0; s < s_count; ++s) {
              const StateOp op = spec_.states.ops[s];
              if (state_is_pair(op)) {
                update_pair(op, rows_base + 2 + k_words + s, local_width, group, m, input_words(s),
                            input_words(s + 1));
                s += kPairWords - 1;
                continue;
              }
              if (state_is_wide(op)) {
                update_wide(rows_base + 2 + k_words + s, local_width, group, m, input_words(s));
                s += kWideWords - 1;
                continue;
              }
              update_state(op, rows_base + 2 + k_words + s, local_width, group, m, input_words(s));
            }
          }
        }
        slice_first += slice.rows;
      }
    }
    flush(t, spec_, partitions_, INT64_MAX);
  };
  // The threads that ran: the runtime may start fewer than asked (OMP_DYNAMIC, limits), and
  // the tables of those that did not hold an earlier batch's counts.
  int ran = 1;
  if (used > 1) {
#pragma omp parallel
    {
      if (omp_get_thread_num() == 0) ran = omp_get_num_threads();
      fold_share();
    }
  } else {
    fold_share();
  }
  // Tables are empty now. Whichever thread takes the next chunks starts from the largest table
  // any thread has grown to, so that how often a table flushes (and how many rows it lists)
  // does not depend on which threads happened to do the work so far.
  std::size_t widest = 0;
  for (const auto& t : threads_) widest = std::max(widest, t->capacity);
  for (const auto& t : threads_) t->capacity = widest;
  std::size_t kept = 0;
  const std::size_t late_first = late_rows.size();
  int late_threads = 0;
  for (int tid = 0; tid < ran; ++tid) {
    const HostThreadAggregation& t = *threads_[static_cast<std::size_t>(tid)];
    for (int sl = 0; time_column_ >= 0 && sl < batch.num_slices; ++sl) {
      slice_times_.min[sl] = std::min(slice_times_.min[sl], t.slice_times.min[sl]);
      slice_times_.max[sl] = std::max(slice_times_.max[sl], t.slice_times.max[sl]);
    }
    kept += t.kept;
    late_threads += t.late.empty() ? 0 : 1;
    late_rows.insert(late_rows.end(), t.late.begin(), t.late.end());
  }
  // Chunks were shared out dynamically: late rows of several threads interleave.
  if (late_threads > 1)
    std::sort(late_rows.begin() + static_cast<std::ptrdiff_t>(late_first), late_rows.end());
  return kept;
}

GroupRowLists HostAggregator::lists() {
  GroupRowLists l;
  l.partitions = partitions_;
  l.producers = static_cast<int>(threads_.size());
  list_data_.clear();
  list_rows_.clear();
  for (const auto& t : threads_) {
    for (int q = 0; q < partitions_; ++q) {
      const WordList& list = t->lists[static_cast<std::size_t>(q)];
      list_data_.push_back(list.data());
      list_rows_.push_back(list.size() / static_cast<std::size_t>(row_words_));
    }
    l.first_pane = std::min(l.first_pane, t->first_pane);
    l.last_pane = std::max(l.last_pane, t->last_pane);
  }
  l.data = list_data_.data();
  l.rows = list_rows_.data();
  return l;
}

void HostAggregator::clear() {
  // Chunks go to threads dynamically: any thread may take a whole round's rows of a partition
  // next time. Each keeps room for the most any round has had, and a quarter more for rounds
  // that list a few more groups, so that a warm aggregator does not grow.
  list_peak_.resize(static_cast<std::size_t>(partitions_), 0);
  for (int q = 0; q < partitions_; ++q) {
    std::size_t total = 0;
    for (const auto& t : threads_) total += t->lists[static_cast<std::size_t>(q)].size();
    list_peak_[static_cast<std::size_t>(q)] =
        std::max(list_peak_[static_cast<std::size_t>(q)], total);
  }
  for (const auto& t : threads_) {
    for (int q = 0; q < partitions_; ++q) {
      auto& list = t->lists[static_cast<std::size_t>(q)];
      list.clear();
      const std::size_t peak = list_peak_[static_cast<std::size_t>(q)];
      if (list.capacity() < peak) list.reserve(peak + peak / 4);
    }
    t->first_pane = INT64_MAX;
    t->last_pane = INT64_MIN;
  }
}

}  // namespace sluice::detail
