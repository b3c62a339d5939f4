// Operator: partitioning of partials into N destinations (histogram + scan + scatter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/exec/buffer.hpp"
#include "kernels/ops/hd.hpp"
#include "kernels/ops/key_word.hpp"
#include "kernels/partials.hpp"

namespace sluice::detail {

inline constexpr int kMaxRangeBoundaries = 64;

/// @brief Destination of a partial row: hash % parts; the first key word (an integer) modulo
/// parts, non-negative; or the range of the first key word among ascending boundaries
/// (destination i takes [b[i-1], b[i]); compared as i64 or as double).
struct Partitioner {
  enum class Kind : std::uint8_t { hash, key, range };
  Kind kind = Kind::hash;
  int parts = 1;
  bool range_as_double = false;
  int num_boundaries = 0;
  std::uint64_t boundaries[kMaxRangeBoundaries] = {};

  SLUICE_HD int operator()(const PartialsView& v, std::size_t i) const {
    if (kind == Kind::hash) return static_cast<int>(v.hash[i] % static_cast<std::uint64_t>(parts));
    const std::uint64_t w = v.key(0, i);
    if (kind == Kind::key) {
      const std::int64_t r = static_cast<std::int64_t>(w) % parts;
      return static_cast<int>(r < 0 ? r + parts : r);
    }
    int d = 0;
    for (int b = 0; b < num_boundaries; ++b) {
      const bool at_or_above = range_as_double ? bits_double(w) >= bits_double(boundaries[b])
                                               : static_cast<std::int64_t>(w) >=
                                                     static_cast<std::int64_t>(boundaries[b]);
      d += at_or_above ? 1 : 0;
    }
    return d;
  }
};

/// @brief Words per packed partial row: hash, pane, cut, key words, states.
inline std::size_t packed_row_words(int key_words, int state_words) {
  return 3 + static_cast<std::size_t>(key_words) + static_cast<std::size_t>(state_words);
}

/// @brief Scratch of partition_partials, reused across calls (a warm one allocates nothing).
template <class Exec>
struct PartitionScratch {
  explicit PartitionScratch(Exec& exec) : counts(exec), ends(exec) {}
  Buffer<std::uint64_t, Exec> counts;
  Buffer<std::uint64_t, Exec> ends;
  std::vector<std::uint64_t> ends_host;
  std::vector<std::size_t> sizes;
};

/// @brief Packs the rows of `in` row-major (packed_row_words each) into `out`, grouped by
/// destination and in input order within a destination (stable, deterministic).
/// @param count the rows of `in` (executor memory), or null: in.size; at most in.size.
/// @param out room for in.size packed rows, in the executor's memory.
/// @return rows per destination (size partitioner.parts), on the host, in `scratch`: read after
/// the scatter (one synchronization), so `out` is complete when the call returns and other
/// devices may copy from it at once.
template <class Exec>
const std::vector<std::size_t>& partition_partials(Exec& exec, PartialsView in,
                                                   const unsigned long long* count,
                                                   const Partitioner& partitioner,
                                                   std::uint64_t* out,
                                                   PartitionScratch<Exec>& scratch);

/// @brief Unpacks n packed rows (as written by partition_partials) into `out` (resized to n).
template <class Exec>
void unpack_partials(Exec& exec, const std::uint64_t* packed, std::size_t n, Partials<Exec>& out);

}  // namespace sluice::detail
