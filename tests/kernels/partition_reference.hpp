// The partitioners the host and GPU partition tests run (hash, key and range kinds) and the
// reference destination of a row under each.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernel_test_util.hpp"
#include "kernels/partition.hpp"

namespace sluice::test {

enum class PartKind { hash1, hash3, hash8, hash64, key3, key7, range_i64, range_f64 };

inline const char* to_string(PartKind k) {
  const char* names[] = {"hash1", "hash3", "hash8",     "hash64",
                         "key3",  "key7",  "range_i64", "range_f64"};
  return names[static_cast<int>(k)];
}

inline const std::vector<std::int64_t> kIntBounds = {-500, 0, 1, 700};
inline const std::vector<double> kDoubleBounds = {-2.5, 0.0, 3.0, 7.75};

inline detail::Partitioner make_partitioner(PartKind kind) {
  using detail::Partitioner;
  Partitioner p;
  switch (kind) {
    case PartKind::hash1:
      p.parts = 1;
      break;
    case PartKind::hash3:
      p.parts = 3;
      break;
    case PartKind::hash8:
      p.parts = 8;
      break;
    case PartKind::hash64:
      p.parts = 64;
      break;
    case PartKind::key3:
    case PartKind::key7:
      p.kind = Partitioner::Kind::key;
      p.parts = kind == PartKind::key3 ? 3 : 7;
      break;
    case PartKind::range_i64:
      p.kind = Partitioner::Kind::range;
      p.parts = static_cast<int>(kIntBounds.size()) + 1;
      p.num_boundaries = static_cast<int>(kIntBounds.size());
      for (std::size_t b = 0; b < kIntBounds.size(); ++b)
        p.boundaries[b] = static_cast<std::uint64_t>(kIntBounds[b]);
      break;
    case PartKind::range_f64:
      p.kind = Partitioner::Kind::range;
      p.range_as_double = true;
      p.parts = static_cast<int>(kDoubleBounds.size()) + 1;
      p.num_boundaries = static_cast<int>(kDoubleBounds.size());
      for (std::size_t b = 0; b < kDoubleBounds.size(); ++b)
        p.boundaries[b] = dbits(kDoubleBounds[b]);
      break;
  }
  return p;
}

/// Reference destination: hash % parts; first key word mod parts (non-negative); or the number
/// of boundaries at or below the first key word (upper_bound over the sorted boundaries).
inline int ref_destination(PartKind kind, const detail::Partitioner& p, const HostRows& rows,
                           std::size_t i) {
  const std::uint64_t w = rows.keys[i * rows.key_words];
  switch (kind) {
    case PartKind::key3:
    case PartKind::key7: {
      const std::int64_t d = static_cast<std::int64_t>(w) % p.parts;
      return static_cast<int>(d < 0 ? d + p.parts : d);
    }
    case PartKind::range_i64:
      return static_cast<int>(
          std::upper_bound(kIntBounds.begin(), kIntBounds.end(), static_cast<std::int64_t>(w)) -
          kIntBounds.begin());
    case PartKind::range_f64:
      return static_cast<int>(
          std::upper_bound(kDoubleBounds.begin(), kDoubleBounds.end(), bitsd(w)) -
          kDoubleBounds.begin());
    default:
      return static_cast<int>(rows.hash[i] % static_cast<std::uint64_t>(p.parts));
  }
}

/// Appends row `i` of `rows` as partition_partials packs it: hash, pane, cut, key words, states.
inline void append_packed(const HostRows& rows, std::size_t i, std::vector<std::uint64_t>& out) {
  out.push_back(rows.hash[i]);
  out.push_back(static_cast<std::uint64_t>(rows.pane[i]));
  out.push_back(rows.cut[i]);
  for (int j = 0; j < rows.key_words; ++j) out.push_back(rows.keys[i * rows.key_words + j]);
  for (int s = 0; s < rows.state_words; ++s) out.push_back(rows.state(i, s));
}

}  // namespace sluice::test
