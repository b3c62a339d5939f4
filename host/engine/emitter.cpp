// Emitter: gathering fired rows per round, ordering them and writing the result columns.
#include "host/engine/emitter.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>

#include "host/api/batch_access.hpp"
#include "host/engine/micro_batch.hpp"
#include "kernels/host/vector_program.hpp"
#include "kernels/ops/aggregates.hpp"
#include "kernels/ops/key_word.hpp"
#include "sluice/status.hpp"
#include "sluice/value.hpp"

namespace sluice::detail {
namespace {

constexpr std::uint64_t kSign = std::uint64_t{1} << 63;

/// A word whose unsigned order is the order of the value it stands for.
std::uint64_t sortable(std::uint64_t w, Sem sem) {
  switch (sem) {
    case Sem::integer:
      return w ^ kSign;
    case Sem::floating:
      return (w & kSign) != 0 ? ~w : w | kSign;
    default:
      return w;
  }
}

/// Columns (the window and the keys) that order_fired_rows may pack into one sort word.
constexpr std::size_t kMaxOrderColumns = 9;

/// One stable LSD radix sort of (keys, idx) by the bytes where keys differ.
void radix_by(std::vector<std::uint64_t>& keys, std::vector<std::uint32_t>& idx,
              std::vector<std::uint64_t>& keys_tmp, std::vector<std::uint32_t>& idx_tmp) {
  const std::size_t n = keys.size();
  std::uint64_t all_or = 0, all_and = ~std::uint64_t{0};
  for (std::uint64_t k : keys) {
    all_or |= k;
    all_and &= k;
  }
  const std::uint64_t differ = all_or ^ all_and;
  keys_tmp.resize(n);
  idx_tmp.resize(n);
  for (int shift = 0; shift < 64; shift += 8) {
    if (((differ >> shift) & 0xff) == 0) continue;
    std::size_t count[257] = {};
    for (std::uint64_t k : keys) ++count[((k >> shift) & 0xff) + 1];
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = count[(keys[i] >> shift) & 0xff]++;
      keys_tmp[at] = keys[i];
      idx_tmp[at] = idx[i];
    }
    keys.swap(keys_tmp);
    idx.swap(idx_tmp);
  }
}

/// Writes a key word as a value of the key column's type.
void store_key(std::byte* cell, TypeId id, std::uint64_t w) {
  switch (id) {
    case TypeId::i32: {
      const auto v = static_cast<std::int32_t>(static_cast<std::int64_t>(w));
      std::memcpy(cell, &v, 4);
      return;
    }
    case TypeId::u32:
    case TypeId::string: {
      const auto v = static_cast<std::uint32_t>(w);
      std::memcpy(cell, &v, 4);
      return;
    }
    case TypeId::f32: {
      const auto v = static_cast<float>(bits_double(w));
      std::memcpy(cell, &v, 4);
      return;
    }
    case TypeId::boolean: {
      const auto v = static_cast<std::uint8_t>(w != 0);
      std::memcpy(cell, &v, 1);
      return;
    }
    default:
      std::memcpy(cell, &w, 8);
  }
}

}  // namespace

void order_fired_rows(const FiredView& rows, const std::vector<Sem>& key_sems,
                      std::vector<std::uint32_t>& order, OrderScratch& scratch) {
  const std::size_t n = rows.size;
  order.resize(n);
  std::iota(order.begin(), order.end(), 0u);
  if (n <= 1) return;
  const std::size_t k = key_sems.size();
  if (n < 64) {  // insertion sort: stable, and allocates nothing
    const auto less = [&](std::uint32_t a, std::uint32_t b) {
      if (rows.window[a] != rows.window[b]) return rows.window[a] < rows.window[b];
      for (std::size_t j = 0; j < k; ++j) {
        const std::uint64_t x = sortable(rows.keys[j * rows.stride + a], key_sems[j]);
        const std::uint64_t y = sortable(rows.keys[j * rows.stride + b], key_sems[j]);
        if (x != y) return x < y;
      }
      return false;
    };
    for (std::size_t i = 1; i < n; ++i) {
      const std::uint32_t v = order[i];
      std::size_t j = i;
      for (; j > 0 && less(v, order[j - 1]); --j) order[j] = order[j - 1];
      order[j] = v;
    }
    return;
  }
  // The sortable value of column c (0: the window, then the keys) of row r.
  const auto value = [&](std::size_t c, std::uint32_t r) {
    return c == 0 ? static_cast<std::uint64_t>(rows.window[r]) ^ kSign
                  : sortable(rows.keys[(c - 1) * rows.stride + r], key_sems[c - 1]);
  };
  std::vector<std::uint64_t>& keys = scratch.keys;
  keys.resize(n);
  // When the columns' ranges fit one word side by side (a round's windows are few and codes
  // small), one radix sort over that word orders by all of them.
  std::uint64_t low[kMaxOrderColumns], span_bits[kMaxOrderColumns];
  int total_bits = 0;
  if (k + 1 <= kMaxOrderColumns) {
    for (std::size_t c = 0; c <= k; ++c) {
      std::uint64_t lo = ~std::uint64_t{0}, hi = 0;
      for (std::size_t r = 0; r < n; ++r) {
        const std::uint64_t v = value(c, static_cast<std::uint32_t>(r));
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
      low[c] = lo;
      const std::uint64_t range = hi - lo;
      span_bits[c] = range == 0 ? 0 : 64 - static_cast<std::uint64_t>(__builtin_clzll(range));
      total_bits += static_cast<int>(span_bits[c]);
    }
  }
  if (k + 1 <= kMaxOrderColumns && total_bits <= 64) {
    for (std::size_t r = 0; r < n; ++r) {
      std::uint64_t key = 0;
      for (std::size_t c = 0; c <= k; ++c) {
        if (span_bits[c] == 0) continue;
        key = (key << span_bits[c]) | (value(c, static_cast<std::uint32_t>(r)) - low[c]);
      }
      keys[r] = key;
    }
    radix_by(keys, order, scratch.keys_tmp, scratch.order_tmp);
    return;
  }
  // Least significant column first: the last key, ..., the first key, then the window.
  for (std::size_t c = k + 1; c-- > 0;) {
    for (std::size_t i = 0; i < n; ++i) keys[i] = value(c, order[i]);
    radix_by(keys, order, scratch.keys_tmp, scratch.order_tmp);
  }
}

Emitter::Emitter(const CompiledQuery& query, const Schema& read_schema, DictionaryPtr dictionary,
                 int workers, bool ordered, EmitCounters& counters)
    : query_(query),
      read_schema_(read_schema),
      dictionary_(std::move(dictionary)),
      workers_(workers),
      ordered_(ordered),
      counters_(counters),
      gathered_(4) {
  for (const KeyColumn& k : query.keys) key_sems_.push_back(k.sem);
  if (query.windowed) {
    columns_.resize(query.result_schema.size());
    pointers_.resize(query.result_schema.size());
  } else {
    pointers_.assign(query.outputs.size(), nullptr);
  }
  late_columns_.resize(read_schema_.size());
  late_pointers_.assign(read_schema_.size(), nullptr);
  if (!query.having_code.empty()) having_stack_ = std::make_unique<VectorStack>();
  wrap_outputs();
}

std::size_t Emitter::keep_having(std::size_t n) {
  const Schema& schema = query_.result_schema;
  InputColumns in;
  in.count = static_cast<int>(query_.having_columns.size());
  for (int i = 0; i < in.count; ++i) {
    const std::size_t c = query_.having_columns[static_cast<std::size_t>(i)];
    in.data[i] = columns_[c].data();
    in.type[i] = column_type_of(schema.field(c).type.id);
  }
  const ProgramRef program{0, static_cast<std::uint16_t>(query_.having_code.size()),
                           VType::boolean};
  kept_.clear();
  for (std::size_t lo = 0; lo < n; lo += kVectorRows) {
    const std::size_t count = std::min(kVectorRows, n - lo);
    const ValueVector& v = run_program_vector(query_.having_code.data(), program, in, lo, nullptr,
                                              count, *having_stack_);
    const std::uint8_t* keep = v.as<std::uint8_t>();
    for (std::size_t i = 0; i < count; ++i)
      if (keep[i] != 0) kept_.push_back(static_cast<std::uint32_t>(lo + i));
  }
  if (kept_.size() == n) return n;
  // Compacted in place, in order: a kept row moves down to its rank among the kept.
  for (std::size_t c = 0; c < schema.size(); ++c) {
    const std::size_t w = type_width(schema.field(c).type.id);
    std::byte* data = columns_[c].data();
    for (std::size_t j = 0; j < kept_.size(); ++j)
      if (kept_[j] != j) std::memcpy(data + j * w, data + kept_[j] * w, w);
  }
  return kept_.size();
}

void Emitter::wrap_outputs() {
  const auto coded = [&](const DataType& type) {
    return type.id == TypeId::string ? dictionary_ : nullptr;
  };
  if (query_.windowed) {
    const Schema& schema = query_.result_schema;
    std::vector<DictionaryPtr> dicts;
    std::vector<const void*> none;
    for (std::size_t c = 0; c < schema.size(); ++c) {
      dicts.push_back(coded(schema.field(c).type));
      none.push_back(nullptr);
    }
    result_ = Batch::wrap(schema, none, 0, std::move(dicts));
  } else {
    std::vector<Field> fields;
    std::vector<DictionaryPtr> dicts;
    for (const auto& out : query_.outputs) {
      fields.push_back({out.name, out.type});
      dicts.push_back(coded(out.type));
    }
    std::vector<const void*> none(fields.size(), nullptr);
    result_ = Batch::wrap(Schema(std::move(fields)), none, 0, std::move(dicts));
  }
  std::vector<DictionaryPtr> late_dicts;
  for (std::size_t c = 0; c < read_schema_.size(); ++c)
    late_dicts.push_back(coded(read_schema_.field(c).type));
  std::vector<const void*> none(read_schema_.size(), nullptr);
  late_batch_ = Batch::wrap(read_schema_, none, 0, std::move(late_dicts));
}

void Emitter::set_dictionary(DictionaryPtr dictionary) {
  std::scoped_lock lock(mutex_, late_mutex_);
  dictionary_ = std::move(dictionary);
  wrap_outputs();
}

Emitter::Gathered& Emitter::slot(std::uint64_t round) {
  Gathered& g = gathered_[round % gathered_.size()];
  if (g.round != round) {
    g.round = round;
    g.delivered = 0;
    g.size = 0;
    g.pushed_ns = 0;
  }
  return g;
}

void Emitter::append(Gathered& g, const FiredView& rows) {
  const std::size_t k = query_.keys.size();
  const auto s = static_cast<std::size_t>(query_.plan.aggregation.states.count);
  const std::size_t at = g.size;
  const std::size_t n = at + rows.size;
  // Columns are [column][capacity]: grow keeps the earlier rows in place per column.
  const std::size_t capacity = g.window.size();
  if (n > capacity) {
    const std::size_t fresh = n + n / 2 + 64;
    std::vector<std::uint64_t> keys(fresh * k), states(fresh * s);
    for (std::size_t j = 0; j < k; ++j)
      std::copy_n(g.keys.data() + j * capacity, at, keys.data() + j * fresh);
    for (std::size_t j = 0; j < s; ++j)
      std::copy_n(g.states.data() + j * capacity, at, states.data() + j * fresh);
    g.keys.swap(keys);
    g.states.swap(states);
    g.window.resize(fresh);
    g.update.resize(fresh);
  }
  const std::size_t stride = g.window.size();
  std::copy_n(rows.window, rows.size, g.window.data() + at);
  std::copy_n(rows.update, rows.size, g.update.data() + at);
  for (std::size_t j = 0; j < k; ++j)
    std::copy_n(rows.keys + j * rows.stride, rows.size, g.keys.data() + j * stride + at);
  for (std::size_t j = 0; j < s; ++j)
    std::copy_n(rows.states + j * rows.stride, rows.size, g.states.data() + j * stride + at);
  g.size = n;
}

void Emitter::deliver(int /*worker*/, std::uint64_t round, const FiredView& rows,
                      std::int64_t pushed_ns) {
  std::lock_guard lock(mutex_);
  if (workers_ == 1) {
    emit(rows, pushed_ns);
    return;
  }
  Gathered& g = slot(round);
  append(g, rows);
  if (pushed_ns != 0 && (g.pushed_ns == 0 || pushed_ns < g.pushed_ns)) g.pushed_ns = pushed_ns;
  if (++g.delivered < workers_) return;
  FiredView all;
  all.size = g.size;
  all.stride = g.window.size();
  all.window = g.window.data();
  all.keys = g.keys.data();
  all.update = g.update.data();
  all.states = g.states.data();
  emit(all, g.pushed_ns);
  g.round = ~std::uint64_t{0};
}

void Emitter::emit(const FiredView& rows, std::int64_t pushed_ns) {
  std::size_t n = rows.size;
  if (n == 0) return;
  if (ordered_) {
    order_fired_rows(rows, key_sems_, order_, scratch_);
  } else {
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), 0u);
  }
  const Schema& schema = query_.result_schema;
  const PaneSpec& panes = query_.plan.aggregation.panes;
  const std::size_t k = query_.keys.size();
  for (std::size_t c = 0; c < schema.size(); ++c) {
    columns_[c].resize(n * type_width(schema.field(c).type.id) + 8);
    pointers_[c] = columns_[c].data();
  }
  auto* start = reinterpret_cast<std::int64_t*>(columns_[0].data());
  auto* end = reinterpret_cast<std::int64_t*>(columns_[1].data());
  auto* update = reinterpret_cast<std::uint8_t*>(columns_[schema.size() - 1].data());
  // The first (row, aggregate) whose result does not fit its type (an integer sum beyond i64),
  // as row * aggregates + aggregate; none: the limit.
  const std::size_t aggs = query_.aggregates.size();
  std::atomic<std::size_t> overflow{std::numeric_limits<std::size_t>::max()};
  // Rows [lo, hi) of every result column; ranges are converted in parallel.
  const auto convert = [&](std::size_t lo, std::size_t hi) {
    std::uint64_t updates = 0;
    for (std::size_t i = lo; i < hi; ++i) {
      const std::uint32_t r = order_[i];
      start[i] = panes.window_start(rows.window[r]);
      end[i] = panes.window_end(rows.window[r]);
      update[i] = rows.update[r];
      updates += rows.update[r] != 0 ? 1 : 0;
    }
    for (std::size_t j = 0; j < k; ++j) {
      const TypeId id = query_.keys[j].type.id;
      const std::size_t w = type_width(id);
      std::byte* out = columns_[2 + j].data();
      const std::uint64_t* in = rows.keys + j * rows.stride;
      for (std::size_t i = lo; i < hi; ++i) store_key(out + i * w, id, in[order_[i]]);
    }
    for (std::size_t a = 0; a < query_.aggregates.size(); ++a) {
      const AggregateOutput& agg = query_.aggregates[a];
      auto* out = reinterpret_cast<std::uint64_t*>(columns_[2 + k + a].data());
      const std::uint64_t* in = rows.states + static_cast<std::size_t>(agg.state) * rows.stride;
      for (std::size_t i = lo; i < hi; ++i) {
        if (aggregate_overflows(agg.kind, agg.float_result, in + order_[i], rows.stride)) {
          std::size_t seen = overflow.load(std::memory_order_relaxed);
          while (i * aggs + a < seen && !overflow.compare_exchange_weak(seen, i * aggs + a)) {
          }
          continue;
        }
        out[i] = finalize_aggregate(agg.kind, in + order_[i], rows.stride);
      }
    }
    return updates;
  };
  constexpr std::size_t kRangeRows = 16384;
  const auto ranges = static_cast<std::int64_t>((n + kRangeRows - 1) / kRangeRows);
  std::uint64_t updates = 0;
  if (ranges > 1 && omp_get_max_threads() > 1) {
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : updates)
    for (std::int64_t g = 0; g < ranges; ++g) {
      const std::size_t lo = static_cast<std::size_t>(g) * kRangeRows;
      updates += convert(lo, std::min(n, lo + kRangeRows));
    }
  } else {
    updates = convert(0, n);
  }
  BatchAccess::rebind(result_, pointers_, n);
  if (const std::size_t bad = overflow.load(); bad != std::numeric_limits<std::size_t>::max()) {
    const std::size_t row = bad / aggs;
    std::string key;
    for (std::size_t j = 0; j < k; ++j)
      key += (j == 0 ? "" : ", ") + sluice::to_string(result_.at(row, 2 + j));
    throw Error(ErrorCode::arithmetic_overflow,
                "aggregate '" + query_.aggregates[bad % aggs].name + "' of window [" +
                    std::to_string(start[row]) + ", " + std::to_string(end[row]) + ")" +
                    (k == 0 ? std::string() : " for key (" + key + ")") +
                    ": the integer sum does not fit in 64 bits");
  }
  if (having_stack_) {
    n = keep_having(n);
    BatchAccess::rebind(result_, pointers_, n);
    updates = static_cast<std::uint64_t>(
        std::count_if(update, update + n, [](std::uint8_t u) { return u != 0; }));
  }
  counters_.windows_fired += n;
  counters_.window_updates += updates;
  if (query_.result_sink) query_.result_sink(result_);
  if (query_.row_result_sink) {
    const std::vector<WindowResult> rows_out = window_results(result_, k);
    query_.row_result_sink(rows_out);
  }
  if (pushed_ns != 0 && n > 0) {
    counters_.emission_latency.observe(static_cast<double>(steady_now_ns() - pushed_ns) * 1e-9, n);
  }
}

void Emitter::reserve(std::size_t batch_rows) {
  if (query_.windowed) return;
  // A worker runs at most its queue's rounds (two) plus one ahead of the slowest worker.
  const std::size_t parts = 3 * static_cast<std::size_t>(workers_);
  std::lock_guard lock(mutex_);
  parts_.resize(std::max(parts_.size(), parts));
  for (RowsPart& part : parts_) {
    part.columns.resize(query_.outputs.size());
    for (std::size_t j = 0; j < query_.outputs.size(); ++j)
      part.columns[j].reserve(batch_rows * type_width(query_.outputs[j].type.id) + 1);
  }
  rounds_done_.reserve(parts);
  order_.reserve(parts);
}

void Emitter::deliver_rows(std::uint64_t round, std::uint64_t sequence, const ProjectedView& rows) {
  std::lock_guard lock(mutex_);
  std::size_t p = 0;
  while (p < parts_.size() && parts_[p].in_use) ++p;
  if (p == parts_.size()) parts_.emplace_back();
  RowsPart& part = parts_[p];
  part.in_use = true;
  part.round = round;
  part.sequence = sequence;
  part.rows = rows.rows;
  part.columns.resize(query_.outputs.size());
  for (std::size_t j = 0; j < query_.outputs.size(); ++j) {
    const std::size_t width = type_width(query_.outputs[j].type.id);
    part.columns[j].resize(rows.rows * width + 1);
    if (rows.rows > 0) std::memcpy(part.columns[j].data(), rows.columns[j], rows.rows * width);
  }
}

void Emitter::end_round(std::uint64_t round) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(rounds_done_.begin(), rounds_done_.end(),
                         [&](const auto& r) { return r.first == round; });
  if (it == rounds_done_.end()) {
    rounds_done_.emplace_back(round, 0);
    it = rounds_done_.end() - 1;
  }
  if (++it->second < workers_) return;
  *it = rounds_done_.back();
  rounds_done_.pop_back();
  // The round's parts in push order, to the sink one at a time.
  order_.clear();
  for (std::size_t p = 0; p < parts_.size(); ++p)
    if (parts_[p].in_use && parts_[p].round == round)
      order_.push_back(static_cast<std::uint32_t>(p));
  std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) {
    return parts_[a].sequence < parts_[b].sequence;
  });
  for (std::uint32_t p : order_) {
    RowsPart& part = parts_[p];
    if (query_.result_sink && part.rows > 0) {
      for (std::size_t j = 0; j < part.columns.size(); ++j) pointers_[j] = part.columns[j].data();
      BatchAccess::rebind(result_, pointers_, part.rows);
      query_.result_sink(result_);
    }
    part.in_use = false;
  }
}

void Emitter::late(const MicroBatch& batch, std::span<const std::uint32_t> rows) {
  if (!query_.late_sink || rows.empty()) return;
  std::lock_guard lock(late_mutex_);
  for (std::size_t c = 0; c < read_schema_.size(); ++c) {
    const std::size_t width = type_width(read_schema_.field(c).type.id);
    std::vector<std::byte>& column = late_columns_[c];
    column.resize(rows.size() * width + 1);
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::memcpy(column.data() + i * width, batch.cell(c, width, rows[i]), width);
    late_pointers_[c] = column.data();
  }
  BatchAccess::rebind(late_batch_, late_pointers_, rows.size());
  query_.late_sink(late_batch_);
}

}  // namespace sluice::detail
