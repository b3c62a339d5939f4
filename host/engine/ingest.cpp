// Ingest: slicing pushed batches into micro-batches, copying small ones, re-encoding strings.
#include "host/engine/ingest.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "host/api/batch_access.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

/// Smallest and largest event time of rows [first, first + n) of a time column.
template <class T>
void time_range(const void* data, std::size_t first, std::size_t n, std::int64_t& lo,
                std::int64_t& hi) {
  const T* v = static_cast<const T*>(data) + first;
  // Four independent minima and maxima: the loop runs at the loads' pace, not the compare
  // chain's (this pass runs on the pushing thread, beside the workers).
  std::int64_t a[4] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  std::int64_t b[4] = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int l = 0; l < 4; ++l) {
      const auto t = static_cast<std::int64_t>(v[i + static_cast<std::size_t>(l)]);
      a[l] = t < a[l] ? t : a[l];
      b[l] = t > b[l] ? t : b[l];
    }
  }
  for (; i < n; ++i) {
    const auto t = static_cast<std::int64_t>(v[i]);
    a[0] = t < a[0] ? t : a[0];
    b[0] = t > b[0] ? t : b[0];
  }
  lo = std::min(std::min(a[0], a[1]), std::min(a[2], a[3]));
  hi = std::max(std::max(b[0], b[1]), std::max(b[2], b[3]));
}

}  // namespace

Ingest::Ingest(const Schema& schema, const CompiledQuery& query, DictionaryPtr dictionary,
               MicroBatchPool& pool, std::size_t batch_rows, SealedSink sealed,
               std::function<bool()> cancelled)
    : schema_(schema),
      query_(query),
      dictionary_(std::move(dictionary)),
      pool_(pool),
      batch_rows_(batch_rows),
      in_place_rows_(std::max<std::size_t>(1, batch_rows / 16)),
      sealed_(std::move(sealed)),
      cancelled_(std::move(cancelled)) {
  for (std::size_t c : query_.read_columns) widths_.push_back(type_width(schema_.field(c).type.id));
  row_builder_.emplace(make_builder());
  translate_.resize(query_.read_columns.size());
}

BatchBuilder Ingest::make_builder() const {
  std::vector<DictionaryPtr> dicts;
  for (std::size_t c = 0; c < schema_.size(); ++c)
    dicts.push_back(schema_.field(c).type.id == TypeId::string ? dictionary_ : nullptr);
  return BatchBuilder(schema_, std::move(dicts));
}

void Ingest::push(const Batch& batch, int source) {
  if (!(batch.schema() == schema_))
    throw Error(ErrorCode::invalid_argument, "push: batch schema (" + batch.schema().to_string() +
                                                 ") differs from the job's (" +
                                                 schema_.to_string() + ")");
  flush_rows();
  append(batch, source);
}

void Ingest::push_row(std::span<const Value> row, int source) {
  if (source != row_source_) {
    flush_rows();
    row_source_ = source;
  }
  row_builder_->append_row(row);
  if (row_builder_->rows() >= 4096) flush_rows();
}

void Ingest::flush_rows() {
  if (row_builder_->rows() == 0) return;
  append(row_builder_->finish(), row_source_);
}

const std::vector<std::uint32_t>& Ingest::translation_for(const Batch& batch, std::size_t column) {
  // Codes of a foreign dictionary are re-encoded through the job's dictionary; the table of
  // each foreign dictionary grows as it does.
  const StringDictionary* foreign = batch.dictionary(column).get();
  std::vector<std::uint32_t>& table = translations_[foreign];
  for (std::size_t code = table.size(); code < foreign->size(); ++code)
    table.push_back(dictionary_->intern(foreign->at(static_cast<std::uint32_t>(code))));
  return table;
}

MicroBatch& Ingest::forming() {
  if (!current_) {
    current_ = pool_.acquire(cancelled_);
    if (!current_) throw Error(ErrorCode::internal, "the job stopped while a push waited");
  }
  return *current_;
}

void Ingest::append(const Batch& batch, int source) {
  events_ += batch.rows();
  bool foreign = false;
  for (std::size_t r = 0; r < query_.read_columns.size(); ++r) {
    const std::size_t c = query_.read_columns[r];
    translate_[r] = nullptr;
    if (schema_.field(c).type.id == TypeId::string &&
        batch.dictionary(c).get() != dictionary_.get()) {
      translate_[r] = &translation_for(batch, c);
      foreign = true;
    }
  }
  const bool in_place = !foreign && batch.rows() >= in_place_rows_;
  std::size_t done = 0;
  while (done < batch.rows()) {
    MicroBatch& m = forming();
    std::size_t take = std::min(batch.rows() - done, m.capacity - m.rows);
    if (in_place && m.num_slices == kMaxSlices) {
      seal();
      continue;
    }
    if (in_place) {
      append_in_place(batch, done, take);
    } else {
      if (!m.last_slice_copied && m.num_slices == kMaxSlices) {
        seal();
        continue;
      }
      append_copy(batch, done, take, translate_);
    }
    observe_times(batch, done, take, source);
    done += take;
    if (current_->rows == current_->capacity) seal();
  }
}

void Ingest::append_in_place(const Batch& batch, std::size_t first, std::size_t rows) {
  MicroBatch& m = *current_;
  ColumnSlice& s = m.slices[m.num_slices];
  for (std::size_t r = 0; r < query_.read_columns.size(); ++r)
    s.columns[r] = static_cast<const std::byte*>(batch.column(query_.read_columns[r]).data) +
                   first * widths_[r];
  s.rows = rows;
  m.owners[m.num_slices] = BatchAccess::owner(batch);
  ++m.num_slices;
  m.rows += rows;
  m.last_slice_copied = false;
}

void Ingest::append_copy(const Batch& batch, std::size_t first, std::size_t rows,
                         const std::vector<const std::vector<std::uint32_t>*>& translate) {
  MicroBatch& m = *current_;
  pool_.ensure_buffer(m);
  if (!m.last_slice_copied) {
    ColumnSlice& s = m.slices[m.num_slices++];
    for (std::size_t r = 0; r < widths_.size(); ++r)
      s.columns[r] = m.buffer[r].get() + m.buffer_rows * widths_[r];
    s.rows = 0;
    m.last_slice_copied = true;
  }
  for (std::size_t r = 0; r < widths_.size(); ++r) {
    const std::size_t c = query_.read_columns[r];
    const std::size_t w = widths_[r];
    const auto* src = static_cast<const std::byte*>(batch.column(c).data) + first * w;
    std::byte* dst = m.buffer[r].get() + m.buffer_rows * w;
    if (translate[r] == nullptr) {
      std::memcpy(dst, src, rows * w);
      continue;
    }
    const std::vector<std::uint32_t>& table = *translate[r];
    for (std::size_t i = 0; i < rows; ++i) {
      std::uint32_t code;
      std::memcpy(&code, src + i * 4, 4);
      if (code >= table.size())
        throw Error(ErrorCode::malformed_input,
                    "column '" + schema_.field(c).name + "', row " + std::to_string(first + i) +
                        ": string code " + std::to_string(code) + " is not in its dictionary (" +
                        std::to_string(table.size()) + " strings)");
      const std::uint32_t mapped = table[code];
      std::memcpy(dst + i * 4, &mapped, 4);
    }
  }
  m.slices[m.num_slices - 1].rows += rows;
  m.buffer_rows += rows;
  m.rows += rows;
}

void Ingest::observe_times(const Batch& batch, std::size_t first, std::size_t rows, int source) {
  if (query_.time_input < 0 || rows == 0) return;
  const std::size_t c = query_.read_columns[static_cast<std::size_t>(query_.time_input)];
  const void* data = batch.column(c).data;
  std::int64_t lo = 0, hi = 0;
  switch (schema_.field(c).type.id) {
    case TypeId::i32:
      time_range<std::int32_t>(data, first, rows, lo, hi);
      break;
    case TypeId::u32:
      time_range<std::uint32_t>(data, first, rows, lo, hi);
      break;
    default:  // i64, u64 (read as i64), timestamp
      time_range<std::int64_t>(data, first, rows, lo, hi);
      break;
  }
  MicroBatch& m = *current_;
  m.min_time = std::min(m.min_time, lo);
  m.max_time = std::max(m.max_time, hi);
  for (auto& [s, max_time] : m.source_max)
    if (s == source) {
      max_time = std::max(max_time, hi);
      return;
    }
  m.source_max.emplace_back(source, hi);
}

void Ingest::seal() {
  if (!current_ || current_->rows == 0) return;
  sealed_(std::move(current_));
  current_ = BatchLease();
}

}  // namespace sluice::detail
