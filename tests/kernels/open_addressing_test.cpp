// Tests of the open-addressing core (table/open_addressing.hpp) against std::map.
#include "kernels/table/open_addressing.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <map>
#include <random>
#include <vector>

#include "kernel_test_util.hpp"

namespace sluice::test {
namespace {

using detail::kEmptySlot;
using detail::kNotFound;
using Ref = detail::OpenAddressingRef<>;

/// Keys with a hash narrowed by `mask` (to force collisions) and their payloads.
std::uint64_t narrowed(std::uint64_t key, std::uint64_t mask) { return ref_fmix64(key) & mask; }

TEST(OpenAddressing, ClaimedEntriesAreFoundAndOthersAreNot) {
  SLUICE_SEEDED_RNG(rng);
  for (std::uint64_t mask : {~0ULL, 0xff000000000000ffULL, 0x3ULL}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{31}, std::size_t{5000}}) {
      std::vector<std::uint64_t> slots(detail::table_capacity_for(n, 0.5), kEmptySlot);
      const Ref table{slots.data(), slots.size() - 1};
      std::vector<std::uint64_t> keys(n);
      std::map<std::uint64_t, std::uint32_t> want;
      for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t k;
        do k = rng();
        while (want.count(k));
        keys[i] = k;
        want[k] = static_cast<std::uint32_t>(i);
      }
      // Concurrent claims of distinct keys.
#pragma omp parallel for
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i)
        table.claim(narrowed(keys[static_cast<std::size_t>(i)], mask),
                    static_cast<std::uint32_t>(i));
      for (const auto& [k, id] : want) {
        const std::uint32_t found =
            table.find(narrowed(k, mask), [&](std::uint32_t p) { return keys[p] == k; });
        ASSERT_EQ(found, id) << "mask " << mask;
      }
      for (int probe = 0; probe < 1000; ++probe) {
        const std::uint64_t k = rng();
        if (want.count(k)) continue;
        ASSERT_EQ(table.find(narrowed(k, mask), [&](std::uint32_t p) { return keys[p] == k; }),
                  kNotFound);
      }
    }
  }
}

/// Many threads race to insert rows of few keys: every key ends with exactly one entry, whose
/// payload is one of the rows that carry the key.
TEST(OpenAddressing, FindOrClaimUnderContentionKeepsOneEntryPerKey) {
  SLUICE_SEEDED_RNG(rng);
  for (std::size_t distinct : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
    const std::size_t rows = 200000;
    std::vector<std::uint64_t> row_key(rows);
    for (auto& k : row_key) k = rng() % distinct;
    std::vector<std::uint64_t> slots(detail::table_capacity_for(rows, 0.5), kEmptySlot);
    const Ref table{slots.data(), slots.size() - 1};
    std::vector<std::uint32_t> entry_of(rows);
#pragma omp parallel for num_threads(std::max(2, omp_get_max_threads()))
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(rows); ++i) {
      const std::uint64_t k = row_key[static_cast<std::size_t>(i)];
      const detail::ClaimResult r = table.find_or_claim(
          narrowed(k, 0xf0000000000000ffULL), static_cast<std::uint32_t>(i),
          [&](std::uint32_t owner) { return row_key[owner] == k; }, ~0ULL);
      entry_of[static_cast<std::size_t>(i)] = r.payload;
    }
    std::map<std::uint64_t, std::uint32_t> owner_of_key;
    std::size_t entries = 0;
    for (std::uint64_t s : slots) entries += s != kEmptySlot ? 1 : 0;
    EXPECT_EQ(entries, std::min(distinct, rows));
    for (std::size_t i = 0; i < rows; ++i) {
      ASSERT_EQ(row_key[entry_of[i]], row_key[i]) << "row " << i;
      auto [it, fresh] = owner_of_key.try_emplace(row_key[i], entry_of[i]);
      ASSERT_EQ(it->second, entry_of[i]) << "two entries for key " << row_key[i];
    }
  }
}

/// find_or_publish under contention: each key is filled once, by the one caller told it claimed
/// the slot, and every caller of the key gets that slot with the entry already written.
TEST(OpenAddressing, FindOrPublishFillsEachEntryOnceBeforeOthersSeeIt) {
  SLUICE_SEEDED_RNG(rng);
  for (std::size_t distinct : {std::size_t{1}, std::size_t{13}, std::size_t{5000}}) {
    const std::size_t rows = 100000;
    std::vector<std::uint64_t> row_key(rows);
    for (auto& k : row_key) k = rng() % distinct;
    std::vector<std::uint64_t> slots(detail::table_capacity_for(distinct, 0.5), kEmptySlot);
    std::vector<std::uint64_t> stored(slots.size(), ~0ULL);  // the entry beside its slot
    std::vector<int> fills(slots.size(), 0);
    const Ref table{slots.data(), slots.size() - 1};
    std::vector<std::uint64_t> slot_of(rows);
    std::vector<char> claimed(rows, 0);
#pragma omp parallel for num_threads(std::max(2, omp_get_max_threads()))
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(rows); ++i) {
      const std::uint64_t k = row_key[static_cast<std::size_t>(i)];
      bool fresh = false;
      const std::uint64_t p = table.find_or_publish(
          narrowed(k, 0xf00000000000000fULL), [&](std::uint64_t q) { return stored[q] == k; },
          [&](std::uint64_t q) {
            stored[q] = k;
#pragma omp atomic
            ++fills[q];
          },
          slots.size(), &fresh);
      slot_of[static_cast<std::size_t>(i)] = p;
      claimed[static_cast<std::size_t>(i)] = fresh ? 1 : 0;
    }
    std::map<std::uint64_t, std::uint64_t> slot_of_key;
    std::size_t claims = 0;
    for (std::size_t i = 0; i < rows; ++i) {
      ASSERT_NE(slot_of[i], detail::kNoSlot);
      ASSERT_EQ(stored[slot_of[i]], row_key[i]) << "row " << i;
      auto [it, fresh] = slot_of_key.try_emplace(row_key[i], slot_of[i]);
      ASSERT_EQ(it->second, slot_of[i]) << "two slots for key " << row_key[i];
      claims += static_cast<std::size_t>(claimed[i]);
    }
    EXPECT_EQ(claims, slot_of_key.size());
    for (const auto& [k, p] : slot_of_key) EXPECT_EQ(fills[p], 1) << "key " << k;
  }
  // A full probe path gives up.
  std::vector<std::uint64_t> slots(16, kEmptySlot);
  const Ref table{slots.data(), 15};
  for (std::uint32_t i = 0; i < 4; ++i) table.claim(0, i);
  EXPECT_EQ(table.find_or_publish(
                0, [](std::uint64_t) { return false; }, [](std::uint64_t) {}, 4),
            detail::kNoSlot);
}

TEST(OpenAddressing, ProbeLimitGivesUp) {
  std::vector<std::uint64_t> slots(16, kEmptySlot);
  const Ref table{slots.data(), 15};
  // Fill the probe path of hash 0 with other keys.
  for (std::uint32_t i = 0; i < 4; ++i) table.claim(0, i);
  const detail::ClaimResult r = table.find_or_claim(
      0, 99, [](std::uint32_t) { return false; }, 4);
  EXPECT_EQ(r.payload, kNotFound);
  EXPECT_FALSE(r.claimed);
  const detail::ClaimResult s = table.find_or_claim(
      0, 99, [](std::uint32_t) { return false; }, 5);
  EXPECT_EQ(s.payload, 99u);
  EXPECT_TRUE(s.claimed);
}

TEST(OpenAddressing, LocalInsertsAgreeWithAMap) {
  SLUICE_SEEDED_RNG(rng);
  std::vector<std::uint64_t> slots(detail::table_capacity_for(3000, 0.5), kEmptySlot);
  const Ref table{slots.data(), slots.size() - 1};
  std::vector<std::uint64_t> payload_key;
  std::map<std::uint64_t, std::uint32_t> want;
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t k = rng() % 3000;
    const detail::ClaimResult r = table.find_or_insert_local(
        narrowed(k, 0xffff), static_cast<std::uint32_t>(payload_key.size()),
        [&](std::uint32_t p) { return payload_key[p] == k; });
    if (r.claimed) payload_key.push_back(k);
    auto [it, fresh] = want.try_emplace(k, r.payload);
    ASSERT_EQ(fresh, r.claimed);
    ASSERT_EQ(it->second, r.payload);
  }
}

}  // namespace
}  // namespace sluice::test
