// SQL LIKE matching by the greedy two-pointer walk: on a mismatch after a '%', the '%' takes
// one more character and the match resumes after it. Characters are UTF-8 code points, so '_'
// takes all the bytes of one (a byte that starts no valid sequence counts as a character).
#include "host/engine/string_pattern.hpp"

#include <cstddef>

namespace sluice::detail {
namespace {

/// Bytes of the character that starts at text[at] (at < text.size()).
std::size_t char_bytes(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t n = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xe  ? 3
                  : (lead >> 3) == 0x1e ? 4
                                        : 1;
  if (at + n > text.size()) return 1;
  for (std::size_t i = 1; i < n; ++i)
    if ((static_cast<unsigned char>(text[at + i]) & 0xc0) != 0x80) return 1;
  return n;
}

}  // namespace

bool like_match(std::string_view text, std::string_view pattern) noexcept {
  std::size_t t = 0, p = 0;
  std::size_t star = std::string_view::npos;  // the last '%' seen in the pattern
  std::size_t resume = 0;                     // where the text resumes after it
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '_') {
      t += char_bytes(text, t);
      p += char_bytes(pattern, p);
    } else if (p < pattern.size() && pattern[p] != '%' && pattern[p] == text[t]) {
      ++t;  // a multi-byte character matches byte by byte
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      resume += char_bytes(text, resume);
      t = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

}  // namespace sluice::detail
