// The KeyTable reference (ids handed out in order of first sight) and the batches of keys the
// host and GPU KeyTable tests insert.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {

struct KeyStdHash {
  std::size_t operator()(const Key& k) const { return ref_fmix64(k[0] ^ ref_fmix64(k[1] + 1)); }
};

/// The reference: ids handed out in order of first sight.
struct RefIds {
  std::unordered_map<Key, std::uint32_t, KeyStdHash> ids;
  std::vector<Key> keys;  // by id
  std::uint32_t id(const Key& k) {
    auto [it, inserted] = ids.try_emplace(k, static_cast<std::uint32_t>(keys.size()));
    if (inserted) keys.push_back(k);
    return it->second;
  }
};

/// A batch of rows with equal keys adjacent (find_or_insert's precondition), groups in random
/// order.
inline HostRows key_batch(std::vector<Key> keys, int key_words, std::uint64_t mask,
                          std::mt19937_64& rng) {
  const std::uint64_t salt = rng();
  std::stable_sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    const std::uint64_t ha = ref_fmix64(a[0] ^ ref_fmix64(a[1] ^ salt));
    const std::uint64_t hb = ref_fmix64(b[0] ^ ref_fmix64(b[1] ^ salt));
    return ha != hb ? ha < hb : a < b;
  });
  HostRows rows;
  rows.key_words = key_words;
  rows.state_words = 0;
  rows.reserve(keys.size());
  for (const Key& k : keys) rows.push(k, 0, 0, {}, mask);
  return rows;
}

}  // namespace sluice::test
