// LineOutcome: what parsing a body of text lines (Influx line protocol, JSON lines) into rows
// found, line by line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::detail {

/// @brief The text formats of bodies of lines.
enum class TextFormat : unsigned char { line_protocol, json_lines };

/// @brief One rejected line of a body: its number (the body's first line is `first_line` of
/// the parse call, 1 unless told) and why, naming the column or byte at fault.
struct LineProblem {
  std::uint64_t line = 0;
  std::string message;
};

/// @brief What one parse call did with its lines. Blank lines (and line-protocol comments)
/// count nowhere.
struct LineOutcome {
  std::uint64_t rows = 0;       ///< lines appended as rows
  std::uint64_t malformed = 0;  ///< lines rejected (each is also in `problems`, up to its cap)
  std::uint64_t ignored = 0;    ///< well-formed lines the caller filtered out (another measurement)
  std::vector<LineProblem> problems;  ///< the first `max_problems` rejected lines, in order

  /// @brief Counts line `line` as rejected, keeping its message while fewer than
  /// `max_problems` are kept.
  void reject(std::uint64_t line, std::string message, std::size_t max_problems) {
    ++malformed;
    if (problems.size() < max_problems) problems.push_back({line, std::move(message)});
  }

  /// @brief Adds `other`'s counts and (up to `max_problems` in all) its problems.
  void merge(const LineOutcome& other, std::size_t max_problems) {
    rows += other.rows;
    malformed += other.malformed;
    ignored += other.ignored;
    for (const LineProblem& p : other.problems) {
      if (problems.size() >= max_problems) break;
      problems.push_back(p);
    }
  }
};

/// @brief Calls `take(line, number)` for each line of `text`, split on '\n' with a trailing '\r'
/// dropped, numbered from `first_line` (a last line without a line break included).
template <class Take>
void for_each_line(std::string_view text, std::uint64_t first_line, Take&& take) {
  std::uint64_t number = first_line;
  for (std::size_t start = 0; start < text.size(); ++number) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    take(line, number);
  }
}

}  // namespace sluice::detail
