// Batch: a columnar chunk of events (struct of arrays), built row by row or wrapping caller arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sluice/dictionary.hpp"
#include "sluice/schema.hpp"
#include "sluice/value.hpp"

namespace sluice {

namespace detail {
struct BatchAccess;
}  // namespace detail

/// @brief A non-owning view of one column plus, for strings, the dictionary of its codes.
struct ColumnView {
  DataType type;
  const void* data = nullptr;  ///< `rows` values of type_width(type.id) bytes each
  const StringDictionary* dictionary = nullptr;  ///< set for string columns
};

/// @brief A columnar batch of rows. Columns are either owned (built) or borrowed (wrapped);
/// copies share the underlying storage.
class Batch {
 public:
  Batch() = default;

  /// @brief Wraps caller arrays without copying. `columns[i]` points to `rows` values of
  /// schema column i (bool as 1 byte, strings as u32 codes of `dictionaries[i]`). The arrays
  /// must outlive the Batch and every copy of it, or be owned by `keep_alive`, which the
  /// Batch and its copies hold. A Job reads pushed batches in place: see Job::push.
  /// @throws Error(invalid_argument) on a column count mismatch, a string column with no
  /// dictionary, or a string code that is not in its column's dictionary (every code is
  /// checked here, once: dictionaries only grow).
  static Batch wrap(Schema schema, std::vector<const void*> columns, std::size_t rows,
                    std::vector<DictionaryPtr> dictionaries = {},
                    std::shared_ptr<const void> keep_alive = {});

  const Schema& schema() const noexcept { return schema_; }
  std::size_t rows() const noexcept { return rows_; }
  std::size_t num_columns() const noexcept { return columns_.size(); }
  ColumnView column(std::size_t i) const;
  /// @brief Typed view of column i. T must match the column's storage (int64_t for timestamps,
  /// uint32_t codes for strings, uint8_t for bool).
  /// @throws Error(type_mismatch) when it does not.
  template <class T>
  std::span<const T> values(std::size_t i) const {
    check_storage(i, sizeof(T), storage_tag<T>());
    return {static_cast<const T*>(columns_[i].data), rows_};
  }
  const DictionaryPtr& dictionary(std::size_t i) const { return dictionaries_.at(i); }
  /// @brief Cell (row, column) as a Value (strings decoded).
  Value at(std::size_t row, std::size_t column) const;
  /// @brief Rows [begin, begin + count) sharing this batch's storage.
  Batch slice(std::size_t begin, std::size_t count) const;
  /// @brief A batch owning a copy of this one's values (same schema and dictionaries): what a
  /// sink keeps of a batch that is valid only during its call.
  Batch copy() const;

 private:
  friend class BatchBuilder;
  friend struct detail::BatchAccess;
  struct Storage;
  template <class T>
  static constexpr int storage_tag() {
    if constexpr (std::is_floating_point_v<T>)
      return 1;
    else if constexpr (std::is_signed_v<T>)
      return 2;
    else
      return 3;
  }
  void check_storage(std::size_t i, std::size_t width, int tag) const;

  Schema schema_;
  std::vector<ColumnView> columns_;
  std::vector<DictionaryPtr> dictionaries_;
  std::shared_ptr<const void> owner_;
  std::size_t rows_ = 0;
};

/// @brief Builds a Batch row by row. String cells are encoded with the builder's dictionaries
/// (one per string column; fresh ones unless given). Not thread-safe.
class BatchBuilder {
 public:
  explicit BatchBuilder(Schema schema, std::vector<DictionaryPtr> dictionaries = {});

  /// @brief Appends one row, one Value per column, converted to the column's type.
  /// @throws Error(type_mismatch) naming the column when a value does not fit it.
  void append_row(std::span<const Value> row);
  void append_row(std::initializer_list<Value> row) {
    append_row(std::span<const Value>(row.begin(), row.size()));
  }
  /// Typed cell setters for the current row; call each column once, then end_row().
  void set_int(std::size_t column, std::int64_t v);
  void set_uint(std::size_t column, std::uint64_t v);
  void set_double(std::size_t column, double v);
  void set_bool(std::size_t column, bool v);
  void set_string(std::size_t column, std::string_view v);
  /// @brief Finishes the current row.
  /// @throws Error(invalid_argument) if some column was not set.
  void end_row();
  /// @brief Drops the cells set since the last end_row().
  void discard_row();

  std::size_t rows() const noexcept { return rows_; }
  const Schema& schema() const noexcept { return schema_; }
  const DictionaryPtr& dictionary(std::size_t column) const { return dictionaries_.at(column); }
  /// @brief Returns the rows built so far and starts an empty batch (same dictionaries).
  Batch finish();

 private:
  void* cell(std::size_t column);
  Schema schema_;
  std::vector<DictionaryPtr> dictionaries_;
  std::vector<std::vector<std::byte>> data_;
  std::vector<std::uint8_t> set_;
  std::size_t set_count_ = 0;
  std::size_t rows_ = 0;
};

}  // namespace sluice
