// Small text helpers shared by the API parsers (trimming, quoting); internal to host/api.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace sluice::detail {

inline bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

/// @brief `text` without leading and trailing whitespace.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

/// @brief `text` in single quotes, for error messages.
inline std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

}  // namespace sluice::detail
