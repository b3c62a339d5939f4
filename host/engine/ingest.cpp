// Ingest: slicing pushed batches into micro-batches, copying small ones, re-encoding strings.
#include "host/engine/ingest.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "host/api/batch_access.hpp"
#include "host/engine/watermark_tracker.hpp"
#include "kernels/host/time_range.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

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

BatchBuilder builder_for(const Schema& schema, const DictionaryPtr& dictionary) {
  std::vector<DictionaryPtr> dicts;
  for (std::size_t c = 0; c < schema.size(); ++c)
    dicts.push_back(schema.field(c).type.id == TypeId::string ? dictionary : nullptr);
  return BatchBuilder(schema, std::move(dicts));
}

BatchBuilder Ingest::make_builder() const { return builder_for(schema_, dictionary_); }

void Ingest::push(const Batch& batch, int source) {
  if (!(batch.schema() == schema_))
    throw Error(ErrorCode::invalid_argument, "push: batch schema (" + batch.schema().to_string() +
                                                 ") differs from the job's (" +
                                                 schema_.to_string() + ")");
  if (batch.rows() == 0) return;
  std::chrono::steady_clock::time_point since;
  const bool waiting = pending(since);
  const std::uint64_t seals = seals_;
  flush_rows();
  append(batch, source);
  // Rows left in the forming micro-batch came with this push (when it sealed the one before):
  // they wait from its end, for a push may wait long for a free micro-batch.
  if (!waiting || seals_ != seals) pending_since_ = std::chrono::steady_clock::now();
}

bool Ingest::pending(std::chrono::steady_clock::time_point& since) const {
  const bool rows = row_builder_->rows() > 0 || (current_ && current_->rows > 0);
  if (rows) since = pending_since_;
  return rows;
}

void Ingest::push_row(std::span<const Value> row, int source) {
  if (source != row_source_) {
    flush_rows();
    row_source_ = source;
  }
  std::chrono::steady_clock::time_point since;
  if (!pending(since)) pending_since_ = std::chrono::steady_clock::now();
  row_builder_->append_row(row);
  if (row_builder_->rows() >= 4096) flush_rows();
}

void Ingest::flush_rows() {
  if (row_builder_->rows() == 0) return;
  append(row_builder_->finish(), row_source_);
}

void Ingest::set_dictionary(DictionaryPtr dictionary) {
  if (current_ && current_->rows > 0)
    throw Error(ErrorCode::internal, "the job's dictionary changed with rows pending");
  dictionary_ = std::move(dictionary);
  row_builder_.emplace(make_builder());
  // The tables name codes of the earlier dictionary, which the new one may give to others.
  translations_.clear();
}

namespace {

constexpr std::uint32_t kUntranslated = UINT32_MAX;

}  // namespace

Ingest::Translation& Ingest::translation_for(const Batch& batch, std::size_t column) {
  // Codes of a foreign dictionary are re-encoded through the job's dictionary as rows need
  // them. Tables of dictionaries that died go: another may be born at the same address.
  const DictionaryPtr& foreign = batch.dictionary(column);
  Translation& t = translations_[foreign.get()];
  if (t.foreign.owner_before(foreign) || foreign.owner_before(t.foreign) || t.foreign.expired()) {
    std::erase_if(translations_, [&](const auto& entry) {
      return entry.first != foreign.get() && entry.second.foreign.expired();
    });
    t.foreign = foreign;
    t.codes.clear();
  }
  return t;
}

MicroBatch& Ingest::forming() {
  if (!current_) {
    current_ = pool_.acquire(cancelled_);
    if (!current_) throw Error(ErrorCode::internal, "the job stopped while a push waited");
    current_->first_push_ns = steady_now_ns();
  }
  if (!expected_.empty()) {
    // Before any row of the batch: a row of the source raises its entry past the mark.
    for (const int source : expected_) {
      bool known = false;
      for (const auto& [s, max_time] : current_->copied_source_max) known = known || s == source;
      if (!known) current_->copied_source_max.emplace_back(source, kAwaitingEvents);
    }
    expected_.clear();
  }
  return *current_;
}

void Ingest::expect_source(int source) {
  if (query_.time_input < 0) return;
  if (std::find(expected_.begin(), expected_.end(), source) == expected_.end())
    expected_.push_back(source);
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
      append_in_place(batch, done, take, source);
    } else {
      if (!m.last_slice_copied() && m.num_slices == kMaxSlices) {
        seal();
        continue;
      }
      append_copy(batch, done, take, source, translate_);
    }
    done += take;
    if (current_->rows == current_->capacity) seal();
  }
}

void Ingest::append_in_place(const Batch& batch, std::size_t first, std::size_t rows, int source) {
  MicroBatch& m = *current_;
  ColumnSlice& s = m.slices[m.num_slices];
  m.sources[m.num_slices] = source;
  m.copied[m.num_slices] = false;
  for (std::size_t r = 0; r < query_.read_columns.size(); ++r)
    s.columns[r] = static_cast<const std::byte*>(batch.column(query_.read_columns[r]).data) +
                   first * widths_[r];
  s.rows = rows;
  m.owners[m.num_slices] = BatchAccess::owner(batch);
  ++m.num_slices;
  m.rows += rows;
}

void Ingest::append_copy(const Batch& batch, std::size_t first, std::size_t rows, int source,
                         const std::vector<Translation*>& translate) {
  MicroBatch& m = *current_;
  pool_.ensure_buffer(m);
  if (!m.last_slice_copied()) {
    m.copied[m.num_slices] = true;
    ColumnSlice& s = m.slices[m.num_slices++];
    for (std::size_t r = 0; r < widths_.size(); ++r)
      s.columns[r] = m.buffer[r].get() + m.buffer_rows * widths_[r];
    s.rows = 0;
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
    Translation& t = *translate[r];
    const DictionaryPtr& foreign = batch.dictionary(c);
    const std::uint32_t limit = foreign->code_limit();
    if (t.codes.size() < limit) t.codes.resize(limit, kUntranslated);
    for (std::size_t i = 0; i < rows; ++i) {
      std::uint32_t code;
      std::memcpy(&code, src + i * 4, 4);
      const auto unknown = [&] {
        return Error(ErrorCode::malformed_input,
                     "column '" + schema_.field(c).name + "', row " + std::to_string(first + i) +
                         ": string code " + std::to_string(code) + " is not in its dictionary (" +
                         std::to_string(foreign->size()) + " strings)");
      };
      if (code >= limit) throw unknown();
      std::uint32_t& mapped = t.codes[code];
      if (mapped == kUntranslated) {
        if (!foreign->contains(code)) throw unknown();
        mapped = dictionary_->intern(foreign->at(code));
      }
      std::memcpy(dst + i * 4, &mapped, 4);
    }
  }
  // The copied slice mixes sources: its event times are measured here, in the rows just
  // copied (still in cache), by source.
  if (query_.time_input >= 0 && rows > 0) {
    const auto t = static_cast<std::size_t>(query_.time_input);
    std::int64_t lo = INT64_MAX, hi = INT64_MIN;
    const std::byte* times = m.buffer[t].get() + m.buffer_rows * widths_[t];
    widen_time_range(times, query_.plan.input_types[t], 0, rows, lo, hi);
    const PaneSpec& panes = query_.plan.aggregation.panes;
    if (lo < panes.time_lo || hi > panes.time_hi) {  // rare: measure the representable ones
      lo = INT64_MAX;
      hi = INT64_MIN;
      m.copied_unrepresentable += widen_time_range_within(
          times, query_.plan.input_types[t], 0, rows, panes.time_lo, panes.time_hi, lo, hi);
    }
    m.copied_min = std::min(m.copied_min, lo);
    m.copied_max = std::max(m.copied_max, hi);
    bool known = false;
    for (auto& [s, max_time] : m.copied_source_max)
      if (s == source) {
        max_time = std::max(max_time, hi);
        known = true;
      }
    if (!known) m.copied_source_max.emplace_back(source, hi);
  }
  m.slices[m.num_slices - 1].rows += rows;
  m.buffer_rows += rows;
  m.rows += rows;
}

void Ingest::seal() {
  if (!current_ || current_->rows == 0) return;
  if (lookup_source_) lookups_ = lookup_source_();
  if (lookups_) {
    current_->lookups = &lookups_->tables;
    current_->lookup_version = lookups_->version;
    current_->lookups_owner = lookups_;
  }
  sealed_(std::move(current_));
  current_ = BatchLease();
  ++seals_;
}

void Ingest::save(WordWriter& out) const {
  const bool rows = current_ && current_->rows > 0;
  out.put(rows ? 1 : 0);
  if (rows) save_rows(*current_, widths_, out);
}

void Ingest::restore(WordReader& in, std::uint64_t events) {
  events_ = events;
  if (in.get() == 0) return;
  MicroBatch& batch = forming();
  pool_.restore_rows(in, batch);
  pending_since_ = std::chrono::steady_clock::now();
  if (batch.rows >= batch_rows_) seal();
}

}  // namespace sluice::detail
