// WordList: a growable array of 64-bit words that appends whole rows without initializing them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace sluice::detail {

/// @brief Words appended a row at a time, with one capacity check per row (a std::vector
/// checks every push_back, and its resize() zero-fills what is written next anyway). Grows
/// geometrically; clear() keeps the capacity.
class WordList {
 public:
  const std::uint64_t* data() const noexcept { return words_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  void clear() noexcept { size_ = 0; }
  /// @brief Room for `words` words in all, keeping the contents.
  void reserve(std::size_t words) {
    if (words <= capacity_) return;
    std::unique_ptr<std::uint64_t[]> grown(new std::uint64_t[words]);  // not initialized
    if (size_ > 0) std::memcpy(grown.get(), words_.get(), size_ * sizeof(std::uint64_t));
    words_ = std::move(grown);
    capacity_ = words;
  }
  /// @brief `n` more words at the end, not initialized: the caller writes all of them.
  std::uint64_t* append(std::size_t n) {
    if (size_ + n > capacity_) reserve(std::max(size_ + n, capacity_ * 2));
    std::uint64_t* at = words_.get() + size_;
    size_ += n;
    return at;
  }

 private:
  std::unique_ptr<std::uint64_t[]> words_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace sluice::detail
