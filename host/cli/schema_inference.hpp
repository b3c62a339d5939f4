// Schema inference: column types from a CSV's header and its first rows.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/schema.hpp"

namespace sluice::cli {

/// @brief The first rows of a CSV input, read to infer its schema.
struct CsvSample {
  std::string read;       ///< every byte taken from the input (to replay)
  std::size_t whole = 0;  ///< of which the header and the whole rows sampled
  std::size_t rows = 0;   ///< rows in those
  std::string_view text() const { return std::string_view(read).substr(0, whole); }
};

/// @brief Reads up to `max_rows` rows (and at most `max_bytes`) after the header of `in`, only
/// whole lines. On live input (`live`) it stops early once at least one row came and the
/// input has paused for `pause` ms, so a slow producer is not waited for.
CsvSample sample_csv(std::istream& in, bool live, std::size_t max_rows = 1000,
                     std::size_t max_bytes = std::size_t{1} << 20, int pause = 200);

/// @brief One column's inferred type and why.
struct InferredColumn {
  std::string name;
  DataType type;
  std::string reason;  ///< "integers", "RFC 3339 times with 3 fraction digits", ...
  bool overridden = false;
};

/// @brief Infers every column of `sample`'s header: the first of bool (true/false), i64, f64,
/// timestamp (RFC 3339 / ISO 8601: ms, or us or ns when fractions have more digits) and string
/// that reads every non-empty sampled cell (no cells: string). The event-time column
/// `time_column` becomes a timestamp when its cells are numbers, in the unit their size
/// suggests for times of this era (below 1e11: s, 1e14: ms, 1e17: us, else ns).
/// `overrides` ("name:type,...", parse_schema's syntax) replaces the types it names.
/// @throws Error(malformed_input) without a header; Error(invalid_argument) for an override of
/// a column the header lacks; Error(parse_error) for a bad override.
std::vector<InferredColumn> infer_columns(const CsvSample& sample, const std::string& name,
                                          const std::string& time_column,
                                          std::string_view overrides = {});

/// @brief The unit an event-time cell suggests, as infer_columns() reads a time column: RFC 3339
/// text by its fraction digits (none: s, up to 3: ms, 6: us, else ns), a number by its size;
/// nullopt for other text.
std::optional<TimeUnit> time_unit_of_cell(std::string_view cell);

/// @brief The schema of the columns in `names` that `columns` has, in `columns`' order.
Schema schema_of(const std::vector<InferredColumn>& columns, const std::vector<std::string>& names);

/// @brief A stream buffer that serves `prefix` first, then what `rest` serves (the input after
/// a sample was taken from it); in_avail() counts both, so a live reader sees the prefix ready.
class ReplayBuffer final : public std::streambuf {
 public:
  ReplayBuffer(std::string prefix, std::streambuf* rest);

 protected:
  int_type underflow() override;
  std::streamsize showmanyc() override;

 private:
  std::string prefix_;
  bool prefix_done_ = false;
  std::streambuf* rest_;
  std::vector<char> chunk_;
};

}  // namespace sluice::cli
