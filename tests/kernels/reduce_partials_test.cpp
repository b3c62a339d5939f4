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

namespace sluice::test {
namespace {

using detail::reduce_partials;
using detail::ReduceScratch;

struct Params {
  std::size_t rows;
  std::size_t keys;
  KeyDist dist;
  int key_words;
  std::uint64_t mask = ~0ULL;
};

std::ostream& operator<<(std::ostream& os, const Params& p) {
  return os << p.rows << " rows, " << p.keys << " keys, " << to_string(p.dist) << ", "
            << p.key_words << " key words, mask " << p.mask;
}

/// Random partial rows: keys drawn from `dist`, panes in [-4, 4], cuts 0..2, ~5% late rows,
/// one state per accumulator kind.
HostRows random_rows(const Params& p, std::mt19937_64& rng) {
  HostRows rows;
  rows.key_words = p.key_words;
  rows.state_words = static_cast<int>(kAllOps.size());
  rows.reserve(p.rows);
  KeyDrawer draw(p.dist, p.keys);
  const std::uint64_t salt = rng();
  std::vector<std::uint64_t> st(kAllOps.size());
  for (std::size_t i = 0; i < p.rows; ++i) {
    const Key k = key_words_of(draw(rng), p.key_words, salt);
    const auto pane = static_cast<std::int64_t>(rng() % 9) - 4;
    const std::uint32_t cut = rng() % 20 == 0 ? kLateCut : static_cast<std::uint32_t>(rng() % 3);
    for (std::size_t s = 0; s < kAllOps.size(); ++s) st[s] = random_state_value(kAllOps[s], rng);
    rows.push(k, pane, cut, st, p.mask);
  }
  return rows;
}

struct Group {
  Key key;
  std::int64_t pane;
  std::uint32_t cut;
  std::uint64_t hash;
  std::vector<std::uint64_t> states;
};

bool group_less(const Group& a, const Group& b) {
  return std::tie(a.key, a.pane, a.cut) < std::tie(b.key, b.pane, b.cut);
}

/// Reference: stable sort of the non-late rows by (key words, pane, cut), then a left fold of
/// each run in input order.
std::vector<Group> reference(const HostRows& rows) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows.cut[i] != kLateCut) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    const Key ka = rows.key(a), kb = rows.key(b);
    return std::tie(ka, rows.pane[a], rows.cut[a]) < std::tie(kb, rows.pane[b], rows.cut[b]);
  });
  std::vector<Group> out;
  for (std::size_t i : idx) {
    const Key k = rows.key(i);
    if (out.empty() || out.back().key != k || out.back().pane != rows.pane[i] ||
        out.back().cut != rows.cut[i]) {
      Group g{k, rows.pane[i], rows.cut[i], rows.hash[i], {}};
      for (int s = 0; s < rows.state_words; ++s) g.states.push_back(ref_init(kAllOps[s]));
      out.push_back(g);
    }
    for (int s = 0; s < rows.state_words; ++s)
      out.back().states[s] = ref_merge(kAllOps[s], out.back().states[s], rows.state(i, s));
  }
  return out;
}

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

class ReducePartials : public ::testing::TestWithParam<Params> {};

TEST_P(ReducePartials, MatchesSortAndFold) {
  const Params p = GetParam();
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
        Params{0, 1, KeyDist::uniform, 1}, Params{1, 1, KeyDist::uniform, 1},
        Params{1, 1, KeyDist::uniform, 2}, Params{31, 1, KeyDist::uniform, 1},
        Params{31, 100, KeyDist::uniform, 2}, Params{1000, 1, KeyDist::uniform, 1},
        Params{1000, 100, KeyDist::uniform, 1}, Params{1000, 100, KeyDist::hot90, 2},
        Params{1000, 100, KeyDist::zipf, 1}, Params{1000, 100000, KeyDist::uniform, 2},
        Params{100000, 100, KeyDist::zipf, 2}, Params{100000, 100000, KeyDist::hot90, 1},
        Params{kLarge, 100, KeyDist::hot90, 1}, Params{kLarge, 100000, KeyDist::zipf, 2},
        Params{kLarge, 1000000, KeyDist::uniform, 1},
        // Forced hash collisions: equal hashes must never merge distinct keys.
        Params{1000, 100, KeyDist::uniform, 2, 0x7}, Params{20000, 5000, KeyDist::zipf, 1, 0x7},
        Params{20000, 1000, KeyDist::uniform, 2, 0x0}, Params{31, 31, KeyDist::uniform, 1, 0x0}));

TEST(ReducePartials, AllLateGivesNothing) {
  SLUICE_SEEDED_RNG(rng);
  HostRows rows = random_rows(Params{1000, 10, KeyDist::uniform, 1}, rng);
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
    check_reduce(random_rows(Params{n, 1 + n / 10, KeyDist::zipf, 2}, rng), in, out, scratch, exec);
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
