// ResultWriter: writes result batches as CSV, JSON lines or text tables, straight from columns.
#pragma once

#include <cstdint>
#include <fstream>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/batch.hpp"

namespace sluice::cli {

/// @brief `text` as a CSV field: quoted (with "" for quotes) when it holds a comma, a quote or
/// a line break.
std::string csv_field(std::string_view text);

/// @brief The text form of the output (--format).
enum class OutputFormat : std::uint8_t {
  csv,    ///< a header row, then one row per result row
  jsonl,  ///< one JSON object per row, named by the columns
  table,  ///< each emission as a table with aligned columns, for reading on a terminal
};

/// @brief How timestamp columns are written (--time-format).
enum class TimeFormat : std::uint8_t {
  epoch,  ///< the count of the column's unit since 1970, as the input had it
  iso,    ///< RFC 3339 in UTC, with the unit's fraction digits
};

/// @brief Which result rows a writer takes (--updates): re-emissions of a window carry
/// `update` = true.
enum class UpdateRows : std::uint8_t {
  column,  ///< every row, and the `update` column after the others
  skip,    ///< the rows that are not updates
  only,    ///< the updates alone (the second output of --updates separate)
  every,   ///< every row, without the `update` column (the keys of a Kafka sink's rows)
};

/// @brief How the writer prints one column of the batches.
struct OutputColumn {
  enum class Print : std::uint8_t {
    value,         ///< as its type
    as_f32,        ///< an f64 that holds a value of an f32 column (its min, max, first, last)
    window_bound,  ///< a window bound: empty (JSON null) for the global window
  };
  std::string name;
  Print print = Print::value;
  std::size_t source = 0;  ///< the batch column it shows (result batches)
};

/// @brief Formats of every column, for one output.
struct OutputStyle {
  OutputFormat format = OutputFormat::csv;
  TimeFormat time_format = TimeFormat::epoch;
  bool global_window = false;  ///< window bounds are written empty
};

/// @brief Writes batches in the order the sink receives them, each emission flushed at once.
/// Numbers are written as the shortest text that reads back to the same value of their type.
/// Safe to call write() from an engine thread while the caller's thread does other work.
class ResultWriter {
 public:
  /// @brief A writer of result batches: `columns` name the batch columns they show (by
  /// `source`, in the order given); the batch's last column (`update`) is written after them
  /// as `updates` says.
  ResultWriter(std::vector<OutputColumn> columns, OutputStyle style, UpdateRows updates);
  /// @brief A writer of every column and row of whatever batches come (late events), named
  /// from the first batch's schema; a CSV header comes with the first batch.
  explicit ResultWriter(OutputStyle style);

  /// @brief Opens `path` ("-" is stdout). @throws Error(io_error) when it cannot be opened.
  void open(const std::string& path);
  /// @brief Writes to `out`, which must outlive the writer; `name` names it in messages.
  void open(std::ostream& out, std::string name);
  /// @brief Opens `path` to continue output a checkpoint committed: cut to its first `bytes`
  /// bytes (what commit() returned then), later rows appended. @throws Error(io_error) when it
  /// cannot be opened or is shorter.
  void open_at(const std::string& path, std::uint64_t bytes);
  /// @brief Writes the CSV header (other formats have none). A writer never opened writes
  /// nothing: not its header, rows or close.
  void write_header();
  /// @brief Flushes and syncs the file (a checkpoint's commit_sinks). @return the bytes written,
  /// header included. @throws Error(io_error) if a write or the sync failed.
  std::uint64_t commit();
  /// @brief Appends the rows of a batch; a sink of the job.
  /// @throws Error(io_error) when the output cannot be written.
  void write(const Batch& batch);
  /// @brief Flushes. @throws Error(io_error) if any write failed.
  void close();
  /// @brief Ignores every later write() (the run failed; its windows are not results).
  void stop();
  std::uint64_t rows() const;

 private:
  void write_text();
  void append_csv_header();

  std::vector<OutputColumn> columns_;
  OutputStyle style_;
  UpdateRows updates_ = UpdateRows::column;
  bool result_batches_ = true;  ///< else every column of any batch
  bool header_due_ = false;     ///< a CSV header to write before the first batch's rows
  std::ofstream file_;
  std::ostream* out_ = nullptr;
  std::string path_;
  mutable std::mutex mutex_;
  std::string text_;
  std::vector<ColumnView> views_;
  std::vector<std::uint32_t> kept_;  ///< rows of the batch being written
  std::vector<std::vector<std::string>> table_rows_;
  std::uint64_t rows_ = 0;
  std::uint64_t bytes_ = 0;  ///< of the file, as written
  bool stopped_ = false;
};

}  // namespace sluice::cli
