// Emitter: gathering fired rows per round, ordering them and writing the result columns.
#include "host/engine/emitter.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "host/api/batch_access.hpp"
#include "host/engine/micro_batch.hpp"
#include "kernels/ops/aggregates.hpp"
#include "kernels/ops/key_word.hpp"

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

struct OwnedColumns {
  std::vector<std::vector<std::byte>> data;
};

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
  // Least significant column first: the last key, ..., the first key, then the window.
  std::vector<std::uint64_t>& keys = scratch.keys;
  keys.resize(n);
  for (std::size_t c = k + 1; c-- > 0;) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t r = order[i];
      keys[i] = c == 0 ? static_cast<std::uint64_t>(rows.window[r]) ^ kSign
                       : sortable(rows.keys[(c - 1) * rows.stride + r], key_sems[c - 1]);
    }
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
    const Schema& schema = query.result_schema;
    std::vector<DictionaryPtr> dicts;
    std::vector<const void*> none;
    for (std::size_t c = 0; c < schema.size(); ++c) {
      dicts.push_back(schema.field(c).type.id == TypeId::string ? dictionary_ : nullptr);
      none.push_back(nullptr);
    }
    result_ = Batch::wrap(schema, none, 0, std::move(dicts));
    columns_.resize(schema.size());
    pointers_.resize(schema.size());
  }
}

Emitter::Gathered& Emitter::slot(std::uint64_t round) {
  Gathered& g = gathered_[round % gathered_.size()];
  if (g.round != round) {
    g.round = round;
    g.delivered = 0;
    g.size = 0;
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

void Emitter::deliver(int /*worker*/, std::uint64_t round, const FiredView& rows) {
  std::lock_guard lock(mutex_);
  if (workers_ == 1) {
    emit(rows);
    return;
  }
  Gathered& g = slot(round);
  append(g, rows);
  if (++g.delivered < workers_) return;
  FiredView all;
  all.size = g.size;
  all.stride = g.window.size();
  all.window = g.window.data();
  all.keys = g.keys.data();
  all.update = g.update.data();
  all.states = g.states.data();
  emit(all);
  g.round = ~std::uint64_t{0};
}

void Emitter::emit(const FiredView& rows) {
  const std::size_t n = rows.size;
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
  std::uint64_t updates = 0;
  for (std::size_t i = 0; i < n; ++i) {
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
    for (std::size_t i = 0; i < n; ++i) store_key(out + i * w, id, in[order_[i]]);
  }
  for (std::size_t a = 0; a < query_.aggregates.size(); ++a) {
    const AggregateOutput& agg = query_.aggregates[a];
    auto* out = reinterpret_cast<std::uint64_t*>(columns_[2 + k + a].data());
    const std::uint64_t* in = rows.states + static_cast<std::size_t>(agg.state) * rows.stride;
    for (std::size_t i = 0; i < n; ++i)
      out[i] = finalize_aggregate(agg.kind, in + order_[i], rows.stride);
  }
  BatchAccess::rebind(result_, pointers_, n);
  counters_.windows_fired += n;
  counters_.window_updates += updates;
  if (query_.result_sink) query_.result_sink(result_);
  if (query_.row_result_sink) {
    const std::vector<WindowResult> rows_out = window_results(result_, k);
    query_.row_result_sink(rows_out);
  }
}

void Emitter::deliver_rows(std::uint64_t round, std::uint64_t sequence,
                           const ProjectedView& rows) {
  std::vector<Field> fields;
  auto owned = std::make_shared<OwnedColumns>();
  std::vector<const void*> pointers;
  std::vector<DictionaryPtr> dicts;
  for (std::size_t j = 0; j < query_.outputs.size(); ++j) {
    const DataType type = query_.outputs[j].type;
    fields.push_back({query_.outputs[j].name, type});
    const std::size_t width = type_width(type.id);
    std::vector<std::byte> column(rows.rows * width + 1);
    if (rows.rows > 0) std::memcpy(column.data(), rows.columns[j], rows.rows * width);
    owned->data.push_back(std::move(column));
    pointers.push_back(owned->data.back().data());
    dicts.push_back(type.id == TypeId::string ? dictionary_ : nullptr);
  }
  Batch batch = Batch::wrap(Schema(std::move(fields)), std::move(pointers), rows.rows,
                            std::move(dicts), std::move(owned));
  std::lock_guard lock(mutex_);
  rows_[round].second.emplace_back(sequence, std::move(batch));
}

void Emitter::end_round(std::uint64_t round) {
  std::vector<std::pair<std::uint64_t, Batch>> out;
  {
    std::lock_guard lock(mutex_);
    auto& [count, all] = rows_[round];
    if (++count < workers_) return;
    out = std::move(all);
    rows_.erase(round);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (!query_.result_sink) return;
  std::lock_guard lock(mutex_);  // one sink call at a time
  for (auto& [sequence, batch] : out)
    if (batch.rows() > 0) query_.result_sink(batch);
}

void Emitter::late(const MicroBatch& batch, std::span<const std::uint32_t> rows) {
  if (!query_.late_sink || rows.empty()) return;
  auto owned = std::make_shared<OwnedColumns>();
  std::vector<const void*> pointers;
  std::vector<DictionaryPtr> dicts;
  for (std::size_t c = 0; c < read_schema_.size(); ++c) {
    const TypeId id = read_schema_.field(c).type.id;
    const std::size_t width = type_width(id);
    std::vector<std::byte> column(rows.size() * width + 1);
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::memcpy(column.data() + i * width, batch.cell(c, width, rows[i]), width);
    owned->data.push_back(std::move(column));
    pointers.push_back(owned->data.back().data());
    dicts.push_back(id == TypeId::string ? dictionary_ : nullptr);
  }
  const Batch late = Batch::wrap(read_schema_, std::move(pointers), rows.size(), std::move(dicts),
                                 std::move(owned));
  std::lock_guard lock(late_mutex_);
  query_.late_sink(late);
}

}  // namespace sluice::detail
