// Schema: the named, typed columns of a stream.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/types.hpp"

namespace sluice {

/// @brief One named column.
struct Field {
  std::string name;
  DataType type;
};

/// @brief Ordered list of uniquely named columns.
class Schema {
 public:
  Schema() = default;
  /// @throws Error(invalid_argument) on an empty or duplicate name.
  explicit Schema(std::vector<Field> fields);

  std::size_t size() const noexcept { return fields_.size(); }
  const Field& field(std::size_t i) const { return fields_.at(i); }
  const std::vector<Field>& fields() const noexcept { return fields_; }
  /// @brief Index of the column named `name`, if any.
  std::optional<std::size_t> find(std::string_view name) const;
  /// @brief Index of the column named `name`.
  /// @throws Error(unknown_column) naming the column and listing the known ones.
  std::size_t index_of(std::string_view name) const;
  /// @brief "ts:timestamp[ms],host:string,..."
  std::string to_string() const;

  friend bool operator==(const Schema& a, const Schema& b);

 private:
  std::vector<Field> fields_;
};

/// @brief Parses "name:type,name:type,..." (types as in parse_type).
/// @throws Error(parse_error) naming the entry at fault.
Schema parse_schema(std::string_view text);

}  // namespace sluice
