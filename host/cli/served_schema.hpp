// The schema of `sluice serve` without --schema: the types of the columns a query reads, fixed
// by the first write that gives them all, as InfluxDB types a measurement's fields.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/io/line_outcome.hpp"
#include "sluice/schema.hpp"

namespace sluice::cli {

/// @brief What the served schema is inferred for.
struct ServedSchemaRules {
  std::vector<std::string> columns;  ///< the columns the query reads, the time column among them
  std::string time_column;
  std::string measurement;  ///< line protocol: only this measurement's points count (empty: any)
  Schema overrides;         ///< --types: these columns take these types, whatever the body says
  std::size_t max_line_bytes = 1 << 16;
};

/// @brief The schema (of rules.columns, in their order) that `body` fixes: each column takes
/// its type from the first well-formed line that gives it a value. Line protocol: a tag is a
/// string, a float field f64, an integer or unsigned field i64, a boolean bool, a string
/// field a string; the time column is timestamp[ns]. JSON lines: true and false are bool, a
/// number without fraction or exponent i64, another number f64, a string a string; the time
/// column is a timestamp in the unit its first value suggests (time_unit_of_cell). A column in
/// rules.overrides takes the type given there.
/// @return the schema, or nullopt with `problem` saying which column no line gives (or why the
/// time column's value is no time).
std::optional<Schema> infer_served_schema(std::string_view body, detail::TextFormat format,
                                          const ServedSchemaRules& rules, std::string& problem);

}  // namespace sluice::cli
