// Operator template: KeyTable (lookup pass, then insertion of the missing distinct keys).
#pragma once

#include <thrust/scan.h>
#include <cuda/atomic>

#include "kernels/key_table.hpp"

namespace sluice::detail {

inline constexpr std::uint32_t kNoKey = 0xffffffffu;

SLUICE_HD inline std::uint64_t key_tag(std::uint64_t hash) { return hash | 1u; }

/// Read-only view of the table for probing kernels.
struct KeyTableRef {
  std::uint64_t* tags;
  std::uint32_t* slot_ids;
  std::uint64_t* hashes;
  std::uint64_t* words;
  std::size_t words_stride;
  std::size_t mask;  // capacity - 1
  int key_words;

  SLUICE_HD bool key_equals(std::uint32_t id, const PartialsView& rows, std::size_t i) const {
    for (int j = 0; j < key_words; ++j)
      if (words[j * words_stride + id] != rows.key(j, i)) return false;
    return true;
  }
  SLUICE_HD std::uint32_t find(const PartialsView& rows, std::size_t i) const {
    const std::uint64_t tag = key_tag(rows.hash[i]);
    for (std::size_t p = rows.hash[i] & mask;; p = (p + 1) & mask) {
      const std::uint64_t t = tags[p];
      if (t == 0) return kNoKey;
      if (t == tag && key_equals(slot_ids[p], rows, i)) return slot_ids[p];
    }
  }
  /// Claims the first empty slot on the probe path of `hash` for `id`.
  /// @pre No concurrent lookups; the table has an empty slot.
  SLUICE_HD void claim(std::uint64_t hash, std::uint32_t id) const {
    const std::uint64_t tag = key_tag(hash);
    for (std::size_t p = hash & mask;; p = (p + 1) & mask) {
      cuda::atomic_ref<std::uint64_t, cuda::thread_scope_device> slot(tags[p]);
      std::uint64_t expected = 0;
      if (slot.load(cuda::memory_order_relaxed) == 0 &&
          slot.compare_exchange_strong(expected, tag, cuda::memory_order_relaxed)) {
        slot_ids[p] = id;
        return;
      }
    }
  }
};

struct MarkKeyHeads {
  PartialsView rows;
  std::uint32_t* heads;  // position of the run's first row
  SLUICE_HD void operator()(std::size_t i) const {
    heads[i] = (i == 0 || !rows.same_key(i - 1, i)) ? static_cast<std::uint32_t>(i) : 0u;
  }
};

struct MaxU32 {
  SLUICE_HD std::uint32_t operator()(std::uint32_t a, std::uint32_t b) const {
    return a > b ? a : b;
  }
};

struct FindHeadKeys {
  KeyTableRef table;
  PartialsView rows;
  const std::uint32_t* heads;
  std::uint32_t* ids;
  std::uint32_t* missing;  // 1 for a head whose key is absent
  SLUICE_HD void operator()(std::size_t i) const {
    if (heads[i] != i) {
      missing[i] = 0;
      return;
    }
    const std::uint32_t id = table.find(rows, i);
    ids[i] = id;
    missing[i] = id == kNoKey ? 1u : 0u;
  }
};

struct InsertMissingKeys {
  KeyTableRef table;
  PartialsView rows;
  const std::uint32_t* heads;
  const std::uint32_t* rank;  // exclusive scan of missing flags
  std::uint32_t first_id;
  std::uint32_t* ids;
  SLUICE_HD void operator()(std::size_t i) const {
    if (heads[i] != i || ids[i] != kNoKey) return;
    const std::uint32_t id = first_id + rank[i];
    table.hashes[id] = rows.hash[i];
    for (int j = 0; j < table.key_words; ++j)
      table.words[j * table.words_stride + id] = rows.key(j, i);
    table.claim(rows.hash[i], id);
    ids[i] = id;
  }
};

struct CopyIdFromHead {
  const std::uint32_t* heads;
  std::uint32_t* ids;
  SLUICE_HD void operator()(std::size_t i) const {
    if (heads[i] != i) ids[i] = ids[heads[i]];
  }
};

struct ReinsertKey {
  KeyTableRef table;
  SLUICE_HD void operator()(std::size_t id) const {
    table.claim(table.hashes[id], static_cast<std::uint32_t>(id));
  }
};

struct GatherKeyWords {
  KeyTableRef table;
  const std::uint32_t* ids;
  std::uint64_t* out;
  std::size_t stride;
  SLUICE_HD void operator()(std::size_t i) const {
    for (int j = 0; j < table.key_words; ++j)
      out[j * stride + i] = table.words[j * table.words_stride + ids[i]];
  }
};

template <class Exec>
KeyTable<Exec>::KeyTable(Exec& exec, int key_words, KeyHasher hasher, double max_load)
    : exec_(&exec),
      key_words_(key_words),
      hasher_(hasher),
      max_load_(max_load),
      tags_(exec),
      slot_ids_(exec),
      hashes_(exec),
      words_(exec),
      heads_(exec),
      ranks_(exec),
      scratch_words_(exec) {
  rehash(1024);
}

template <class Exec>
KeyTableRef KeyTable<Exec>::ref() {
  return KeyTableRef{tags_.data(),  slot_ids_.data(), hashes_.data(), words_.data(),
                     words_stride_, tags_.size() - 1, key_words_};
}

template <class Exec>
void KeyTable<Exec>::rehash(std::size_t capacity) {
  tags_.resize_discard(capacity);
  slot_ids_.resize_discard(capacity);
  exec_->fill_bytes(tags_.data(), 0, capacity * sizeof(std::uint64_t));
  exec_->for_each_index(size_, ReinsertKey{ref()});
}

template <class Exec>
void KeyTable<Exec>::find_or_insert(PartialsView rows, std::uint32_t* ids) {
  const std::size_t n = rows.size;
  if (n == 0) return;
  heads_.resize_discard(n);
  ranks_.resize_discard(n + 1);
  std::uint32_t* heads = heads_.data();
  std::uint32_t* rank = ranks_.data();
  exec_->for_each_index(n, MarkKeyHeads{rows, heads});
  thrust::inclusive_scan(exec_->policy(), heads, heads + n, heads, MaxU32{});
  exec_->for_each_index(n, FindHeadKeys{ref(), rows, heads, ids, rank});
  exec_->fill_bytes(rank + n, 0, sizeof(std::uint32_t));
  thrust::exclusive_scan(exec_->policy(), rank, rank + n + 1, rank);
  const std::size_t missing = exec_->read(rank + n);
  if (missing > 0) {
    const std::size_t needed = size_ + missing;
    if (static_cast<double>(needed) > max_load_ * static_cast<double>(tags_.size())) {
      std::size_t capacity = tags_.size();
      while (static_cast<double>(needed) > max_load_ * static_cast<double>(capacity)) capacity *= 2;
      rehash(capacity);
    }
    if (needed > words_stride_) {
      // Dense key arrays keep their ids; the key columns move to a longer stride.
      const std::size_t stride = needed + needed / 2 + 1024;
      hashes_.resize_keep(stride);
      scratch_words_.resize_discard(stride * static_cast<std::size_t>(key_words_));
      for (int j = 0; j < key_words_; ++j)
        if (size_ > 0)
          exec_->copy_within(scratch_words_.data() + j * stride, words_.data() + j * words_stride_,
                             size_ * sizeof(std::uint64_t));
      std::swap(words_, scratch_words_);
      words_stride_ = stride;
    }
    exec_->for_each_index(
        n, InsertMissingKeys{ref(), rows, heads, rank, static_cast<std::uint32_t>(size_), ids});
    size_ = needed;
  }
  exec_->for_each_index(n, CopyIdFromHead{heads, ids});
}

template <class Exec>
void KeyTable<Exec>::gather(const std::uint32_t* ids, std::size_t n, std::uint64_t* out,
                            std::size_t stride) {
  exec_->for_each_index(n, GatherKeyWords{ref(), ids, out, stride});
}

}  // namespace sluice::detail
