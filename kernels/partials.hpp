// Partials: (key, pane, cut) rows with accumulator states, in structure-of-arrays layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/buffer.hpp"
#include "kernels/ops/hd.hpp"

namespace sluice::detail {

/// @brief Non-owning view of partial rows. Column j of the key is keys[j * stride + i]; state
/// column s is states[s * stride + i]. Trivially copyable; passed by value into kernels.
struct PartialsView {
  std::size_t size = 0;
  std::size_t stride = 0;
  int key_words = 0;
  int state_words = 0;
  std::uint64_t* hash = nullptr;    ///< key hash (KeyHasher over the key words)
  std::uint64_t* keys = nullptr;    ///< key_words columns
  std::int64_t* pane = nullptr;     ///< pane index
  std::uint32_t* cut = nullptr;     ///< first window of the pane this row may update
  std::uint64_t* states = nullptr;  ///< state_words columns

  SLUICE_HD std::uint64_t key(int j, std::size_t i) const { return keys[j * stride + i]; }
  SLUICE_HD std::uint64_t& state(int s, std::size_t i) const { return states[s * stride + i]; }
};

/// @brief Owning partial rows in an executor's memory.
template <class Exec>
class Partials {
 public:
  Partials() = default;
  Partials(Exec& exec, int key_words, int state_words)
      : key_words_(key_words), state_words_(state_words) {
    hash_.bind(exec);
    keys_.bind(exec);
    pane_.bind(exec);
    cut_.bind(exec);
    states_.bind(exec);
  }

  /// @brief Makes room for n rows; previous contents are lost when it grows.
  void resize_discard(std::size_t n) {
    if (n > stride_) {
      // The stride changes only once every column has its room (allocation may throw).
      const std::size_t stride = n + n / 2 + 64;
      hash_.resize_discard(stride);
      keys_.resize_discard(stride * static_cast<std::size_t>(key_words_));
      pane_.resize_discard(stride);
      cut_.resize_discard(stride);
      states_.resize_discard(stride * static_cast<std::size_t>(state_words_));
      stride_ = stride;
    }
    size_ = n;
  }
  std::size_t size() const noexcept { return size_; }
  int key_words() const noexcept { return key_words_; }
  int state_words() const noexcept { return state_words_; }

  PartialsView view() {
    return PartialsView{size_,        stride_,      key_words_,  state_words_,  hash_.data(),
                        keys_.data(), pane_.data(), cut_.data(), states_.data()};
  }

 private:
  int key_words_ = 0;
  int state_words_ = 0;
  std::size_t size_ = 0;
  std::size_t stride_ = 0;
  Buffer<std::uint64_t, Exec> hash_;
  Buffer<std::uint64_t, Exec> keys_;
  Buffer<std::int64_t, Exec> pane_;
  Buffer<std::uint32_t, Exec> cut_;
  Buffer<std::uint64_t, Exec> states_;
};

}  // namespace sluice::detail
