// Suggestions for misspelt command-line words: the nearest known word by edit distance.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace sluice::cli {

/// @brief The edit distance between `a` and `b`: insertions, deletions, substitutions and
/// swaps of two neighbouring characters, each counting one.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// @brief The candidate nearest to `word` if it is near enough to be a slip (at most 2 edits,
/// and fewer than half of `word`'s characters), the first of equals; else "".
std::string nearest(std::string_view word, std::span<const std::string_view> candidates);

/// @brief " (did you mean 'X'?)" for the nearest candidate, or "" when none is near.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace sluice::cli
