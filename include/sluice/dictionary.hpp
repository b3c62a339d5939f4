// StringDictionary: the thread-safe, append-only map between strings and their u32 codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice {

/// @brief Dictionary encoding for string columns. Codes are dense, start at 0 and never change;
/// strings are never removed. Safe to use from several threads.
class StringDictionary {
 public:
  StringDictionary() = default;
  StringDictionary(const StringDictionary&) = delete;
  StringDictionary& operator=(const StringDictionary&) = delete;

  /// @brief The code of `text`, adding it if new.
  std::uint32_t intern(std::string_view text);
  /// @brief The code of `text`, if present.
  std::optional<std::uint32_t> find(std::string_view text) const;
  /// @brief The string of `code`; the view stays valid as long as the dictionary.
  /// @throws Error(invalid_argument) for an unknown code.
  std::string_view at(std::uint32_t code) const;
  std::size_t size() const;

 private:
  mutable std::shared_mutex mutex_;
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, std::uint32_t> codes_;
};

using DictionaryPtr = std::shared_ptr<StringDictionary>;

}  // namespace sluice
