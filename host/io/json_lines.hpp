// JsonLinesParser: a body of JSON lines (one flat JSON object per line) parsed into typed columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/io/line_outcome.hpp"
#include "sluice/batch.hpp"
#include "sluice/schema.hpp"

namespace sluice::detail {

/// @brief JsonLinesParser settings; every field has a documented default.
struct JsonLinesOptions {
  std::size_t max_problems = 10;         ///< LineOutcome::problems cap
  std::size_t max_line_bytes = 1 << 16;  ///< a longer line (line break not counted) is malformed
  std::size_t max_depth = 64;  ///< nesting allowed in values the schema does not read (skipped)
};

/// @brief The value a JSON line gives a column, as JsonLinesParser::values_of() reports it.
struct JsonValueSeen {
  enum class Kind : std::uint8_t { absent, null, boolean, integer, number, string, container };
  Kind kind = Kind::absent;  ///< integer: a number without fraction or exponent
  std::string text;          ///< a number's text, or a string's (unescaped)
};

/// @brief Parses JSON lines into rows of a schema. Each non-blank line must be exactly one JSON
/// object (RFC 8259, UTF-8, whitespace around tokens); its keys name schema columns exactly
/// (after unescaping), a key given twice takes its last value, and keys the schema does not name
/// are skipped whatever their value (objects and arrays nested up to `max_depth`). Every schema
/// column must be present and not null. Values by column type:
///   - integer columns (i32, i64, u32, u64): a number with an integral value that fits, read
///     exactly ("1e3" and "2.0" are 1000 and 2; "2.5" is rejected);
///   - float columns (f32, f64): a number, rounded to nearest (one that overflows is rejected);
///   - timestamp columns: a number, a count of the column's unit (a fraction below one unit
///     is dropped towards the past: -1.5 is -2), or a string read by parse_timestamp_text
///     (RFC 3339 text or a count of the unit);
///   - bool columns: true or false;
///   - string columns: a string.
/// Anything else (a quoted number for a numeric column, an object for a schema column, ...) makes
/// the line malformed. A malformed line is dropped, counted and, up to `max_problems` of them,
/// reported with its number and a message naming the column or the byte ("column 14: expected
/// ':'", 1-based within the line); the lines after it are read as usual. Strings of a line are
/// added to the builder's dictionaries only once the whole line has been found well-formed.
/// Safe on arbitrary bytes: bounded work per byte, no recursion.
class JsonLinesParser {
 public:
  /// @brief A parser for rows of `schema` (the schema of the builders given to parse()).
  explicit JsonLinesParser(const Schema& schema, JsonLinesOptions options = {});

  /// @brief Appends one row per well-formed line of `text` to `out`. Lines split on '\n', with a
  /// trailing '\r' dropped; blank lines (only whitespace) are skipped and counted nowhere, though
  /// they are numbered. `first_line` is the number of text's first line, for the problems.
  /// Precondition: `out` has this parser's schema and no row in progress.
  /// @throws Error(invalid_argument) when `out` has another schema.
  LineOutcome parse(std::string_view text, BatchBuilder& out, std::uint64_t first_line = 1) const;

  /// @brief For schema inference: the value `line` (one non-blank line, without its break)
  /// gives each schema column, whatever the columns' types.
  /// @return empty when the line is a well-formed object, else why not (as parse() says it).
  std::string values_of(std::string_view line, std::vector<JsonValueSeen>& values) const;

  const Schema& schema() const noexcept { return schema_; }
  const JsonLinesOptions& options() const noexcept { return options_; }

 private:
  struct LineScratch;
  /// @brief Parses one non-blank line (no '\n', trailing '\r' dropped) into a row of `out`.
  /// @returns an empty string on success, else why the line is malformed (the row discarded).
  std::string parse_line(std::string_view line, BatchBuilder& out, LineScratch& scratch) const;
  /// @brief Pass 1 of parse_line: the syntax of the whole line, the last value of each schema
  /// column's key kept in `scratch.cells`. @returns why the line is malformed, or empty.
  std::string scan_line(std::string_view line, LineScratch& scratch) const;
  /// @brief The schema column named `name`, or -1.
  std::ptrdiff_t column_of(std::string_view name) const;

  Schema schema_;
  JsonLinesOptions options_;
  /// Column names and their schema indices, sorted by name, for binary search.
  std::vector<std::pair<std::string, std::size_t>> column_by_name_;
  /// Schema columns in the order their cells are set: non-string columns first, strings last.
  std::vector<std::size_t> set_order_;
};

}  // namespace sluice::detail
