// PaneTable: the state of one pane (of one partition of the key space): an open-addressing
// index over (key, cut) and the entries' rows in chunks that never move.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops/hash.hpp"
#include "kernels/ops/hd.hpp"
#include "kernels/table/open_addressing.hpp"

namespace sluice::detail {

/// @brief Words of one entry row: the key words, the cut (sliding windows only: a tumbling
/// window's pane has one window, so every cut is 0), then the state words.
struct EntryLayout {
  int key_words = 0;
  bool has_cut = false;
  int state_words = 0;
  SLUICE_HD int width() const { return key_words + (has_cut ? 1 : 0) + state_words; }
  SLUICE_HD int cut_word() const { return key_words; }
  SLUICE_HD int state_word(int s) const { return key_words + (has_cut ? 1 : 0) + s; }
};

/// Rows of a pane table live in chunks: chunk c < kDoublingChunks holds kFirstChunkRows << c
/// rows, every later chunk kMaxChunkRows. A row keeps its place when the table grows.
inline constexpr std::uint32_t kFirstChunkRows = 64;
inline constexpr int kDoublingChunks = 14;
inline constexpr std::uint32_t kMaxChunkRows = kFirstChunkRows << kDoublingChunks;  // 1 Mi
inline constexpr std::uint32_t kDoublingRows = kFirstChunkRows * ((1u << kDoublingChunks) - 1);

/// @brief Rows of chunk c.
SLUICE_HD inline std::uint32_t chunk_rows(std::uint32_t c) {
  return c < static_cast<std::uint32_t>(kDoublingChunks) ? kFirstChunkRows << c : kMaxChunkRows;
}

SLUICE_HD inline int highest_bit(std::uint64_t x) {
#if defined(__CUDA_ARCH__)
  return 63 - __clzll(static_cast<long long>(x));
#else
  return 63 - __builtin_clzll(x);
#endif
}

/// @brief Chunk and offset of row `id`.
SLUICE_HD inline void locate_row(std::uint32_t id, std::uint32_t& chunk, std::uint32_t& offset) {
  if (id < kDoublingRows) {
    chunk = static_cast<std::uint32_t>(highest_bit(id / kFirstChunkRows + 1));
    offset = id - kFirstChunkRows * ((1u << chunk) - 1);
  } else {
    const std::uint32_t rest = id - kDoublingRows;
    chunk = static_cast<std::uint32_t>(kDoublingChunks) + rest / kMaxChunkRows;
    offset = rest % kMaxChunkRows;
  }
}

/// @brief Chunks needed for `rows` rows.
inline std::uint32_t chunks_for(std::uint64_t rows) {
  std::uint32_t chunks = 0;
  std::uint64_t room = 0;
  while (room < rows) room += chunk_rows(chunks++);
  return chunks;
}

/// @brief The hash of an entry within its pane table: of its key and its cut.
SLUICE_HD inline std::uint64_t entry_hash(std::uint64_t key_hash, std::uint32_t cut) {
  return fmix64(key_hash + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(cut) + 1));
}

/// @brief Trivially copyable view of one pane table, as kernels see it.
struct PaneTableRef {
  OpenAddressingRef<> index;
  std::uint64_t* const* chunks = nullptr;  ///< row chunks (executor memory)
  std::uint32_t size = 0;                  ///< rows in use
  std::int64_t pane = 0;

  SLUICE_HD bool exists() const { return index.slots != nullptr; }
  SLUICE_HD std::uint64_t* row(std::uint32_t id, int width) const {
    std::uint32_t c, o;
    locate_row(id, c, o);
    return chunks[c] + static_cast<std::size_t>(o) * static_cast<std::size_t>(width);
  }
  /// @brief Row id of the entry (key, cut), or kNotFound.
  SLUICE_HD std::uint32_t find(const EntryLayout& layout, std::uint64_t key_hash,
                               const std::uint64_t* key, std::uint32_t cut) const {
    if (!exists()) return kNotFound;
    const int width = layout.width();
    return index.find(entry_hash(key_hash, cut), [&](std::uint32_t id) {
      const std::uint64_t* r = row(id, width);
      for (int j = 0; j < layout.key_words; ++j)
        if (r[j] != key[j]) return false;
      return !layout.has_cut || r[layout.cut_word()] == cut;
    });
  }
};

}  // namespace sluice::detail
