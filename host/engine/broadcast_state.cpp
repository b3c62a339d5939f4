// BroadcastState: applying broadcast rows and building lookup snapshots.
#include "host/engine/broadcast_state.hpp"

#include <algorithm>
#include <bit>
#include <string>
#include <utility>

#include "host/engine/string_pattern.hpp"
#include "host/query_compiler.hpp"
#include "kernels/ops/program.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {

BroadcastState::BroadcastState(std::vector<BroadcastSpec> specs, std::vector<std::string> patterns,
                               DictionaryPtr dictionary)
    : specs_(std::move(specs)),
      patterns_(std::move(patterns)),
      dictionary_(std::move(dictionary)),
      tables_(specs_.size() + patterns_.size()) {
  rescan_patterns();
}

bool BroadcastState::match(std::uint32_t code) {
  const std::string_view text = dictionary_->at(code);
  bool added = false;
  for (std::size_t i = 0; i < patterns_.size(); ++i) {
    if (!like_match(text, patterns_[i])) continue;
    // Once per code: a string interned while a rescan ran may come again from the next refresh.
    Table& t = tables_[specs_.size() + i];
    if (t.row_of.try_emplace(code, static_cast<std::uint32_t>(t.keys.size())).second) {
      t.keys.push_back(code);
      added = true;
    }
  }
  return added;
}

void BroadcastState::rescan_patterns() {
  if (patterns_.empty()) return;
  for (std::size_t t = specs_.size(); t < tables_.size(); ++t) tables_[t] = Table{};
  covered_ = dictionary_->codes_given();
  const std::uint32_t limit = dictionary_->code_limit();
  for (std::uint32_t c = 0; c < limit; ++c)
    if (dictionary_->contains(c)) match(c);
}

void BroadcastState::refresh() {
  if (patterns_.empty()) return;
  const std::size_t given = dictionary_->codes_given();
  bool added = false;
  for (; covered_ < given; ++covered_) added = match(dictionary_->code_given(covered_)) || added;
  // A code missing from a table reads as no match: only new matches need a new snapshot.
  if (added || !snapshot_) publish(++version_);
}

void BroadcastState::set_dictionary(DictionaryPtr dictionary) {
  dictionary_ = std::move(dictionary);
  if (patterns_.empty()) return;
  rescan_patterns();
  publish(++version_);
}

std::uint64_t BroadcastState::word_of(const Batch& batch, std::size_t row, std::size_t column) {
  // The value word a column load of the same type yields (see load_word); integers of a key
  // are compared as i64, which is the same word for every integer type.
  const ColumnView c = batch.column(column);
  if (c.type.id == TypeId::string)
    return dictionary_->intern(c.dictionary->at(load_value<std::uint32_t>(c.data, row)));
  return load_word(c.data, column_type_of(c.type.id), row);
}

void BroadcastState::apply(std::string_view name, const Batch& batch) {
  std::size_t t = 0;
  while (t < specs_.size() && specs_[t].name != name) ++t;
  if (t == specs_.size()) {
    std::string known;
    for (const BroadcastSpec& s : specs_) known += (known.empty() ? "" : ", ") + s.name;
    throw Error(
        ErrorCode::invalid_argument,
        "push_broadcast: the query declares no broadcast '" + std::string(name) + "'" +
            (known.empty() ? std::string(" (it declares none)") : " (it declares " + known + ")"));
  }
  const BroadcastSpec& spec = specs_[t];
  if (!(batch.schema() == spec.schema))
    throw Error(ErrorCode::invalid_argument,
                "push_broadcast '" + spec.name + "': the batch's schema " +
                    batch.schema().to_string() + " is not the declared " + spec.schema.to_string());
  Table& table = tables_[t];
  const std::size_t columns = spec.schema.size();
  const std::size_t key = spec.schema.index_of(spec.key);
  for (std::size_t r = 0; r < batch.rows(); ++r) {
    const std::uint64_t k = word_of(batch, r, key);
    if (table.keys.size() >= kMaxSlotPayload && table.row_of.count(k) == 0) {
      publish(++version_);  // the rows before this one are applied: batches see them, as later
                            // pushes do
      throw Error(ErrorCode::invalid_argument, "push_broadcast '" + spec.name + "': more than " +
                                                   std::to_string(kMaxSlotPayload) +
                                                   " rows; the rows before row " +
                                                   std::to_string(r + 1) + " are applied");
    }
    auto [it, added] = table.row_of.try_emplace(k, static_cast<std::uint32_t>(table.keys.size()));
    if (added) {
      table.keys.push_back(k);
      table.values.resize(table.values.size() + columns);
    }
    std::uint64_t* values = table.values.data() + static_cast<std::size_t>(it->second) * columns;
    for (std::size_t c = 0; c < columns; ++c) values[c] = word_of(batch, r, c);
  }
  publish(++version_);
}

void BroadcastState::list_codes(std::vector<std::uint32_t>& codes) const {
  for (std::size_t t = 0; t < specs_.size(); ++t) {
    const Schema& schema = specs_[t].schema;
    const std::size_t columns = schema.size();
    for (std::size_t c = 0; c < columns; ++c) {
      if (schema.field(c).type.id != TypeId::string) continue;
      const std::vector<std::uint64_t>& values = tables_[t].values;
      for (std::size_t at = c; at < values.size(); at += columns)
        codes.push_back(static_cast<std::uint32_t>(values[at]));
    }
  }
}

std::shared_ptr<const LookupSnapshot> BroadcastState::make_snapshot(
    std::uint64_t version, std::vector<std::vector<std::uint64_t>> keys,
    std::vector<std::vector<std::uint64_t>> values) const {
  auto snap = std::make_shared<LookupSnapshot>();
  snap->version = version;
  snap->tables.count = static_cast<int>(tables_.size());
  for (std::size_t t = 0; t < tables_.size(); ++t) {
    LookupSnapshot::Storage& s = snap->storage[t];
    s.keys = std::move(keys[t]);
    s.values = std::move(values[t]);
    LookupTableView& view = snap->tables.table[t];
    view.rows = static_cast<std::uint32_t>(s.keys.size());
    view.columns = static_cast<std::uint32_t>(columns(t));
    if (view.rows > 0) {
      // Keys within a short range (at most 4 slots per row, or 64 Ki) are indexed directly;
      // others through a hash index at most half full, so probes stay short.
      std::int64_t lo = INT64_MAX, hi = INT64_MIN;  // integer keys may be negative
      for (std::uint64_t k : s.keys) {
        lo = std::min(lo, static_cast<std::int64_t>(k));
        hi = std::max(hi, static_cast<std::int64_t>(k));
      }
      const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
      const std::uint64_t budget = std::max<std::uint64_t>(4 * std::uint64_t{view.rows}, 65536);
      if (span < budget) {
        s.direct.assign(span + 1, kNotFound);
        const auto base = static_cast<std::uint64_t>(lo);
        for (std::uint32_t r = 0; r < view.rows; ++r) s.direct[s.keys[r] - base] = r;
        view.direct_base = base;
        view.direct_size = span + 1;
      } else {
        s.slots.assign(std::bit_ceil(2 * static_cast<std::size_t>(view.rows)), kEmptySlot);
        const OpenAddressingRef<cuda::thread_scope_thread> index{s.slots.data(),
                                                                 s.slots.size() - 1};
        for (std::uint32_t r = 0; r < view.rows; ++r)
          index.insert_local(lookup_hash(s.keys[r]), r);  // keys are distinct
        view.mask = s.slots.size() - 1;
      }
    }
    view.slots = s.slots.empty() ? nullptr : s.slots.data();
    view.direct = s.direct.empty() ? nullptr : s.direct.data();
    view.keys = s.keys.data();
    view.values = s.values.data();
  }
  return snap;
}

void BroadcastState::publish(std::uint64_t version) {
  std::vector<std::vector<std::uint64_t>> keys, values;
  for (const Table& table : tables_) {
    keys.push_back(table.keys);
    values.push_back(table.values);
  }
  snapshot_ = make_snapshot(version, std::move(keys), std::move(values));
}

void BroadcastState::save(WordWriter& out) const {
  out.put(version_);
  out.put(tables_.size());
  for (const Table& table : tables_) {
    out.put_words(table.keys);
    out.put_words(table.values);
  }
}

namespace {

/// Reads a table's keys and values, checked against its schema's width.
void read_table(WordReader& in, std::size_t columns, std::vector<std::uint64_t>& keys,
                std::vector<std::uint64_t>& values) {
  const std::span<const std::uint64_t> k = in.get_words();
  const std::span<const std::uint64_t> v = in.get_words();
  if (v.size() != k.size() * columns || k.size() > kMaxSlotPayload)
    in.fail("a broadcast table whose rows are not of its schema");
  keys.assign(k.begin(), k.end());
  values.assign(v.begin(), v.end());
}

}  // namespace

void BroadcastState::restore(WordReader& in) {
  version_ = in.get();
  if (in.get_count() != tables_.size()) in.fail("broadcast state of other inputs");
  for (std::size_t t = 0; t < tables_.size(); ++t) {
    Table& table = tables_[t];
    read_table(in, columns(t), table.keys, table.values);
    table.row_of.clear();
    for (std::size_t r = 0; r < table.keys.size(); ++r)
      if (!table.row_of.emplace(table.keys[r], static_cast<std::uint32_t>(r)).second)
        in.fail("a broadcast table with a key twice");
  }
  // The patterns' tables as of the checkpoint may miss strings of the rows it held unsealed:
  // they are matched again against the whole (restored) dictionary. A superset serves the
  // batches of the snapshot in effect as well (a code's match depends on its string alone),
  // so it keeps its version, which those batches name.
  rescan_patterns();
  snapshot_.reset();
  if (version_ > 0) publish(version_);  // the snapshot in effect, under its version
}

void BroadcastState::save_snapshot(WordWriter& out, const LookupSnapshot& snapshot) {
  out.put(snapshot.version);
  out.put(static_cast<std::uint64_t>(snapshot.tables.count));
  for (int t = 0; t < snapshot.tables.count; ++t) {
    out.put_words(snapshot.storage[t].keys);
    out.put_words(snapshot.storage[t].values);
  }
}

std::shared_ptr<const LookupSnapshot> BroadcastState::restore_snapshot(WordReader& in) const {
  const std::uint64_t version = in.get();
  if (version == 0 || version > version_) in.fail("a broadcast snapshot of no update");
  if (in.get_count() != tables_.size()) in.fail("a broadcast snapshot of other inputs");
  std::vector<std::vector<std::uint64_t>> keys(tables_.size()), values(tables_.size());
  for (std::size_t t = 0; t < tables_.size(); ++t) read_table(in, columns(t), keys[t], values[t]);
  return make_snapshot(version, std::move(keys), std::move(values));
}

}  // namespace sluice::detail
