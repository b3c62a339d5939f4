// ResultWriter: writes result batches as CSV rows, straight from their columns.
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

/// @brief Writes "window_start,window_end,<keys>,<aggregates>" and then one row per result row
/// (the result batch's columns but `update`), in the order the sink receives them. Safe to call
/// write() from an engine thread while the caller's thread does other work.
class ResultWriter {
 public:
  /// @param columns the header: every column of the result schema but `update`.
  explicit ResultWriter(std::vector<std::string> columns);

  /// @brief Opens `path` ("-" is stdout). @throws Error(io_error) when it cannot be opened.
  void open(const std::string& path);
  /// @brief Opens `path` to continue output a checkpoint committed: cut to its first `bytes`
  /// bytes (what commit() returned then), later rows appended. @throws Error(io_error) when it
  /// cannot be opened or is shorter.
  void open_at(const std::string& path, std::uint64_t bytes);
  void write_header();
  /// @brief Flushes and syncs the file (a checkpoint's commit_sinks). @return the bytes written,
  /// header included. @throws Error(io_error) if a write or the sync failed.
  std::uint64_t commit();
  /// @brief Appends the rows of a result batch; the sink of the job.
  void write(const Batch& results);
  /// @brief Flushes. @throws Error(io_error) if any write failed.
  void close();
  /// @brief Ignores every later write() (the run failed; its windows are not results).
  void stop();
  std::uint64_t rows() const;

 private:
  std::vector<std::string> columns_;
  std::ofstream file_;
  std::ostream* out_ = nullptr;
  std::string path_;
  mutable std::mutex mutex_;
  std::string text_;
  std::vector<ColumnView> views_;
  std::uint64_t rows_ = 0;
  std::uint64_t bytes_ = 0;  ///< of the file, as written
  bool stopped_ = false;
};

}  // namespace sluice::cli
