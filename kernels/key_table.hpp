// Operator: the key table, assigning dense ids to distinct keys (open addressing, keys by value).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/buffer.hpp"
#include "kernels/ops/hash.hpp"
#include "kernels/partials.hpp"

namespace sluice::detail {

struct KeyTableRef;

/// @brief Maps each distinct key (key_words 64-bit words) to a dense id 0, 1, ... in order of
/// first insertion. Open addressing with linear probing over structure-of-arrays slots: a tag
/// word per slot (0 = empty, else hash | 1) claimed by CAS, and the slot's id; key words and
/// hashes live in dense arrays indexed by id, so growth rehashes only tags and ids. Keys compare
/// by value: equal hashes never merge distinct keys. The table grows when its load would pass
/// `max_load`.
template <class Exec>
class KeyTable {
 public:
  KeyTable(Exec& exec, int key_words, KeyHasher hasher, double max_load = 0.5);

  /// @brief Writes the id of each row's key to ids[i], inserting keys not yet present.
  /// @pre Rows with equal keys are adjacent in `rows` (reduce_partials' output order).
  /// @param ids n entries in the executor's memory.
  void find_or_insert(PartialsView rows, std::uint32_t* ids);
  /// @brief Writes key word j of ids[i] to out[j * stride + i].
  void gather(const std::uint32_t* ids, std::size_t n, std::uint64_t* out, std::size_t stride);

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return tags_.size(); }
  int key_words() const noexcept { return key_words_; }

 private:
  void rehash(std::size_t capacity);
  KeyTableRef ref();

  Exec* exec_;
  int key_words_;
  KeyHasher hasher_;
  double max_load_;
  std::size_t size_ = 0;
  Buffer<std::uint64_t, Exec> tags_;
  Buffer<std::uint32_t, Exec> slot_ids_;
  Buffer<std::uint64_t, Exec> hashes_;  // by id
  Buffer<std::uint64_t, Exec> words_;   // [key_words][words_stride_], by id
  std::size_t words_stride_ = 0;
  Buffer<std::uint32_t, Exec> heads_;  // scratch
  Buffer<std::uint32_t, Exec> ranks_;  // scratch
  Buffer<std::uint64_t, Exec> scratch_words_;
};

}  // namespace sluice::detail
