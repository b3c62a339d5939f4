// String codes across ranks: each process has its own dictionary, so rows that cross carry the
// text of the codes the receiver has not seen from the sender, and string keys are owned by
// the hash of their text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/ops/hash.hpp"
#include "sluice/dictionary.hpp"
#include "transport/rank_transport.hpp"

namespace sluice::detail {

/// @brief The hash of a string's text (the same in every process).
std::uint64_t text_hash(std::string_view text);

/// @brief text_hash of every code of the job's dictionary, following it as it gives out codes
/// and when the job replaces it (reclaiming strings). One per worker (not thread-safe).
class TextHashes {
 public:
  /// @brief Hashes every code `dictionary` holds (it may hold codes it never gave: a
  /// dictionary carried over or restored from a checkpoint).
  explicit TextHashes(DictionaryPtr dictionary);
  /// @brief The hashes by code of `current`'s codes (entries of free codes are 0).
  std::span<const std::uint64_t> refresh(const DictionaryPtr& current);

 private:
  void hash_all(DictionaryPtr dictionary);

  DictionaryPtr dictionary_;
  std::size_t given_ = 0;  // the dictionary's codes hashed, in the order it gave them
  std::vector<std::uint64_t> hashes_;
};

/// @brief Per other rank: which of our codes it has been told (describe), and what its codes
/// are in our dictionary (learn). Used by the exchange's leader only, in collective order.
/// A description is records [code u32][length u32][text]; the record [UINT32_MAX][0] tells
/// the receiver to forget every code of the sender (it reclaimed strings).
class StringCodeSync {
 public:
  StringCodeSync(DictionaryPtr dictionary, int ranks);
  /// @brief Appends [code u32][length u32][text] to `out` unless rank `to` knows `code`.
  void describe(int to, std::uint32_t code, std::vector<std::byte>& out);
  /// @brief Reads a description from rank `from`, interning its strings here.
  /// @throws Error(peer_failure) when it is malformed.
  void learn(int from, std::span<const std::byte> description);
  /// @brief Our code of rank `from`'s `code`. @throws Error(peer_failure) if never described.
  std::uint32_t local(int from, std::uint64_t code) const;
  /// @brief Adds our codes that other ranks' codes stand for to `codes` (they must stay).
  void list_codes(std::vector<std::uint32_t>& codes) const;
  /// @brief Uses `dictionary` from now on (it holds every code list_codes() gave under the same
  /// code). Our codes may name other strings from now on, so the next description to each
  /// rank starts by telling it to forget what it learned from us, and describes every code
  /// again: what a rank keeps for us is what we sent since our last reclaim.
  void set_dictionary(DictionaryPtr dictionary);
  /// @brief Appends the forget record to `out` when rank `to` is owed one (see set_dictionary).
  void describe_reset(int to, std::vector<std::byte>& out);

 private:
  DictionaryPtr dictionary_;
  std::vector<std::vector<bool>> told_;             // per rank, by our code
  std::vector<std::vector<std::uint32_t>> theirs_;  // per rank, by their code
  std::vector<bool> owe_reset_;                     // per rank
};

/// @brief A RowTranslator for rows whose words at `code_words` are string codes; when
/// `rehash_keys` is set, word 0 is then recomputed as the key hash of the `key_words` words
/// from word `key_first` (packed partials: their hash follows the receiver's codes).
class StringRowTranslator final : public RowTranslator {
 public:
  StringRowTranslator(StringCodeSync& sync, std::vector<std::uint32_t> code_words,
                      bool rehash_keys = false, int key_first = 0, int key_words = 0,
                      KeyHasher hasher = {});
  void describe(int to, std::span<const std::uint64_t> rows, std::uint32_t row_words,
                std::vector<std::byte>& out) override;
  void translate(int from, std::span<const std::byte> description, std::span<std::uint64_t> rows,
                 std::uint32_t row_words) override;
  bool empty() const noexcept { return code_words_.empty(); }

 private:
  StringCodeSync& sync_;
  std::vector<std::uint32_t> code_words_;
  bool rehash_keys_;
  int key_first_;
  int key_words_;
  KeyHasher hasher_;
};

}  // namespace sluice::detail
