// Tests of KeyTable on HostExec: dense ids in first-insertion order, growth, collisions, gather.
#include "kernels/key_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "kernel_test_util.hpp"
#include "key_table_reference.hpp"

namespace sluice::test {
namespace {

using detail::KeyTable;

/// Inserts `rows`, checks every id against the reference, and checks size and gather.
void insert_and_check(KeyTable<HostExec>& table, RefIds& ref, const HostRows& rows,
                      HostExec& exec) {
  Partials<HostExec> in(exec, rows.key_words, 0);
  to_partials(rows, in);
  std::vector<std::uint32_t> ids(rows.size() + 1, 0xdeadbeefu);
  table.find_or_insert(in.view(), ids.data());
  for (std::size_t i = 0; i < rows.size(); ++i)
    ASSERT_EQ(ids[i], ref.id(rows.key(i))) << "row " << i;
  EXPECT_EQ(ids.back(), 0xdeadbeefu);
  ASSERT_EQ(table.size(), ref.keys.size());
  EXPECT_GE(static_cast<double>(table.capacity()), static_cast<double>(table.size()));

  // gather with a stride larger than the count returns each row's key words.
  const std::size_t n = rows.size();
  const std::size_t stride = n + 3;
  std::vector<std::uint64_t> words(stride * rows.key_words, 0);
  table.gather(ids.data(), n, words.data(), stride);
  for (std::size_t i = 0; i < n; ++i)
    for (int j = 0; j < rows.key_words; ++j)
      ASSERT_EQ(words[j * stride + i], rows.keys[i * rows.key_words + j]) << "row " << i;
}

/// gather over every id 0..size-1 returns the keys in first-insertion order.
void check_all_ids(KeyTable<HostExec>& table, const RefIds& ref, int key_words) {
  const std::size_t n = ref.keys.size();
  std::vector<std::uint32_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(i);
  std::vector<std::uint64_t> words(n * key_words);
  table.gather(ids.data(), n, words.data(), n);
  for (std::size_t i = 0; i < n; ++i)
    for (int j = 0; j < key_words; ++j) ASSERT_EQ(words[j * n + i], ref.keys[i][j]) << "id " << i;
}

struct Params {
  std::size_t keys;
  KeyDist dist;
  int key_words;
  std::size_t rows_per_batch;
  int batches;
  std::uint64_t mask = ~0ULL;
};

std::ostream& operator<<(std::ostream& os, const Params& p) {
  return os << p.keys << " keys, " << to_string(p.dist) << ", " << p.key_words << " words, "
            << p.batches << " x " << p.rows_per_batch << " rows, mask " << p.mask;
}

class KeyTableIds : public ::testing::TestWithParam<Params> {};

TEST_P(KeyTableIds, DenseIdsInFirstInsertionOrder) {
  const Params p = GetParam();
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  KeyTable<HostExec> table(exec, p.key_words, KeyHasher{p.mask});
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.key_words(), p.key_words);
  RefIds ref;
  KeyDrawer draw(p.dist, p.keys);
  const std::uint64_t salt = rng();
  for (int b = 0; b < p.batches; ++b) {
    SCOPED_TRACE(::testing::Message() << "batch " << b);
    std::vector<Key> keys(p.rows_per_batch);
    for (Key& k : keys) k = key_words_of(draw(rng), p.key_words, salt);
    insert_and_check(table, ref, key_batch(std::move(keys), p.key_words, p.mask, rng), exec);
  }
  check_all_ids(table, ref, p.key_words);
}

INSTANTIATE_TEST_SUITE_P(
    KeysSkewWords, KeyTableIds,
    ::testing::Values(
        Params{1, KeyDist::uniform, 1, 0, 2}, Params{1, KeyDist::uniform, 1, 1, 3},
        Params{1, KeyDist::uniform, 2, 1000, 3}, Params{100, KeyDist::uniform, 1, 31, 5},
        Params{100, KeyDist::hot90, 2, 1000, 4}, Params{100, KeyDist::zipf, 1, 1000, 4},
        Params{100000, KeyDist::uniform, 1, 100000, 3}, Params{100000, KeyDist::zipf, 2, 100000, 4},
        Params{100000, KeyDist::hot90, 1, 100000, 2},
        Params{1000000, KeyDist::uniform, 2, kLarge, 2},
        // Forced collisions (tags equal for distinct keys).
        Params{3000, KeyDist::uniform, 2, 2000, 4, 0x7},
        Params{2000, KeyDist::zipf, 1, 3000, 3, 0x0},
        Params{100, KeyDist::uniform, 2, 1000, 3, 0x0},
        // Collisions on batches large enough for the parallel paths (HostExec runs
        // loops of up to 8192 indices serially): 16384 hash values spread over the
        // slot range, several distinct keys per value.
        Params{100000, KeyDist::uniform, 2, 100000, 2, 0x3fff0},
        Params{20000, KeyDist::zipf, 1, 30000, 3, 0x3fff0}));

TEST(KeyTable, GrowsFromDefaultCapacityToAMillionKeys) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  KeyTable<HostExec> table(exec, 1, KeyHasher{});
  const std::size_t initial = table.capacity();
  EXPECT_LE(initial, 4096u);  // starts small
  RefIds ref;
  const std::uint64_t salt = rng();
  // Distinct keys in batches of growing size: 1, 31, 1000, then the rest of a million.
  std::size_t next = 0;
  for (std::size_t batch : {std::size_t{1}, std::size_t{31}, std::size_t{1000}, std::size_t{400000},
                            std::size_t{598969}}) {
    std::vector<Key> keys;
    for (std::size_t i = 0; i < batch; ++i) keys.push_back(key_words_of(next++, 1, salt));
    insert_and_check(table, ref, key_batch(std::move(keys), 1, ~0ULL, rng), exec);
  }
  ASSERT_EQ(table.size(), 1000001u);
  EXPECT_GT(table.capacity(), initial);
  EXPECT_GE(static_cast<double>(table.capacity()) * 0.5, static_cast<double>(table.size()));
  // After growth every old key still finds its id and nothing is inserted twice.
  std::vector<Key> again;
  for (std::size_t i = 0; i < next; i += 3) again.push_back(key_words_of(i, 1, salt));
  insert_and_check(table, ref, key_batch(std::move(again), 1, ~0ULL, rng), exec);
  EXPECT_EQ(table.size(), 1000001u);
  check_all_ids(table, ref, 1);
}

TEST(KeyTable, GrowthUnderFullCollisions) {
  // Every hash 0: one probe chain; growth must keep all keys distinct and findable.
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  KeyTable<HostExec> table(exec, 2, KeyHasher{0});
  RefIds ref;
  const std::uint64_t salt = rng();
  std::size_t next = 0;
  for (int b = 0; b < 5; ++b) {
    std::vector<Key> keys;
    for (int i = 0; i < 700; ++i) keys.push_back(key_words_of(next++, 2, salt));
    for (int i = 0; i < 300; ++i) keys.push_back(key_words_of(rng() % next, 2, salt));
    insert_and_check(table, ref, key_batch(std::move(keys), 2, 0, rng), exec);
  }
  EXPECT_EQ(table.size(), 3500u);
  check_all_ids(table, ref, 2);
}

TEST(KeyTable, HigherMaxLoadStillExact) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  KeyTable<HostExec> table(exec, 1, KeyHasher{0xff}, 0.9);
  RefIds ref;
  const std::uint64_t salt = rng();
  for (int b = 0; b < 6; ++b) {
    std::vector<Key> keys(5000);
    for (Key& k : keys) k = key_words_of(rng() % 20000, 1, salt);
    insert_and_check(table, ref, key_batch(std::move(keys), 1, 0xff, rng), exec);
  }
  EXPECT_LE(static_cast<double>(table.size()), 0.9 * static_cast<double>(table.capacity()));
  check_all_ids(table, ref, 1);
}

TEST(KeyTable, KeysDifferingOnlyInTheSecondWord) {
  HostExec exec;
  KeyTable<HostExec> table(exec, 2, KeyHasher{});
  RefIds ref;
  SLUICE_SEEDED_RNG(rng);
  std::vector<Key> keys;
  for (std::uint64_t i = 0; i < 50; ++i) keys.push_back(Key{42, i});
  for (std::uint64_t i = 0; i < 50; ++i) keys.push_back(Key{i, 42});
  insert_and_check(table, ref, key_batch(keys, 2, ~0ULL, rng), exec);
  EXPECT_EQ(table.size(), 99u);  // (42, 42) appears twice
}

}  // namespace
}  // namespace sluice::test
