// LineProtocolParser: bodies of InfluxDB line protocol text parsed into the rows of a schema.
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

/// @brief LineProtocolParser settings; every field has a documented default.
struct LineProtocolOptions {
  /// Only lines of this measurement become rows (other well-formed ones count as
  /// LineOutcome::ignored); empty: every line.
  std::string measurement;
  /// The schema column that receives each line's timestamp (a timestamp or an i64 column).
  std::string time_column;
  /// Nanoseconds per unit of the lines' timestamps (the precision): 1 for ns, 1000 for us, 10^6
  /// for ms, 10^9 for s, 6 * 10^10 for m, 3.6 * 10^12 for h. Must be positive.
  std::int64_t tick_ns = 1;
  /// The event time (ns since the epoch) of lines without a timestamp.
  std::int64_t now_ns = 0;
  /// LineOutcome::problems holds at most this many rejected lines; the rest are only counted.
  std::size_t max_problems = 10;
  /// A line of more bytes (its line break not counted) is malformed.
  std::size_t max_line_bytes = 1 << 16;
};

/// @brief What a line gives a schema column, as value_kinds() reports it.
enum class PointValueKind : std::uint8_t {
  absent,  ///< neither a field nor a tag of the column's name (or the time column)
  tag,
  floating,          ///< a field: 1.5, 2
  integer,           ///< 12i
  unsigned_integer,  ///< 12u
  boolean,
  string,  ///< "text"
};

/// @brief Parses InfluxDB line protocol (v2),
/// `measurement[,tag=value...] field=value[,field=value...] [timestamp]`, one row per line.
///
/// Syntax. Lines split on '\n', a trailing '\r' dropped; blank lines and comments ('#' after
/// leading spaces and tabs) count nowhere. Leading spaces and tabs are skipped; sections are
/// separated by runs of spaces, and spaces may trail a line. In the measurement a backslash
/// escapes ',', ' ' and a backslash; in tag keys, tag values and field keys also '='; before
/// any other byte it is kept literally (`a\b` is a, backslash, b; `a\\` ends in one backslash). A
/// tag value must not be empty nor hold an unescaped '='. Field values: a float ("1", "-1.5",
/// "1e3": a number without a suffix is a float; NaN and infinities are rejected), an integer
/// ("-12i"), an unsigned integer ("12u"), a boolean ("t", "T", "true", "True", "TRUE" and the same
/// of "f"/"false") or a double-quoted string in which `\"` and `\\` are escapes (another backslash
/// is kept literally); a string cannot span lines. Every field is checked, in the schema or not.
/// The timestamp is an optional signed integer in units of `tick_ns`. A NUL byte anywhere in a
/// line makes it malformed. A well-formed line of another measurement than options().measurement
/// is ignored (a malformed one is malformed whatever it names).
///
/// Rows. Every schema column but the time column takes the field of its name, else the tag of
/// its name; other tags and fields are ignored, and of a repeated key the last counts. A field
/// fits a column of its kind: an integer or unsigned one any integral or floating column (range
/// checked), a float a floating column or an integral one when it is integral, a string a
/// string column or a timestamp column (as parse_timestamp_text reads it), a boolean a boolean
/// column. A tag's text goes into a string column as written; into another column it is read as
/// a value of the column's type (an integer, a float, a boolean word, or a timestamp as
/// parse_timestamp_text reads it). The time column takes the line's timestamp: a timestamp
/// column as a count of its unit (timestamp * tick_ns / nanos_per_unit, rounded toward negative
/// infinity), an i64 column in ticks as written; a line without one takes now_ns (in the
/// column's unit, or in ticks, rounded likewise). A line that cannot become a row is malformed:
/// it adds nothing to the builder, not even strings to its dictionaries. Its message names the
/// tag, field or column at fault ("field 'cpu': a string does not fit f64 column 'cpu'"); its
/// number is in LineProblem::line.
class LineProtocolParser {
 public:
  /// @brief Prepares a parser of rows of `schema`.
  /// @throws Error(invalid_argument) if options.time_column is not a column of `schema`, or is
  /// neither a timestamp nor an i64 column, or if options.tick_ns is not positive.
  LineProtocolParser(const Schema& schema, LineProtocolOptions options);

  /// @brief Appends one row per well-formed line of `text` to `out`, whose schema must equal
  /// the parser's, and says what became of the lines. `first_line` is the number of the first
  /// line of `text` in messages (for a stream parsed piece by piece, each piece whole lines).
  /// Lines without a timestamp take options().now_ns. Never reads outside `text`.
  /// @pre `out` has no row in progress.
  /// @throws Error(invalid_argument) when `out`'s schema differs from the parser's.
  LineOutcome parse(std::string_view text, BatchBuilder& out, std::uint64_t first_line = 1) const {
    return parse(text, out, first_line, options_.now_ns);
  }
  /// @brief As parse() above, with lines without a timestamp taking `now_ns` (ns since the
  /// epoch) instead of options().now_ns: the time a body arrived, with one parser for all.
  LineOutcome parse(std::string_view text, BatchBuilder& out, std::uint64_t first_line,
                    std::int64_t now_ns) const;

  /// @brief For schema inference: what the line gives each schema column (a field before a
  /// tag of the same name, as parse() reads them), whatever the columns' types; the time column
  /// is absent. `other_measurement`: the line is well formed but of another measurement than
  /// options().measurement. `line` is one line without its break, not blank nor a comment.
  /// @return empty when the line is well formed, else why it is not (as parse() says it).
  std::string value_kinds(std::string_view line, std::vector<PointValueKind>& kinds,
                          bool& other_measurement) const;

  const Schema& schema() const noexcept { return schema_; }
  const LineProtocolOptions& options() const noexcept { return options_; }

 private:
  struct Scratch;
  /// Checks and splits one line (as parse_line takes it) into `scratch`'s slots and the text of
  /// its timestamp (empty: none); else returns false with `scratch.problem` set.
  bool scan_line(std::string_view line, Scratch& scratch, std::string_view& timestamp,
                 bool& other_measurement) const;
  /// Parses one line (not blank, not a comment, its line break dropped) into `out`; on failure
  /// leaves `out` as it was and returns false with `scratch.problem` set.
  bool parse_line(std::string_view line, std::int64_t default_time, BatchBuilder& out,
                  Scratch& scratch, bool& ignored) const;
  /// Reads a line's timestamp (its text: not empty) into the time column's unit; else sets
  /// `problem`.
  bool read_time(std::string_view timestamp, std::int64_t& time, std::string& problem) const;
  /// Sets the cells of the line that `scratch` holds, and `time` in the time column, then ends
  /// the row; on failure discards it and sets `scratch.problem`.
  bool fill_row(std::int64_t time, BatchBuilder& out, Scratch& scratch) const;
  /// The column (other than the time column) named `name`, or -1.
  int column_named(std::string_view name) const;

  Schema schema_;
  LineProtocolOptions options_;
  std::size_t time_column_ = 0;
  /// (name, column) of every column but the time column, sorted by name.
  std::vector<std::pair<std::string, std::size_t>> columns_by_name_;
};

}  // namespace sluice::detail
