// Lookup tables: the broadcast state a program reads (`limits.max_cpu`), as read-only views of
// a hash index over key words and a row-major block of value words, for host and device.
#pragma once

#include <cstdint>

#include "kernels/ops/hash.hpp"
#include "kernels/ops/hd.hpp"
#include "kernels/table/open_addressing.hpp"

namespace sluice::detail {

/// Broadcast inputs (at most 4) and LIKE patterns' code sets together.
inline constexpr int kMaxLookupTables = 8;
inline constexpr int kMaxLookupColumns = 64;
/// @brief The column index of Op::lookup that asks whether the key has a row (a boolean).
inline constexpr std::uint32_t kLookupFound = 0xffff;

/// @brief The hash a lookup table indexes a key word by.
SLUICE_HD inline std::uint64_t lookup_hash(std::uint64_t key_word) {
  return hash_combine(kKeyHashSeed, key_word);
}

/// @brief One table: `rows` rows, row r with key word keys[r] and value words
/// values[r * columns + c] (program value words of the column's type). Keys that span a short
/// range (string codes of one dictionary, most integer ids) are indexed directly: the row of
/// key k is direct[k - direct_base] (kNotFound for none) when k - direct_base < direct_size.
/// Otherwise `slots` (mask + 1 of them) index the rows through the open-addressing core.
/// Trivially copyable; all pointers in the memory of the executor that reads it. A table with
/// no rows has neither index.
struct LookupTableView {
  const std::uint64_t* slots = nullptr;
  const std::uint32_t* direct = nullptr;
  const std::uint64_t* keys = nullptr;
  const std::uint64_t* values = nullptr;
  std::uint64_t mask = 0;
  std::uint64_t direct_base = 0;
  std::uint64_t direct_size = 0;
  std::uint32_t rows = 0;
  std::uint32_t columns = 0;

  /// @brief The row of `key_word`, or kNotFound.
  SLUICE_HD std::uint32_t find(std::uint64_t key_word) const {
    if (direct != nullptr) {
      const std::uint64_t at = key_word - direct_base;
      return at < direct_size ? direct[at] : kNotFound;
    }
    if (rows == 0) return kNotFound;
    // The index is never written while a view of it exists: the core's loads read it plainly.
    const OpenAddressingRef<cuda::thread_scope_thread> index{const_cast<std::uint64_t*>(slots),
                                                             mask};
    return index.find(lookup_hash(key_word),
                      [&](std::uint32_t row) { return keys[row] == key_word; });
  }

  /// @brief Value word `column` of the row of `key_word` (`missing` when there is none), or
  /// with column == kLookupFound 1 when there is a row and 0 otherwise.
  SLUICE_HD std::uint64_t lookup(std::uint64_t key_word, std::uint32_t column,
                                 std::uint64_t missing) const {
    const std::uint32_t row = find(key_word);
    if (column == kLookupFound) return row != kNotFound ? 1 : 0;
    return row != kNotFound ? values[static_cast<std::uint64_t>(row) * columns + column] : missing;
  }
};

/// @brief The lookup tables one batch's programs read (the broadcast state in effect for it).
struct LookupTables {
  LookupTableView table[kMaxLookupTables] = {};
  int count = 0;
};

/// @brief The immediate of Op::lookup: table and column (or kLookupFound).
SLUICE_HD inline std::uint64_t lookup_immediate(int table, std::uint32_t column) {
  return (static_cast<std::uint64_t>(table) << 32) | column;
}
SLUICE_HD inline int lookup_table_of(std::uint64_t imm) { return static_cast<int>(imm >> 32); }
SLUICE_HD inline std::uint32_t lookup_column_of(std::uint64_t imm) {
  return static_cast<std::uint32_t>(imm);
}

}  // namespace sluice::detail
