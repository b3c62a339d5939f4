// StringDictionary: the thread-safe map between strings and their u32 codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice {

/// @brief Dictionary encoding for string columns. A code, once given, names the same string for
/// the dictionary's life; strings are never removed. Codes start at 0 and are dense, except in a
/// dictionary carried over from another (see the constructor), whose free codes are given out
/// again before new ones. Safe to use from several threads.
class StringDictionary {
 public:
  StringDictionary() = default;
  /// @brief A dictionary holding, under the same codes, the strings of `codes` in `from`
  /// (distinct codes `from` holds, in any order); every other code below from.code_limit() is
  /// free, and intern() gives those out, in ascending order, before new ones. This is how a
  /// job reclaims the strings no live window holds any more.
  /// @throws Error(invalid_argument) for a code `from` does not hold, or one given twice.
  StringDictionary(const StringDictionary& from, std::span<const std::uint32_t> codes);
  /// @brief A dictionary holding `texts[i]` under `codes[i]`; every other code below
  /// `code_limit` is free, given out in ascending order before new ones (as in a carried-over
  /// dictionary). How a job resumed from a checkpoint gets its dictionary back.
  /// @throws Error(invalid_argument) for sizes that differ, a code at or beyond `code_limit`,
  /// a code or a text given twice.
  StringDictionary(std::span<const std::uint32_t> codes, std::span<const std::string> texts,
                   std::uint32_t code_limit);
  StringDictionary(const StringDictionary&) = delete;
  StringDictionary& operator=(const StringDictionary&) = delete;

  /// @brief The code of `text`, adding it if new.
  std::uint32_t intern(std::string_view text);
  /// @brief The code of `text`, if present.
  std::optional<std::uint32_t> find(std::string_view text) const;
  /// @brief The string of `code`; the view stays valid as long as the dictionary.
  /// @throws Error(invalid_argument) for a code that names no string.
  std::string_view at(std::uint32_t code) const;
  /// @brief Whether `code` names a string.
  bool contains(std::uint32_t code) const;
  /// @brief The index of the first of `codes` that names no string, or codes.size().
  std::size_t first_unknown(std::span<const std::uint32_t> codes) const;
  /// @brief Strings held.
  std::size_t size() const;
  /// @brief One past the largest code given out (size() unless codes are free).
  std::uint32_t code_limit() const;
  /// @brief Host memory the dictionary holds, approximately (texts, their entries and index).
  std::size_t bytes() const;
  /// @brief How many codes intern() has given to new strings; code_given(i) is the i-th. A cache
  /// keyed by code follows the dictionary with them (after the codes it was built from).
  std::size_t codes_given() const;
  std::uint32_t code_given(std::size_t i) const;

 private:
  std::uint32_t next_code_locked() const;

  mutable std::shared_mutex mutex_;
  std::deque<std::string> strings_;  // by code; a free code holds an empty string
  std::vector<bool> held_;           // by code
  std::unordered_map<std::string_view, std::uint32_t> codes_;
  std::vector<std::uint32_t> free_;  // ascending: given out first, in order
  std::uint32_t carried_limit_ = 0;  // code_limit() of the dictionary carried over
  std::size_t given_ = 0;            // codes intern() gave out
  std::size_t text_bytes_ = 0;
};

using DictionaryPtr = std::shared_ptr<StringDictionary>;

}  // namespace sluice
