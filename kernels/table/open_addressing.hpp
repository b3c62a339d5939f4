// The open-addressing core: slot words, linear probing, find / claim / find_or_claim, for host
// and device. Every hash table of Sluice (pre-aggregation tables of both executors, the window
// state's pane tables) probes through this one definition.
#pragma once

#include <cstdint>

#include <cuda/atomic>

#include "kernels/ops/hd.hpp"

namespace sluice::detail {

/// @brief A slot is one 64-bit word: 0 when empty, otherwise the upper 32 bits of the entry's
/// hash (its tag) over its payload + 1 (a row or entry index chosen by the table's owner).
/// Tags let a probe skip most other entries without comparing keys.
inline constexpr std::uint64_t kEmptySlot = 0;
/// @brief A slot being filled by the thread that claimed it (find_or_publish: readers wait).
inline constexpr std::uint64_t kBusySlot = ~std::uint64_t{0};
/// @brief What find_or_publish returns when it found no room within its probes.
inline constexpr std::uint64_t kNoSlot = ~std::uint64_t{0};
inline constexpr std::uint32_t kNotFound = 0xffffffffu;
/// @brief Largest payload a slot can carry.
inline constexpr std::uint32_t kMaxSlotPayload = 0xfffffffdu;

SLUICE_HD inline std::uint64_t make_slot(std::uint64_t hash, std::uint32_t payload) {
  return (hash & 0xffffffff00000000ULL) | (static_cast<std::uint64_t>(payload) + 1);
}
SLUICE_HD inline std::uint32_t slot_payload(std::uint64_t slot) {
  return static_cast<std::uint32_t>(slot) - 1;
}
SLUICE_HD inline bool slot_tag_matches(std::uint64_t slot, std::uint64_t hash) {
  return (slot >> 32) == (hash >> 32);
}

/// @brief Outcome of find_or_claim: the payload of the entry found, or the caller's own when
/// it claimed a new slot (`claimed`); `payload == kNotFound` when the probe limit was reached.
struct ClaimResult {
  std::uint32_t payload = kNotFound;
  bool claimed = false;
};

/// @brief Linear probing over `mask + 1` (a power of two) slot words, starting at hash & mask.
/// A non-owning, trivially copyable view (cuco's `_ref` idea): pass it by value into kernels.
/// Keys are compared by the caller's `equal(payload)`, called only on tag matches, so two
/// keys with the same hash never merge. Slots are never removed one by one: a table is
/// cleared, rebuilt or dropped whole.
template <cuda::thread_scope Scope = cuda::thread_scope_device>
struct OpenAddressingRef {
  std::uint64_t* slots = nullptr;
  std::uint64_t mask = 0;

  SLUICE_HD std::uint64_t capacity() const { return mask + 1; }

  /// @brief The payload of the entry of `hash` for which equal(payload) holds, or kNotFound.
  /// Safe against concurrent claims of other entries.
  template <class Equal>
  SLUICE_HD std::uint32_t find(std::uint64_t hash, Equal equal) const {
    for (std::uint64_t p = hash & mask, probes = 0; probes <= mask; p = (p + 1) & mask, ++probes) {
      const std::uint64_t s = load(p);
      if (s == kEmptySlot) return kNotFound;
      if (slot_tag_matches(s, hash) && equal(slot_payload(s))) return slot_payload(s);
    }
    return kNotFound;
  }

  /// @brief Claims the first empty slot on the probe path of `hash` for `payload` and returns
  /// the slot's index. Concurrent claims are safe.
  /// @pre The entry is absent and no concurrent caller claims an equal one; a slot is empty.
  SLUICE_HD std::uint64_t claim(std::uint64_t hash, std::uint32_t payload) const {
    const std::uint64_t word = make_slot(hash, payload);
    for (std::uint64_t p = hash & mask;; p = (p + 1) & mask) {
      if (load(p) != kEmptySlot) continue;
      std::uint64_t expected = kEmptySlot;
      if (atomic(p).compare_exchange_strong(expected, word, cuda::memory_order_relaxed)) return p;
    }
  }

  /// @brief Finds the entry of `hash` for which equal(payload) holds, or claims an empty slot
  /// for `payload`, probing at most `max_probes` slots. Concurrent callers with equal keys all
  /// end with one entry: equal(payload) must be answerable as soon as a slot is claimed (the
  /// payload names data that already exists, e.g. the input row that first saw the key).
  template <class Equal>
  SLUICE_HD ClaimResult find_or_claim(std::uint64_t hash, std::uint32_t payload, Equal equal,
                                      std::uint64_t max_probes) const {
    const std::uint64_t word = make_slot(hash, payload);
    std::uint64_t p = hash & mask;
    for (std::uint64_t probes = 0; probes < max_probes && probes <= mask;
         ++probes, p = (p + 1) & mask) {
      std::uint64_t s = load(p);
      if (s == kEmptySlot) {
        std::uint64_t expected = kEmptySlot;
        if (atomic(p).compare_exchange_strong(expected, word, cuda::memory_order_relaxed))
          return {payload, true};
        s = expected;
      }
      if (slot_tag_matches(s, hash) && equal(slot_payload(s))) return {slot_payload(s), false};
    }
    return {};
  }

  /// @brief For entries stored beside the index at their slot's position (payload = slot):
  /// finds the slot for which equal(slot) holds, or claims an empty one, marks it busy, has
  /// fill(slot) write the entry and then publishes its tag. Concurrent callers for one entry
  /// agree on one slot: they wait for the publication before comparing. Probes at most
  /// `max_probes` slots; returns the slot, or kNoSlot. `*fresh` (when given) tells whether
  /// this call claimed it.
  template <class Equal, class Fill>
  SLUICE_HD std::uint64_t find_or_publish(std::uint64_t hash, Equal equal, Fill fill,
                                          std::uint64_t max_probes, bool* fresh = nullptr) const {
    if (fresh != nullptr) *fresh = false;
    std::uint64_t p = hash & mask;
    for (std::uint64_t probes = 0; probes < max_probes; ++probes, p = (p + 1) & mask) {
      std::uint64_t s = atomic(p).load(cuda::memory_order_acquire);
      if (s == kEmptySlot) {
        std::uint64_t expected = kEmptySlot;
        if (atomic(p).compare_exchange_strong(expected, kBusySlot, cuda::memory_order_relaxed)) {
          fill(p);
          atomic(p).store(make_slot(hash, static_cast<std::uint32_t>(p)),
                          cuda::memory_order_release);
          if (fresh != nullptr) *fresh = true;
          return p;
        }
        s = expected;
      }
      while (s == kBusySlot) s = atomic(p).load(cuda::memory_order_acquire);
      if (slot_tag_matches(s, hash) && equal(p)) return p;
    }
    return kNoSlot;
  }

  /// @brief The same for a table one thread owns: no atomics.
  template <class Equal>
  SLUICE_HD ClaimResult find_or_insert_local(std::uint64_t hash, std::uint32_t payload,
                                             Equal equal) const {
    for (std::uint64_t p = hash & mask;; p = (p + 1) & mask) {
      const std::uint64_t s = slots[p];
      if (s == kEmptySlot) {
        slots[p] = make_slot(hash, payload);
        return {payload, true};
      }
      if (slot_tag_matches(s, hash) && equal(slot_payload(s))) return {slot_payload(s), false};
    }
  }

  /// @brief Inserts into a table one thread owns. @pre the entry is absent; a slot is empty.
  SLUICE_HD void insert_local(std::uint64_t hash, std::uint32_t payload) const {
    std::uint64_t p = hash & mask;
    while (slots[p] != kEmptySlot) p = (p + 1) & mask;
    slots[p] = make_slot(hash, payload);
  }

 private:
  SLUICE_HD cuda::atomic_ref<std::uint64_t, Scope> atomic(std::uint64_t p) const {
    return cuda::atomic_ref<std::uint64_t, Scope>(slots[p]);
  }
  SLUICE_HD std::uint64_t load(std::uint64_t p) const {
    return atomic(p).load(cuda::memory_order_relaxed);
  }
};

/// @brief Slots for `entries` entries at a load of at most `max_load`: a power of two, >= 16.
inline std::uint64_t table_capacity_for(std::uint64_t entries, double max_load) {
  std::uint64_t capacity = 16;
  while (static_cast<double>(entries) > max_load * static_cast<double>(capacity)) capacity *= 2;
  return capacity;
}

}  // namespace sluice::detail
