// WordWriter and WordReader: the 64-bit words a checkpoint's parts are written as and read from.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/status.hpp"

namespace sluice::detail {

/// @brief Appends values to `words`: integers and doubles as one word each, strings and word
/// lists as their length, then their contents (strings padded to whole words).
class WordWriter {
 public:
  explicit WordWriter(std::vector<std::uint64_t>& words) : words_(words) {}

  void put(std::uint64_t value) { words_.push_back(value); }
  void put_i64(std::int64_t value) { put(static_cast<std::uint64_t>(value)); }
  void put_f64(double value) { put(std::bit_cast<std::uint64_t>(value)); }
  void put_string(std::string_view text) { put_bytes(text.data(), text.size()); }
  /// @brief `size` bytes, padded to whole words.
  void put_bytes(const void* bytes, std::size_t size) {
    put(size);
    const std::size_t at = words_.size();
    words_.resize(at + (size + 7) / 8, 0);
    if (size > 0) std::memcpy(words_.data() + at, bytes, size);
  }
  void put_words(std::span<const std::uint64_t> values) {
    put(values.size());
    words_.insert(words_.end(), values.begin(), values.end());
  }
  /// @brief Where the next word goes (to patch a count written before its items).
  std::size_t size() const noexcept { return words_.size(); }
  std::vector<std::uint64_t>& words() noexcept { return words_; }

 private:
  std::vector<std::uint64_t>& words_;
};

/// @brief Reads what a WordWriter wrote, in the same order. Every read is checked against the
/// words left: a short or inconsistent checkpoint throws Error(malformed_input) naming `what`.
class WordReader {
 public:
  WordReader(std::span<const std::uint64_t> words, std::string what)
      : words_(words), what_(std::move(what)) {}

  std::uint64_t get() {
    need(1);
    return words_[at_++];
  }
  std::int64_t get_i64() { return static_cast<std::int64_t>(get()); }
  double get_f64() { return std::bit_cast<double>(get()); }
  /// @brief A count of items of at least `item_words` words each, checked against what is left.
  std::size_t get_count(std::size_t item_words = 1) {
    const std::uint64_t n = get();
    if (item_words > 0 && n > (words_.size() - at_) / item_words)
      fail("a count of " + std::to_string(n));
    return static_cast<std::size_t>(n);
  }
  std::string get_string() {
    std::string text(peek_bytes(), '\0');
    get_bytes(text.data(), text.size());
    return text;
  }
  /// @brief The size of the bytes put_bytes() wrote next (checked against what is left).
  std::size_t peek_bytes() const {
    need(1);
    const std::uint64_t n = words_[at_];
    if (n > (words_.size() - at_ - 1) * 8) fail("a run of " + std::to_string(n) + " bytes");
    return static_cast<std::size_t>(n);
  }
  /// @brief Reads bytes put_bytes() wrote into `bytes`, which must be their size.
  void get_bytes(void* bytes, std::size_t size) {
    if (peek_bytes() != size)
      fail("a run of " + std::to_string(words_[at_]) + " bytes, not " + std::to_string(size));
    ++at_;
    if (size > 0) std::memcpy(bytes, words_.data() + at_, size);
    at_ += (size + 7) / 8;
  }
  std::span<const std::uint64_t> get_words() {
    const std::size_t n = get_count();
    const std::span<const std::uint64_t> values = words_.subspan(at_, n);
    at_ += n;
    return values;
  }
  bool done() const noexcept { return at_ == words_.size(); }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::malformed_input, what_ + ": " + what + " at word " +
                                                std::to_string(at_) + " of " +
                                                std::to_string(words_.size()));
  }

 private:
  void need(std::size_t n) const {
    if (words_.size() - at_ < n) fail("truncated");
  }

  std::span<const std::uint64_t> words_;
  std::string what_;
  std::size_t at_ = 0;
};

}  // namespace sluice::detail
