// CsvReader: streams a headed CSV file into BatchBuilder rows, typed by a Schema.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/schema.hpp"

namespace sluice::detail {

/// @brief What to do with a malformed row.
enum class OnMalformed : std::uint8_t {
  skip,  ///< report it (the first `max_reported` messages) and drop it
  fail,  ///< throw Error(malformed_input)
};

/// @brief CsvReader settings; every field has a documented default.
struct CsvOptions {
  OnMalformed on_malformed = OnMalformed::skip;
  std::size_t max_reported = 10;        ///< skipped rows reported one by one; the rest are counted
  std::ostream* diagnostics = nullptr;  ///< where skipped rows are reported; nullptr = std::cerr
};

/// @brief Reads a CSV stream with a header row, one record at a time (the stream is never
/// loaded whole). Fields split on commas; a field may be double-quoted ("" is a quote, and a
/// quoted field may span lines); a trailing CR is dropped; blank lines are ignored. Schema
/// columns are matched to header names; extra CSV columns are ignored. Cells are parsed per
/// column type (integers and timestamps in their unit as integers, floats, bool as
/// true/false/1/0, strings as written).
class CsvReader {
 public:
  /// @brief Reads the header. `name` names the stream in messages ("data.csv", "stdin").
  /// @throws Error(unknown_column) when a schema column is missing from the header;
  /// Error(malformed_input) when there is no header; Error(io_error) when the stream fails.
  CsvReader(std::istream& in, std::string name, const Schema& schema, CsvOptions options = {});

  /// @brief Appends up to `max_rows` well-formed rows to `builder`, whose schema must be the
  /// reader's. Malformed rows are skipped or thrown per the options; at the end of input a
  /// summary of skipped rows is reported.
  /// @return false once the input is exhausted (rows may still have been appended).
  /// @throws Error(malformed_input) with "FILE:LINE: ..." under OnMalformed::fail;
  /// Error(io_error) when the stream fails; Error(invalid_argument) on a builder schema mismatch.
  bool read_into(BatchBuilder& builder, std::size_t max_rows);

  /// @brief Malformed rows seen so far.
  std::uint64_t malformed() const noexcept { return malformed_; }
  /// @brief Well-formed rows appended so far.
  std::uint64_t rows() const noexcept { return rows_; }
  /// @brief The 1-based line number of the last line read (the header is line 1).
  std::uint64_t line() const noexcept { return line_; }
  const std::string& name() const noexcept { return name_; }

 private:
  bool next_record();
  bool read_line(std::string& out);
  bool split_record();
  std::string parse_row(BatchBuilder& builder);
  void report(const std::string& message);
  void finish_input();

  std::istream& in_;
  std::string name_;
  Schema schema_;
  CsvOptions options_;
  std::vector<std::size_t> field_of_column_;  ///< CSV field index of each schema column
  std::size_t header_fields_ = 0;
  std::string record_;               ///< the current record's text (lines joined by '\n')
  std::vector<std::string> fields_;  ///< the current record's fields, unquoted
  std::size_t num_fields_ = 0;
  std::uint64_t record_line_ = 0;  ///< line where the current record starts
  std::uint64_t line_ = 0;
  std::uint64_t rows_ = 0;
  std::uint64_t malformed_ = 0;
  bool at_end_ = false;
  bool unterminated_ = false;  ///< the current record ends inside a quoted field
  bool summarized_ = false;
};

}  // namespace sluice::detail
