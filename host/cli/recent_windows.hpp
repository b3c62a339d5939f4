// RecentWindows: the latest result rows a job fired, kept as JSON objects for GET /windows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <streambuf>
#include <string>

namespace sluice::cli {

/// @brief A stream buffer that keeps the last `capacity` lines written to it: a ResultWriter
/// writing JSON lines into it keeps the latest windows, one JSON object each. Writes (from the
/// writer) and reads (json(), from a server's threads) may run at once.
class RecentWindows final : public std::streambuf {
 public:
  explicit RecentWindows(std::size_t capacity) : capacity_(capacity) {}

  /// @brief The kept rows as a JSON array, oldest first: the newest `limit` of them.
  std::string json(std::size_t limit) const;
  /// @brief Rows written so far, kept or not.
  std::uint64_t total() const;

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* text, std::streamsize count) override;

 private:
  void append(const char* text, std::size_t count);

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<std::string> rows_;
  std::string partial_;  ///< a line not yet ended
  std::uint64_t total_ = 0;
};

}  // namespace sluice::cli
