// Batch and BatchBuilder: columnar batches (owned or wrapped), typed access and row building.
#include "sluice/batch.hpp"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {

/// The bytes of a built batch; shared by the batch, its copies and its slices.
struct Batch::Storage {
  std::vector<std::vector<std::byte>> columns;
};

namespace {

std::string describe_column(const Schema& schema, std::size_t column) {
  const Field& f = schema.field(column);
  return "column " + detail::quoted(f.name) + " (" + to_string(f.type) + ")";
}

void check_column_index(const char* where, std::size_t column, std::size_t columns) {
  if (column >= columns) {
    throw Error(ErrorCode::invalid_argument, std::string(where) + ": column index " +
                                                 std::to_string(column) + " out of range (" +
                                                 std::to_string(columns) + " columns)");
  }
}

template <class T>
T load(const void* data, std::size_t row) {
  T v;
  std::memcpy(&v, static_cast<const std::byte*>(data) + row * sizeof(T), sizeof(T));
  return v;
}

template <class T>
void store(void* cell, T v) {
  std::memcpy(cell, &v, sizeof(T));
}

const char* storage_name(TypeId id) {
  switch (id) {
    case TypeId::i32:
      return "int32_t";
    case TypeId::i64:
    case TypeId::timestamp:
      return "int64_t";
    case TypeId::u32:
    case TypeId::string:
      return "uint32_t";
    case TypeId::u64:
      return "uint64_t";
    case TypeId::f32:
      return "float";
    case TypeId::f64:
      return "double";
    case TypeId::boolean:
      return "uint8_t";
  }
  return "?";
}

const char* tag_name(int tag) {
  switch (tag) {
    case 1:
      return "floating-point";
    case 2:
      return "signed integer";
    default:
      return "unsigned integer";
  }
}

/// Throws unless every code of `codes` names a string of `dictionary` (which never forgets one,
/// so a code checked once stays valid).
void check_codes(const Schema& schema, std::size_t column, const std::uint32_t* codes,
                 std::size_t rows, const StringDictionary& dictionary) {
  const std::size_t row = dictionary.first_unknown(std::span<const std::uint32_t>(codes, rows));
  if (row == rows) return;
  throw Error(ErrorCode::invalid_argument, "Batch::wrap: " + describe_column(schema, column) +
                                               " row " + std::to_string(row) +
                                               " holds string code " + std::to_string(codes[row]) +
                                               ", which is not in its dictionary (" +
                                               std::to_string(dictionary.size()) + " strings)");
}

}  // namespace

Batch Batch::wrap(Schema schema, std::vector<const void*> columns, std::size_t rows,
                  std::vector<DictionaryPtr> dictionaries, std::shared_ptr<const void> keep_alive) {
  const std::size_t n = schema.size();
  if (columns.size() != n) {
    throw Error(ErrorCode::invalid_argument, "Batch::wrap: " + std::to_string(columns.size()) +
                                                 " column arrays for a schema of " +
                                                 std::to_string(n) + " columns");
  }
  if (!dictionaries.empty() && dictionaries.size() != n) {
    throw Error(ErrorCode::invalid_argument, "Batch::wrap: " + std::to_string(dictionaries.size()) +
                                                 " dictionaries for a schema of " +
                                                 std::to_string(n) + " columns");
  }
  dictionaries.resize(n);
  Batch batch;
  batch.columns_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const DataType type = schema.field(i).type;
    if (columns[i] == nullptr && rows > 0) {
      throw Error(ErrorCode::invalid_argument,
                  "Batch::wrap: " + describe_column(schema, i) + " has no data");
    }
    if (type.id != TypeId::string) {
      dictionaries[i] = nullptr;
    } else if (dictionaries[i] == nullptr) {
      throw Error(ErrorCode::invalid_argument,
                  "Batch::wrap: " + describe_column(schema, i) + " has no dictionary");
    } else {
      check_codes(schema, i, static_cast<const std::uint32_t*>(columns[i]), rows, *dictionaries[i]);
    }
    batch.columns_.push_back(ColumnView{type, columns[i], dictionaries[i].get()});
  }
  batch.schema_ = std::move(schema);
  batch.dictionaries_ = std::move(dictionaries);
  batch.owner_ = std::move(keep_alive);
  batch.rows_ = rows;
  return batch;
}

ColumnView Batch::column(std::size_t i) const {
  check_column_index("Batch::column", i, columns_.size());
  return columns_[i];
}

void Batch::check_storage(std::size_t i, std::size_t width, int tag) const {
  check_column_index("Batch::values", i, columns_.size());
  const TypeId id = columns_[i].type.id;
  int expected = storage_tag<std::uint32_t>();
  switch (id) {
    case TypeId::i32:
    case TypeId::i64:
    case TypeId::timestamp:
      expected = storage_tag<std::int64_t>();
      break;
    case TypeId::f32:
    case TypeId::f64:
      expected = storage_tag<double>();
      break;
    case TypeId::u32:
    case TypeId::u64:
    case TypeId::string:
    case TypeId::boolean:
      expected = storage_tag<std::uint32_t>();
      break;
  }
  if (width != type_width(id) || tag != expected) {
    throw Error(ErrorCode::type_mismatch,
                describe_column(schema_, i) + " is stored as " + storage_name(id) + ", not as " +
                    std::to_string(width) + "-byte " + tag_name(tag) + " values");
  }
}

Value Batch::at(std::size_t row, std::size_t column) const {
  check_column_index("Batch::at", column, columns_.size());
  if (row >= rows_) {
    throw Error(ErrorCode::invalid_argument, "Batch::at: row " + std::to_string(row) +
                                                 " out of range (" + std::to_string(rows_) +
                                                 " rows)");
  }
  const ColumnView& view = columns_[column];
  switch (view.type.id) {
    case TypeId::i32:
      return std::int64_t{load<std::int32_t>(view.data, row)};
    case TypeId::i64:
    case TypeId::timestamp:
      return load<std::int64_t>(view.data, row);
    case TypeId::u32:
      return std::uint64_t{load<std::uint32_t>(view.data, row)};
    case TypeId::u64:
      return load<std::uint64_t>(view.data, row);
    case TypeId::f32:
      return double{load<float>(view.data, row)};
    case TypeId::f64:
      return load<double>(view.data, row);
    case TypeId::boolean:
      return load<std::uint8_t>(view.data, row) != 0;
    case TypeId::string:
      return std::string(view.dictionary->at(load<std::uint32_t>(view.data, row)));
  }
  return std::monostate{};
}

Batch Batch::slice(std::size_t begin, std::size_t count) const {
  if (begin > rows_ || count > rows_ - begin) {
    throw Error(ErrorCode::invalid_argument, "Batch::slice: rows [" + std::to_string(begin) + ", " +
                                                 std::to_string(begin + count) +
                                                 ") out of range (" + std::to_string(rows_) +
                                                 " rows)");
  }
  Batch part = *this;
  part.rows_ = count;
  for (ColumnView& view : part.columns_) {
    if (view.data != nullptr) {
      view.data = static_cast<const std::byte*>(view.data) + begin * type_width(view.type.id);
    }
  }
  return part;
}

Batch Batch::copy() const {
  auto storage = std::make_shared<Storage>();
  std::vector<const void*> data;
  for (const ColumnView& view : columns_) {
    const std::size_t bytes = rows_ * type_width(view.type.id);
    std::vector<std::byte>& column = storage->columns.emplace_back(bytes + 1);
    if (bytes > 0) std::memcpy(column.data(), view.data, bytes);
    data.push_back(column.data());
  }
  return wrap(schema_, std::move(data), rows_, dictionaries_, std::move(storage));
}

BatchBuilder::BatchBuilder(Schema schema, std::vector<DictionaryPtr> dictionaries)
    : schema_(std::move(schema)), dictionaries_(std::move(dictionaries)) {
  const std::size_t n = schema_.size();
  if (!dictionaries_.empty() && dictionaries_.size() != n) {
    throw Error(ErrorCode::invalid_argument,
                "BatchBuilder: " + std::to_string(dictionaries_.size()) +
                    " dictionaries for a schema of " + std::to_string(n) + " columns");
  }
  dictionaries_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (schema_.field(i).type.id != TypeId::string) {
      dictionaries_[i] = nullptr;
    } else if (dictionaries_[i] == nullptr) {
      dictionaries_[i] = std::make_shared<StringDictionary>();
    }
  }
  data_.resize(n);
  set_.assign(n, 0);
}

void* BatchBuilder::cell(std::size_t column) {
  const std::size_t width = type_width(schema_.field(column).type.id);
  std::vector<std::byte>& bytes = data_[column];
  if (bytes.size() < (rows_ + 1) * width) bytes.resize((rows_ + 1) * width);
  if (set_[column] == 0) {
    set_[column] = 1;
    ++set_count_;
  }
  return bytes.data() + rows_ * width;
}

namespace {

[[noreturn]] void cannot_store(const Schema& schema, std::size_t column, const std::string& what,
                               const char* why = nullptr) {
  std::string message = describe_column(schema, column) + ": cannot store " + what;
  if (why != nullptr) message += std::string(" (") + why + ")";
  throw Error(ErrorCode::type_mismatch, message);
}

template <class T, class V>
bool fits(V v) {
  if constexpr (std::is_signed_v<V> == std::is_signed_v<T>) {
    return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
  } else if constexpr (std::is_signed_v<V>) {  // signed value into an unsigned type
    return v >= 0 && static_cast<std::make_unsigned_t<V>>(v) <= std::numeric_limits<T>::max();
  } else {  // unsigned value into a signed type
    return v <= static_cast<std::make_unsigned_t<T>>(std::numeric_limits<T>::max());
  }
}

}  // namespace

void BatchBuilder::set_int(std::size_t column, std::int64_t v) {
  check_column_index("BatchBuilder::set_int", column, schema_.size());
  const auto what = [&] { return "integer " + std::to_string(v); };
  switch (schema_.field(column).type.id) {
    case TypeId::i32:
      if (!fits<std::int32_t>(v)) cannot_store(schema_, column, what(), "out of range");
      return store(cell(column), static_cast<std::int32_t>(v));
    case TypeId::i64:
    case TypeId::timestamp:
      return store(cell(column), v);
    case TypeId::u32:
      if (!fits<std::uint32_t>(v)) cannot_store(schema_, column, what(), "out of range");
      return store(cell(column), static_cast<std::uint32_t>(v));
    case TypeId::u64:
      if (!fits<std::uint64_t>(v)) cannot_store(schema_, column, what(), "out of range");
      return store(cell(column), static_cast<std::uint64_t>(v));
    case TypeId::f32:
      return store(cell(column), static_cast<float>(v));
    case TypeId::f64:
      return store(cell(column), static_cast<double>(v));
    case TypeId::boolean:
      if (v != 0 && v != 1) cannot_store(schema_, column, what(), "a bool takes 0 or 1");
      return store(cell(column), static_cast<std::uint8_t>(v));
    case TypeId::string:
      break;
  }
  cannot_store(schema_, column, what());
}

void BatchBuilder::set_uint(std::size_t column, std::uint64_t v) {
  check_column_index("BatchBuilder::set_uint", column, schema_.size());
  const auto what = [&] { return "integer " + std::to_string(v); };
  switch (schema_.field(column).type.id) {
    case TypeId::i32:
      if (!fits<std::int32_t>(v)) cannot_store(schema_, column, what(), "out of range");
      return store(cell(column), static_cast<std::int32_t>(v));
    case TypeId::i64:
    case TypeId::timestamp:
      if (!fits<std::int64_t>(v)) cannot_store(schema_, column, what(), "out of range");
      return store(cell(column), static_cast<std::int64_t>(v));
    case TypeId::u32:
      if (!fits<std::uint32_t>(v)) cannot_store(schema_, column, what(), "out of range");
      return store(cell(column), static_cast<std::uint32_t>(v));
    case TypeId::u64:
      return store(cell(column), v);
    case TypeId::f32:
      return store(cell(column), static_cast<float>(v));
    case TypeId::f64:
      return store(cell(column), static_cast<double>(v));
    case TypeId::boolean:
      if (v > 1) cannot_store(schema_, column, what(), "a bool takes 0 or 1");
      return store(cell(column), static_cast<std::uint8_t>(v));
    case TypeId::string:
      break;
  }
  cannot_store(schema_, column, what());
}

void BatchBuilder::set_double(std::size_t column, double v) {
  check_column_index("BatchBuilder::set_double", column, schema_.size());
  const auto what = [&] { return "double " + to_string(Value(v)); };
  const TypeId id = schema_.field(column).type.id;
  if (is_integral(id)) {
    if (!std::isfinite(v) || std::trunc(v) != v) {
      cannot_store(schema_, column, what(), "not an integer");
    }
    // Bounds as exact powers of two: [-2^63, 2^63) and [0, 2^64) are representable limits.
    constexpr double kTwo63 = 9223372036854775808.0;
    constexpr double kTwo64 = 18446744073709551616.0;
    switch (id) {
      case TypeId::i32:
        if (v < INT32_MIN || v > INT32_MAX) cannot_store(schema_, column, what(), "out of range");
        return store(cell(column), static_cast<std::int32_t>(v));
      case TypeId::u32:
        if (v < 0 || v > UINT32_MAX) cannot_store(schema_, column, what(), "out of range");
        return store(cell(column), static_cast<std::uint32_t>(v));
      case TypeId::u64:
        if (v < 0 || v >= kTwo64) cannot_store(schema_, column, what(), "out of range");
        return store(cell(column), static_cast<std::uint64_t>(v));
      default:  // i64, timestamp
        if (v < -kTwo63 || v >= kTwo63) cannot_store(schema_, column, what(), "out of range");
        return store(cell(column), static_cast<std::int64_t>(v));
    }
  }
  if (id == TypeId::f32) {
    if (std::isfinite(v) && std::fabs(v) > FLT_MAX) {
      cannot_store(schema_, column, what(), "out of range");
    }
    return store(cell(column), static_cast<float>(v));
  }
  if (id == TypeId::f64) return store(cell(column), v);
  cannot_store(schema_, column, what());
}

void BatchBuilder::set_bool(std::size_t column, bool v) {
  check_column_index("BatchBuilder::set_bool", column, schema_.size());
  if (schema_.field(column).type.id != TypeId::boolean) {
    cannot_store(schema_, column, std::string("bool ") + (v ? "true" : "false"));
  }
  store(cell(column), static_cast<std::uint8_t>(v ? 1 : 0));
}

void BatchBuilder::set_string(std::size_t column, std::string_view v) {
  check_column_index("BatchBuilder::set_string", column, schema_.size());
  if (schema_.field(column).type.id != TypeId::string) {
    cannot_store(schema_, column, "string " + detail::quoted(v));
  }
  store(cell(column), dictionaries_[column]->intern(v));
}

void BatchBuilder::append_row(std::span<const Value> row) {
  if (set_count_ != 0) {
    throw Error(ErrorCode::invalid_argument,
                "append_row: a row is in progress (call end_row() or discard_row() first)");
  }
  if (row.size() != schema_.size()) {
    throw Error(ErrorCode::invalid_argument, "append_row: " + std::to_string(row.size()) +
                                                 " values for a schema of " +
                                                 std::to_string(schema_.size()) + " columns");
  }
  try {
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              throw Error(ErrorCode::type_mismatch,
                          describe_column(schema_, i) + ": null not supported");
            } else if constexpr (std::is_same_v<T, bool>) {
              set_bool(i, v);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              set_int(i, v);
            } else if constexpr (std::is_same_v<T, std::uint64_t>) {
              set_uint(i, v);
            } else if constexpr (std::is_same_v<T, double>) {
              set_double(i, v);
            } else {
              set_string(i, v);
            }
          },
          row[i]);
    }
  } catch (...) {
    discard_row();
    throw;
  }
  end_row();
}

void BatchBuilder::end_row() {
  if (set_count_ != schema_.size()) {
    for (std::size_t i = 0; i < schema_.size(); ++i) {
      if (set_[i] == 0) {
        throw Error(ErrorCode::invalid_argument, "end_row: " + describe_column(schema_, i) +
                                                     " was not set in row " +
                                                     std::to_string(rows_));
      }
    }
  }
  ++rows_;
  set_.assign(schema_.size(), 0);
  set_count_ = 0;
}

void BatchBuilder::discard_row() {
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    data_[i].resize(rows_ * type_width(schema_.field(i).type.id));
  }
  set_.assign(schema_.size(), 0);
  set_count_ = 0;
}

Batch BatchBuilder::finish() {
  if (set_count_ != 0) {
    throw Error(ErrorCode::invalid_argument,
                "BatchBuilder::finish: row " + std::to_string(rows_) +
                    " is incomplete (call end_row() or discard_row() first)");
  }
  const std::size_t n = schema_.size();
  auto storage = std::make_shared<Batch::Storage>();
  storage->columns = std::move(data_);
  Batch batch;
  batch.schema_ = schema_;
  batch.dictionaries_ = dictionaries_;
  batch.rows_ = rows_;
  batch.columns_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.columns_.push_back(
        ColumnView{schema_.field(i).type, storage->columns[i].data(), dictionaries_[i].get()});
  }
  batch.owner_ = std::move(storage);
  data_.assign(n, {});
  set_.assign(n, 0);
  rows_ = 0;
  return batch;
}

}  // namespace sluice
