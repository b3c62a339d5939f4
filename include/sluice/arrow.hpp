// Arrow C data interface: record batches in and out of Sluice without the Arrow library.
#pragma once

#include <cstdint>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/schema.hpp"

// The two structs of the Arrow C data interface (a stable ABI; any Arrow implementation that
// defines them first guards them with ARROW_C_DATA_INTERFACE, as here).
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

extern "C" {

/// @brief The type of an array: a format string ("l" int64, "u" utf8, "+s" struct, ...), a
/// name, children, a dictionary's type; freed by calling `release`.
struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

/// @brief The data of an array: its length, nulls, offset, buffers (validity first), children
/// and dictionary; freed by calling `release`.
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};

}  // extern "C"

#endif  // ARROW_C_DATA_INTERFACE

namespace sluice {

/// @brief A record batch read from Arrow: the rows without a null in the columns read, and how
/// many rows had one (the engine has no nulls: such rows are dropped, and a job counts them as
/// malformed).
struct ArrowImport {
  Batch batch;
  std::uint64_t rows_with_nulls = 0;
};

/// @brief Reads an Arrow record batch (a struct array, `schema` "+s", one child per column) as
/// a Batch of `target`: each target column is the child of its name (other children are
/// ignored). Moves `array` in (its `release` is set to null; the Batch and its copies release
/// it once the last of them goes) and only reads `schema`, which stays the caller's.
///
/// Columns whose Arrow type is the column's storage are read in place: int32, uint32, int64,
/// uint64, float32, float64, and timestamps of the column's unit (any time zone: the values are
/// UTC epoch counts) or int64 for a timestamp column. Other numeric types (8 to 64 bits, signed
/// or not, floats) are converted as BatchBuilder converts values (range checked), timestamps
/// of other units scaled (toward the past), booleans unpacked from bits. Strings (utf8, large
/// utf8, and dictionary-encoded utf8 with integer indices, the dictionary interned once) are
/// coded with `dictionaries[column]` (after every other column is read, so a batch refused for
/// a value adds no strings). Rows with a null in a target column, in the struct, or naming a
/// null dictionary entry are dropped and counted; then every column is copied. When no column
/// is read in place the array is released before this returns. Timestamps also go into i64
/// columns, as counts of their unit (in place).
/// @pre `target`'s string columns have a dictionary in `dictionaries` (indexed by column).
/// @throws Error(unknown_column) naming a target column that is not a child;
/// Error(type_mismatch) naming a column whose Arrow type it cannot take or a value out of
/// range; Error(invalid_argument) for a released or malformed array or schema (nothing is
/// moved then).
ArrowImport import_arrow(ArrowArray* array, const ArrowSchema* schema, const Schema& target,
                         const std::vector<DictionaryPtr>& dictionaries);

/// @brief Writes `batch` as an Arrow record batch into `out_array` and `out_schema` (both
/// become the caller's to release): a struct of one child per column, named by the schema;
/// numbers as their type, booleans as bits, timestamps as "ts?:UTC" of their unit, strings as
/// utf8 (large utf8 beyond 2 GiB). The values are copied once (a sink's batch is valid only
/// during its call), so the export outlives `batch`.
void export_arrow(const Batch& batch, ArrowArray* out_array, ArrowSchema* out_schema);

}  // namespace sluice
