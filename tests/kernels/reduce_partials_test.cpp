// Tests of reduce_partials on HostExec against a stable-sort-and-fold reference.
#include "kernels/reduce_partials.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "kernel_test_util.hpp"
#include "partials_reference.hpp"

namespace sluice::test {
namespace {

using detail::reduce_partials;
using detail::ReduceScratch;

/// Runs reduce_partials and compares with the reference, including the documented output order.
void check_reduce(const HostRows& rows, Partials<HostExec>& in, Partials<HostExec>& out,
                  ReduceScratch<HostExec>& scratch, HostExec& exec) {
  const detail::StateSpec spec = make_states(kAllOps);
  to_partials(rows, in);
  reduce_partials(exec, in.view(), spec, out, scratch);
  const HostRows got = from_view(out.view());
  const std::vector<Group> want = reference(rows);
  ASSERT_EQ(got.size(), want.size());

  // Order: (hash, key words, pane, cut) strictly increasing.
  for (std::size_t i = 1; i < got.size(); ++i) {
    const Key a = got.key(i - 1), b = got.key(i);
    ASSERT_TRUE(std::tie(got.hash[i - 1], a, got.pane[i - 1], got.cut[i - 1]) <
                std::tie(got.hash[i], b, got.pane[i], got.cut[i]))
        << "output rows " << i - 1 << " and " << i << " out of order or not merged";
  }
  std::vector<Group> groups;
  groups.reserve(got.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    Group g{got.key(i), got.pane[i], got.cut[i], got.hash[i], {}};
    for (int s = 0; s < got.state_words; ++s) g.states.push_back(got.state(i, s));
    groups.push_back(std::move(g));
  }
  std::sort(groups.begin(), groups.end(), group_less);
  for (std::size_t g = 0; g < want.size(); ++g) {
    ASSERT_EQ(groups[g].key, want[g].key) << "group " << g;
    ASSERT_EQ(groups[g].pane, want[g].pane) << "group " << g;
    ASSERT_EQ(groups[g].cut, want[g].cut) << "group " << g;
    ASSERT_EQ(groups[g].hash, want[g].hash) << "group " << g;
    for (std::size_t s = 0; s < kAllOps.size(); ++s)
      ASSERT_TRUE(state_matches(kAllOps[s], groups[g].states[s], want[g].states[s]))
          << "group " << g << " state " << s;
  }
}

class ReducePartials : public ::testing::TestWithParam<RowsParams> {};

TEST_P(ReducePartials, MatchesSortAndFold) {
  const RowsParams p = GetParam();
  SLUICE_SEEDED_RNG(rng);
  const HostRows rows = random_rows(p, rng);
  HostExec exec;
  Partials<HostExec> in(exec, p.key_words, static_cast<int>(kAllOps.size()));
  Partials<HostExec> out(exec, p.key_words, static_cast<int>(kAllOps.size()));
  ReduceScratch<HostExec> scratch(exec);
  check_reduce(rows, in, out, scratch, exec);
}

INSTANTIATE_TEST_SUITE_P(
    SizesKeysSkew, ReducePartials,
    ::testing::Values(
        RowsParams{0, 1, KeyDist::uniform, 1}, RowsParams{1, 1, KeyDist::uniform, 1},
        RowsParams{1, 1, KeyDist::uniform, 2}, RowsParams{31, 1, KeyDist::uniform, 1},
        RowsParams{31, 100, KeyDist::uniform, 2}, RowsParams{1000, 1, KeyDist::uniform, 1},
        RowsParams{1000, 100, KeyDist::uniform, 1}, RowsParams{1000, 100, KeyDist::hot90, 2},
        RowsParams{1000, 100, KeyDist::zipf, 1}, RowsParams{1000, 100000, KeyDist::uniform, 2},
        RowsParams{100000, 100, KeyDist::zipf, 2}, RowsParams{100000, 100000, KeyDist::hot90, 1},
        RowsParams{kLarge, 100, KeyDist::hot90, 1}, RowsParams{kLarge, 100000, KeyDist::zipf, 2},
        RowsParams{kLarge, 1000000, KeyDist::uniform, 1},
        // Forced hash collisions: equal hashes must never merge distinct keys.
        RowsParams{1000, 100, KeyDist::uniform, 2, 0x7},
        RowsParams{20000, 5000, KeyDist::zipf, 1, 0x7},
        RowsParams{20000, 1000, KeyDist::uniform, 2, 0x0},
        RowsParams{31, 31, KeyDist::uniform, 1, 0x0}));

TEST(ReducePartials, AllLateGivesNothing) {
  SLUICE_SEEDED_RNG(rng);
  HostRows rows = random_rows(RowsParams{1000, 10, KeyDist::uniform, 1}, rng);
  std::fill(rows.cut.begin(), rows.cut.end(), kLateCut);
  HostExec exec;
  Partials<HostExec> in(exec, 1, 6), out(exec, 1, 6);
  ReduceScratch<HostExec> scratch(exec);
  check_reduce(rows, in, out, scratch, exec);
  EXPECT_EQ(out.size(), 0u);
}

TEST(ReducePartials, ReusesScratchAndOutputAcrossCalls) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  Partials<HostExec> in(exec, 2, 6), out(exec, 2, 6);
  ReduceScratch<HostExec> scratch(exec);
  for (std::size_t n : {100000u, 31u, 0u, 1000u, 1u, 20000u}) {
    SCOPED_TRACE(::testing::Message() << n << " rows");
    check_reduce(random_rows(RowsParams{n, 1 + n / 10, KeyDist::zipf, 2}, rng), in, out, scratch,
                 exec);
  }
}

TEST(ReducePartials, DistinctKeysSharingAHashStaySeparate) {
  // Two keys with equal hashes and equal first words: only the second word differs.
  HostExec exec;
  HostRows rows;
  rows.key_words = 2;
  rows.state_words = 6;
  for (int i = 0; i < 10; ++i) {
    const Key k{7, static_cast<std::uint64_t>(i % 2)};
    rows.push(k, 0, 0,
              {1, dbits(1.0), static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(i),
               dbits(i), dbits(i)},
              0x0);
  }
  Partials<HostExec> in(exec, 2, 6), out(exec, 2, 6);
  ReduceScratch<HostExec> scratch(exec);
  check_reduce(rows, in, out, scratch, exec);
  ASSERT_EQ(out.size(), 2u);
  const HostRows got = from_view(out.view());
  EXPECT_EQ(got.state(0, 0), 5u);
  EXPECT_EQ(got.state(1, 0), 5u);
}

TEST(ReducePartials, FloatKeyWordsGroupSignedZerosAndNaNs) {
  SLUICE_SEEDED_RNG(rng);
  const double values[] = {0.0,
                           -0.0,
                           1.5,
                           -2.25,
                           std::numeric_limits<double>::quiet_NaN(),
                           -std::numeric_limits<double>::quiet_NaN()};
  HostRows rows;
  rows.key_words = 1;
  rows.state_words = 6;
  std::map<int, std::uint64_t> want_count;  // by value class: 0 zero, 1 1.5, 2 -2.25, 3 NaN
  const int value_class[] = {0, 0, 1, 2, 3, 3};
  for (int i = 0; i < 1000; ++i) {
    const int v = static_cast<int>(rng() % 6);
    rows.push(Key{detail::float_key_word(values[v]), 0}, 1, 0,
              {1, dbits(1.0), 0, 0, dbits(0.0), dbits(0.0)});
    ++want_count[value_class[v]];
  }
  HostExec exec;
  Partials<HostExec> in(exec, 1, 6), out(exec, 1, 6);
  ReduceScratch<HostExec> scratch(exec);
  check_reduce(rows, in, out, scratch, exec);
  const HostRows got = from_view(out.view());
  ASSERT_EQ(got.size(), want_count.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double v = bitsd(got.key(i)[0]);
    const int cls = v == 0.0 ? 0 : v == 1.5 ? 1 : v == -2.25 ? 2 : 3;
    EXPECT_EQ(got.state(i, 0), want_count[cls]) << "key " << v;
  }
}

}  // namespace
}  // namespace sluice::test
