// ResultWriter: writes fired windows as CSV rows to a file or stdout.
#pragma once

#include <cstdint>
#include <fstream>
#include <iosfwd>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/result.hpp"
#include "sluice/value.hpp"

namespace sluice::cli {

/// @brief `text` as a CSV field: quoted (with "" for quotes) when it holds a comma, a quote or
/// a line break.
std::string csv_field(std::string_view text);

/// @brief Writes "window_start,window_end,<keys>,<aggregates>" and then one row per
/// WindowResult, in the order the sink receives them. Safe to call write() from an engine
/// thread while the caller's thread does other work.
class ResultWriter {
 public:
  ResultWriter(std::vector<std::string> key_names, std::vector<std::string> aggregate_names);

  /// @brief Opens `path` ("-" is stdout). @throws Error(io_error) when it cannot be opened.
  void open(const std::string& path);
  void write_header();
  /// @brief Appends rows; the sink of the job.
  void write(std::span<const WindowResult> windows);
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
  std::string line_;
  std::uint64_t rows_ = 0;
  bool stopped_ = false;
};

}  // namespace sluice::cli
