// Tests of partition_partials and unpack_partials on HostExec: destinations, stability, round trip.
#include "kernels/partition.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernel_test_util.hpp"
#include "partition_reference.hpp"

namespace sluice::test {
namespace {

using detail::packed_row_words;
using detail::partition_partials;
using detail::Partitioner;
using detail::PartitionScratch;
using detail::unpack_partials;

/// Random rows whose first key word suits the partitioner: i64 around the integer boundaries,
/// doubles (some exactly on a boundary, some -0.0) for the double ranges, anything for hashes.
HostRows random_rows(std::size_t n, int key_words, PartKind kind, std::mt19937_64& rng,
                     bool skewed = false) {
  HostRows rows;
  rows.key_words = key_words;
  rows.state_words = 3;
  rows.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Key k = key_words_of(skewed && rng() % 10 != 0 ? 0 : rng() % 100000, key_words, 99);
    if (kind == PartKind::range_i64) {
      const std::int64_t edge[] = {-501, -500, -1, 0, 1, 2, 699, 700, 701};
      k[0] = static_cast<std::uint64_t>(skewed ? 5
                                        : rng() % 4 == 0
                                            ? edge[rng() % 9]
                                            : static_cast<std::int64_t>(rng() % 3001) - 1500);
    } else if (kind == PartKind::range_f64) {
      const double edge[] = {-2.5, 0.0, -0.0, 3.0, 7.75, -1e300, 1e300};
      const double v = skewed           ? 1.0
                       : rng() % 4 == 0 ? edge[rng() % 7]
                                        : std::uniform_real_distribution<double>(-10.0, 10.0)(rng);
      k[0] = rng() % 2 ? detail::float_key_word(v) : dbits(v);
    }
    const auto pane = static_cast<std::int64_t>(rng() % 2001) - 1000;
    const std::uint32_t cut = rng() % 10 == 0 ? kLateCut : static_cast<std::uint32_t>(rng() % 4);
    rows.push(k, pane, cut, {rng(), rng(), rng()});
  }
  return rows;
}

void expect_same_row(const HostRows& got, std::size_t gi, const HostRows& want, std::size_t wi) {
  bool same =
      got.hash[gi] == want.hash[wi] && got.pane[gi] == want.pane[wi] && got.cut[gi] == want.cut[wi];
  for (int j = 0; j < want.key_words; ++j)
    same = same && got.keys[gi * got.key_words + j] == want.keys[wi * want.key_words + j];
  for (int s = 0; s < want.state_words; ++s) same = same && got.state(gi, s) == want.state(wi, s);
  ASSERT_TRUE(same) << "unpacked row " << gi << " differs from input row " << wi;
}

void check_partition(const HostRows& rows, PartKind kind, PartitionScratch<HostExec>& scratch,
                     HostExec& exec) {
  SCOPED_TRACE(to_string(kind));
  const Partitioner p = make_partitioner(kind);
  Partials<HostExec> in(exec, rows.key_words, rows.state_words);
  to_partials(rows, in);
  const std::size_t width = packed_row_words(rows.key_words, rows.state_words);
  ASSERT_EQ(width, 3u + rows.key_words + rows.state_words);
  constexpr std::uint64_t kSentinel = 0xababababababababULL;
  std::vector<std::uint64_t> packed(rows.size() * width + 1, kSentinel);
  const std::vector<std::size_t> sizes =
      partition_partials(exec, in.view(), nullptr, p, packed.data(), scratch);

  // Reference: input indices per destination, in input order.
  std::vector<std::vector<std::size_t>> dest(p.parts);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int d = ref_destination(kind, p, rows, i);
    ASSERT_GE(d, 0);
    ASSERT_LT(d, p.parts);
    dest[d].push_back(i);
  }
  ASSERT_EQ(sizes.size(), static_cast<std::size_t>(p.parts));
  std::vector<std::uint64_t> want;
  want.reserve(rows.size() * width);
  for (int d = 0; d < p.parts; ++d) {
    EXPECT_EQ(sizes[d], dest[d].size()) << "destination " << d;
    for (std::size_t i : dest[d]) append_packed(rows, i, want);
  }
  want.push_back(kSentinel);  // nothing written past the packed rows
  ASSERT_EQ(packed.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k)
    ASSERT_EQ(packed[k], want[k]) << "packed word " << k << " (row " << k / width << ")";

  // unpack(pack(x)) == x, for the whole buffer and for each destination's slice.
  Partials<HostExec> back(exec, rows.key_words, rows.state_words);
  unpack_partials(exec, packed.data(), rows.size(), back);
  ASSERT_EQ(back.size(), rows.size());
  const HostRows all = from_view(back.view());
  std::size_t at = 0;
  for (int d = 0; d < p.parts; ++d) {
    for (std::size_t i : dest[d]) ASSERT_NO_FATAL_FAILURE(expect_same_row(all, at++, rows, i));
  }
  std::size_t offset = 0;
  for (int d = 0; d < p.parts; ++d) {
    unpack_partials(exec, packed.data() + offset * width, sizes[d], back);
    ASSERT_EQ(back.size(), sizes[d]);
    const HostRows slice = from_view(back.view());
    for (std::size_t k = 0; k < slice.size(); ++k)
      ASSERT_NO_FATAL_FAILURE(expect_same_row(slice, k, rows, dest[d][k]));
    offset += sizes[d];
  }
}

class PartitionSizes : public ::testing::TestWithParam<std::tuple<std::size_t, int>> {};

TEST_P(PartitionSizes, EveryPartitionerMatchesReference) {
  const auto [n, key_words] = GetParam();
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  PartitionScratch<HostExec> scratch(exec);
  for (PartKind kind : {PartKind::hash1, PartKind::hash3, PartKind::hash8, PartKind::hash64,
                        PartKind::range_i64, PartKind::range_f64}) {
    if (n == kLarge && kind != PartKind::hash8 && kind != PartKind::range_f64) continue;
    check_partition(random_rows(n, key_words, kind, rng), kind, scratch, exec);
  }
}

INSTANTIATE_TEST_SUITE_P(SizesAndKeyWords, PartitionSizes,
                         ::testing::Combine(::testing::Values(std::size_t{0}, std::size_t{1},
                                                              std::size_t{31}, std::size_t{511},
                                                              std::size_t{512}, std::size_t{513},
                                                              std::size_t{1000}, kLarge),
                                            ::testing::Values(1, 2)));

TEST(Partition, SkewedKeysCrowdOneDestination) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  PartitionScratch<HostExec> scratch(exec);
  for (PartKind kind :
       {PartKind::hash3, PartKind::hash64, PartKind::range_i64, PartKind::range_f64})
    check_partition(random_rows(5000, 1, kind, rng, /*skewed=*/true), kind, scratch, exec);
}

TEST(Partition, HashDestinationIsHashModParts) {
  // Hand-made hashes: destination = hash % parts exactly (not a mask, not high bits).
  HostExec exec;
  PartitionScratch<HostExec> scratch(exec);
  HostRows rows;
  rows.key_words = 1;
  rows.state_words = 1;
  const std::uint64_t hashes[] = {0, 1, 2, 3, 4, 5, 6, 7, 10, ~0ULL, 0x8000000000000000ULL};
  for (std::uint64_t h : hashes) {
    rows.push(Key{h, 0}, 0, 0, {h});
    rows.hash.back() = h;
  }
  Partials<HostExec> in(exec, 1, 1);
  to_partials(rows, in);
  Partitioner p;
  p.parts = 3;
  std::vector<std::uint64_t> packed(rows.size() * packed_row_words(1, 1));
  const std::vector<std::size_t> sizes =
      partition_partials(exec, in.view(), nullptr, p, packed.data(), scratch);
  std::vector<std::size_t> want(3, 0);
  for (std::uint64_t h : hashes) ++want[h % 3];
  EXPECT_EQ(sizes, want);
  // The first destination holds hashes 0, 3, 6, ~0 (= 2^64 - 1, divisible by 3) in input order.
  EXPECT_EQ(packed[0], 0u);
  EXPECT_EQ(packed[5], 3u);
  EXPECT_EQ(packed[10], 6u);
  EXPECT_EQ(packed[15], ~0ULL);
}

TEST(Partition, ScratchReusedAcrossPartsAndSizes) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  PartitionScratch<HostExec> scratch(exec);
  const std::tuple<std::size_t, PartKind> runs[] = {
      {20000, PartKind::hash64}, {31, PartKind::hash3},       {0, PartKind::range_i64},
      {1000, PartKind::hash1},   {5000, PartKind::range_f64}, {1, PartKind::hash8}};
  for (const auto& [n, kind] : runs)
    check_partition(random_rows(n, 2, kind, rng), kind, scratch, exec);
}

}  // namespace
}  // namespace sluice::test
