// SQL LIKE patterns: '%' matches any run of characters, '_' any one character.
#pragma once

#include <string_view>

namespace sluice::detail {

/// @brief Whether `text` matches the LIKE `pattern` as a whole: '%' stands for any run of bytes
/// (also none), '_' for one byte, every other byte for itself (case matters; no escape).
/// Linear in text.size() * pattern.size() at worst, without recursion.
bool like_match(std::string_view text, std::string_view pattern) noexcept;

}  // namespace sluice::detail
