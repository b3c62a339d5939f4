// StringDictionary: thread-safe interning of strings to u32 codes, and carrying live ones over.
#include "sluice/dictionary.hpp"

#include <algorithm>
#include <mutex>
#include <string>

#include "sluice/status.hpp"

namespace sluice {
namespace {

/// Bytes one string costs besides its text beyond the small-string buffer: its slot, its flag
/// and its entry in the index (node, bucket), approximately.
constexpr std::size_t kEntryBytes = sizeof(std::string) + 48;
constexpr std::size_t kInlineText = 15;

std::size_t text_bytes(std::string_view text) {
  return text.size() > kInlineText ? text.size() + 1 : 0;
}

}  // namespace

StringDictionary::StringDictionary(const StringDictionary& from,
                                   std::span<const std::uint32_t> codes) {
  std::shared_lock lock(from.mutex_);
  const auto limit = static_cast<std::uint32_t>(from.strings_.size());
  strings_.resize(limit);
  held_.assign(limit, false);
  codes_.reserve(codes.size());
  for (std::uint32_t code : codes) {
    if (code >= limit || !from.held_[code])
      throw Error(ErrorCode::invalid_argument,
                  "StringDictionary: code " + std::to_string(code) + " names no string");
    if (held_[code])
      throw Error(ErrorCode::invalid_argument,
                  "StringDictionary: code " + std::to_string(code) + " given twice");
    held_[code] = true;
    strings_[code] = from.strings_[code];
    text_bytes_ += text_bytes(strings_[code]);
  }
  for (std::uint32_t code : codes) codes_.emplace(std::string_view(strings_[code]), code);
  for (std::uint32_t code = 0; code < limit; ++code)
    if (!held_[code]) free_.push_back(code);
  carried_limit_ = limit;
}

StringDictionary::StringDictionary(std::span<const std::uint32_t> codes,
                                   std::span<const std::string> texts, std::uint32_t code_limit) {
  if (codes.size() != texts.size())
    throw Error(ErrorCode::invalid_argument, "StringDictionary: " + std::to_string(codes.size()) +
                                                 " codes for " + std::to_string(texts.size()) +
                                                 " strings");
  strings_.resize(code_limit);
  held_.assign(code_limit, false);
  codes_.reserve(codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const std::uint32_t code = codes[i];
    if (code >= code_limit || held_[code])
      throw Error(ErrorCode::invalid_argument,
                  "StringDictionary: code " + std::to_string(code) +
                      (code >= code_limit ? " at or beyond the limit " + std::to_string(code_limit)
                                          : std::string(" given twice")));
    held_[code] = true;
    strings_[code] = texts[i];
    if (!codes_.emplace(std::string_view(strings_[code]), code).second)
      throw Error(ErrorCode::invalid_argument,
                  "StringDictionary: the string '" + texts[i] + "' given twice");
    text_bytes_ += text_bytes(strings_[code]);
  }
  for (std::uint32_t code = 0; code < code_limit; ++code)
    if (!held_[code]) free_.push_back(code);
  carried_limit_ = code_limit;
}

std::uint32_t StringDictionary::next_code_locked() const {
  if (given_ < free_.size()) return free_[given_];
  const std::size_t code = carried_limit_ + (given_ - free_.size());
  if (code >= UINT32_MAX)
    throw Error(ErrorCode::out_of_memory, "string dictionary is full (2^32 - 1 codes)");
  return static_cast<std::uint32_t>(code);
}

std::uint32_t StringDictionary::intern(std::string_view text) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = codes_.find(text); it != codes_.end()) return it->second;
  }
  std::unique_lock lock(mutex_);
  // Another thread may have inserted it between the two locks.
  if (auto it = codes_.find(text); it != codes_.end()) return it->second;
  const std::uint32_t code = next_code_locked();
  // A deque never moves its elements when it grows, so the index's views stay valid; a free
  // code's string is empty until it is given out, and never changes after.
  if (code == strings_.size()) {
    strings_.emplace_back(text);
    held_.push_back(true);
  } else {
    strings_[code].assign(text);
    held_[code] = true;
  }
  ++given_;
  text_bytes_ += text_bytes(text);
  codes_.emplace(std::string_view(strings_[code]), code);
  return code;
}

std::optional<std::uint32_t> StringDictionary::find(std::string_view text) const {
  std::shared_lock lock(mutex_);
  if (auto it = codes_.find(text); it != codes_.end()) return it->second;
  return std::nullopt;
}

std::string_view StringDictionary::at(std::uint32_t code) const {
  std::shared_lock lock(mutex_);
  if (code >= strings_.size() || !held_[code]) {
    throw Error(ErrorCode::invalid_argument,
                "unknown string code " + std::to_string(code) + " (the dictionary holds " +
                    std::to_string(codes_.size()) + " strings, codes below " +
                    std::to_string(strings_.size()) + ")");
  }
  return strings_[code];
}

bool StringDictionary::contains(std::uint32_t code) const {
  std::shared_lock lock(mutex_);
  return code < strings_.size() && held_[code];
}

std::size_t StringDictionary::first_unknown(std::span<const std::uint32_t> codes) const {
  std::shared_lock lock(mutex_);
  const std::size_t limit = strings_.size();
  std::uint32_t largest = 0;
  for (std::uint32_t c : codes) largest = std::max(largest, c);
  // Dense codes (no free ones): one comparison per code.
  const bool dense = codes_.size() == limit;
  if (codes.empty() || (largest < limit && dense)) return codes.size();
  for (std::size_t i = 0; i < codes.size(); ++i)
    if (codes[i] >= limit || !held_[codes[i]]) return i;
  return codes.size();
}

std::size_t StringDictionary::size() const {
  std::shared_lock lock(mutex_);
  return codes_.size();
}

std::uint32_t StringDictionary::code_limit() const {
  std::shared_lock lock(mutex_);
  return static_cast<std::uint32_t>(strings_.size());
}

std::size_t StringDictionary::bytes() const {
  std::shared_lock lock(mutex_);
  return text_bytes_ + strings_.size() * (sizeof(std::string) + 1) +
         codes_.size() * (kEntryBytes - sizeof(std::string)) +
         codes_.bucket_count() * sizeof(void*) + free_.size() * sizeof(std::uint32_t);
}

std::size_t StringDictionary::codes_given() const {
  std::shared_lock lock(mutex_);
  return given_;
}

std::uint32_t StringDictionary::code_given(std::size_t i) const {
  std::shared_lock lock(mutex_);
  if (i >= given_)
    throw Error(ErrorCode::invalid_argument,
                "StringDictionary: only " + std::to_string(given_) + " codes were given out");
  return i < free_.size() ? free_[i]
                          : static_cast<std::uint32_t>(carried_limit_ + (i - free_.size()));
}

}  // namespace sluice
