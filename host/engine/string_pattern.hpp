// SQL LIKE patterns: '%' matches any run of characters, '_' any one character.
#pragma once

#include <string_view>

namespace sluice::detail {

/// @brief Whether `text` matches the LIKE `pattern` as a whole: '%' stands for any run of
/// characters (also none), '_' for one character (a UTF-8 code point), every other character
/// for itself (case matters; no escape). text.size() * pattern.size() steps at worst, without
/// recursion.
bool like_match(std::string_view text, std::string_view pattern) noexcept;

}  // namespace sluice::detail
