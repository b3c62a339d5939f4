// SQL LIKE matching by the greedy two-pointer walk: on a mismatch after a '%', the '%' takes
// one more byte and the match resumes after it.
#include "host/engine/string_pattern.hpp"

#include <cstddef>

namespace sluice::detail {

bool like_match(std::string_view text, std::string_view pattern) noexcept {
  std::size_t t = 0, p = 0;
  std::size_t star = std::string_view::npos;  // the last '%' seen in the pattern
  std::size_t resume = 0;                     // where the text resumes after it
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || (pattern[p] != '%' && pattern[p] == text[t]))) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

}  // namespace sluice::detail
